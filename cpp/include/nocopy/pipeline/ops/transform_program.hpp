// A nocopy.transforms pipeline compiled for the image producer: torchvision v2's transforms as
// steps, checked once, with their geometric part fused into ONE resample per sample.
//
// The steps arrive in the user's order. The compiler splits them into three stages:
//   1. geometry: at most one resampling step (RandomResizedCrop or Resize) and any number of
//      index steps (CenterCrop, RandomCrop with its padding, Pad, the flips). Index steps after
//      the resample are composed into one row table and one column table per sample (each
//      output row / column names its row / column of the resampled image, or a fill), so the
//      resample produces only the rows and columns the tables name, once;
//   2. pixel steps on the sample's uint8 image, in order (the colour transforms);
//   3. the output: ToDtype and Normalize fused into the write of the batch slot, then
//      RandomErasing on the written sample.
// Every random parameter is a pure function of (seed, epoch, position, step, draw) on the
// registered transform streams, so plan(i) can report it and any batch can be rebuilt.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "nocopy/core/dtype.hpp"
#include "nocopy/pipeline/kernels/resize.hpp"
#include "nocopy/pipeline/ops/resized_crop_window.hpp"

namespace nocopy {

/// The transforms a program runs (torchvision v2's classes of the same names).
enum class StepKind : uint8_t {
  RandomResizedCrop,
  Resize,
  CenterCrop,
  RandomCrop,
  Pad,
  RandomHorizontalFlip,
  RandomVerticalFlip,
  ColorJitter,
  Grayscale,
  RandomGrayscale,
  GaussianBlur,
  RandomInvert,
  RandomPosterize,
  RandomSolarize,
  RandomAdjustSharpness,
  RandomAutocontrast,
  RandomEqualize,
  RandomRotation,
  RandomAffine,
  AutoAugment,
  RandAugment,
  TrivialAugmentWide,
  AugMix,
  RandomApply,
  RandomChoice,
  RandomOrder,
  Compose,
  ToDtype,
  Normalize,
  RandomErasing,
  /// A per-sample function of the caller's (nocopy.transforms.Lambda), a pixel step.
  Lambda,
};

/// A per-sample function: rewrites a dense HWC uint8 image of (height, width, channels) in
/// place; throws to fail the sample.
using SampleFunction =
    std::function<void(uint8_t* data, int64_t height, int64_t width, int64_t channels)>;

/// The kind called `name` (torchvision's class name); std::invalid_argument listing the names.
StepKind step_kind_from_name(std::string_view name);
/// The class name of a kind.
std::string_view step_kind_name(StepKind kind);

/// How pixels outside an image are made when a step pads it (torchvision's padding_mode).
enum class PadMode : uint8_t { Constant, Edge, Reflect, Symmetric };

/// One transform as the user gave it, its arguments normalised (sizes as (h, w), ranges as
/// (min, max)). Which fields a kind reads is listed in transform_program.cpp's table.
struct TransformStep {
  StepKind kind = StepKind::ToDtype;
  /// Output size (h, w); Resize with one int: size[0] = the shorter side, size[1] = -1.
  std::array<int64_t, 2> size{-1, -1};
  /// Resize: the longest side allowed (0: none).
  int64_t max_size = 0;
  /// RandomResizedCrop's and RandomErasing's area fraction and aspect ratio ranges.
  std::array<double, 2> scale{0.08, 1.0}, ratio{3.0 / 4.0, 4.0 / 3.0};
  /// Padding (left, top, right, bottom) of Pad and RandomCrop.
  std::array<int64_t, 4> padding{0, 0, 0, 0};
  /// RandomCrop: pad when the image is smaller than the crop.
  bool pad_if_needed = false;
  /// Pad / crop fill (per channel; one value for all) and RandomErasing's value.
  std::vector<double> fill{0.0};
  PadMode padding_mode = PadMode::Constant;
  Interpolation interpolation = Interpolation::Bilinear;
  /// Probability that the step applies (the Random* transforms' `p`).
  double p = 1.0;
  /// ColorJitter's factor ranges (min, max) in the order brightness, contrast, saturation,
  /// hue; a NaN min means the factor is not jittered.
  std::array<std::array<double, 2>, 4> jitter{};
  /// Grayscale: output channels (1 or 3).
  int64_t num_output_channels = 1;
  /// GaussianBlur's kernel size (kx, ky) and sigma range.
  std::array<int64_t, 2> kernel{3, 3};
  std::array<double, 2> sigma{0.1, 2.0};
  /// RandomPosterize's bits, RandomSolarize's threshold, RandomAdjustSharpness's factor.
  double value = 0.0;
  /// ToDtype: the output dtype and whether values are rescaled (uint8 -> [0, 1]).
  DType dtype = DType::Float32;
  bool scale_values = false;
  /// Normalize's per-channel mean and std.
  std::vector<double> mean, std;
  /// RandomErasing(value="random"): the box takes standard normal noise (per element, from
  /// the sample's drawn noise_seed: erasing_noise) instead of `fill`.
  bool random_value = false;
  /// Lambda's function.
  std::shared_ptr<const SampleFunction> function;
  /// RandomRotation's and RandomAffine's angle range (degrees), RandomAffine's largest
  /// translations as fractions of the width and height, and its shear ranges (x min, x max,
  /// y min, y max; degrees). RandomAffine's scale range is `scale`.
  std::array<double, 2> degrees{0.0, 0.0}, translate{0.0, 0.0};
  std::array<double, 4> shear{0.0, 0.0, 0.0, 0.0};
  /// The warps' pivot (x, y) in pixel coordinates, when has_center (else the image center).
  std::array<double, 2> center{0.0, 0.0};
  bool has_center = false;
  /// The policies' settings, as torchvision names them (RandAugment: num_ops, magnitude,
  /// num_magnitude_bins; AugMix: severity, mixture_width, chain_depth, alpha, all_ops). The
  /// warps' and policies' fill is `fill`, empty for torchvision's fill=None.
  int64_t num_ops = 2, magnitude = 9, num_magnitude_bins = 31;
  int64_t severity = 3, mixture_width = 3, chain_depth = -1;
  double alpha = 1.0;
  bool all_ops = true;
  /// RandomApply, RandomChoice, RandomOrder and Compose (a group inside them): the `span`
  /// steps after this one are its contents, `children` of them its direct children (each with
  /// its own contents); RandomChoice's `weights` (empty: uniform).
  int64_t span = 0, children = 0;
  std::vector<double> weights;
};

/// The names of the parameters a step draws per sample (what plan(i) reports for it).
std::vector<std::string> step_parameter_names(const TransformStep& step);

/// Checks one step's arguments alone (ranges as torchvision checks them); std::invalid_argument
/// naming the transform, the argument and the value.
void validate_step(const TransformStep& step);

/// The parameters drawn for one sample: every step's values (step_parameter_names order),
/// concatenated in step order.
using SampleParameters = std::vector<double>;

/// A program compiled against the images it reads.
class TransformProgram {
 public:
  /// Compiles `steps` for images of `channels` channels and dtype `source_dtype`: validates
  /// every step, checks the order can be fused (one resample; pixel steps on uint8 images;
  /// ToDtype / Normalize / RandomErasing after the pixel steps), std::invalid_argument naming
  /// the step otherwise.
  TransformProgram(std::vector<TransformStep> steps, int64_t channels, DType source_dtype);

  /// The steps, in order.
  const std::vector<TransformStep>& steps() const { return steps_; }
  /// Channels of the images it reads.
  int64_t input_channels() const { return channels_; }
  /// Channels of the output (Grayscale(1) makes 1).
  int64_t output_channels() const { return output_channels_; }
  /// The output dtype (ToDtype's, else the source's).
  DType output_dtype() const { return output_dtype_; }
  /// Output (h, w) of an image of (height, width), or {-1, -1} if the program is not valid on
  /// it (the message in `why`).
  std::array<int64_t, 2> output_size(int64_t height, int64_t width, std::string* why) const;
  /// Values each sample's parameters take (the sum of step_parameter_names' sizes).
  int64_t parameter_count() const { return parameter_count_; }
  /// Where step k's parameters start in SampleParameters.
  int64_t parameter_offset(size_t k) const { return offsets_[k]; }
  /// The per-channel multiplier and offset of the output write (ToDtype's scale, Normalize).
  const std::vector<float>& multipliers() const { return multiplier_; }
  const std::vector<float>& offsets() const { return offset_; }
  /// True when there are pixel steps (the sample goes through a uint8 scratch image).
  bool has_pixel_steps() const { return has_pixel_steps_; }

  /// Draws the parameters of the sample at `position` of `epoch`, an image of (height, width).
  SampleParameters draw(uint64_t seed, uint64_t epoch, uint64_t position, int64_t height,
                        int64_t width) const;

 private:
  std::vector<TransformStep> steps_;
  std::vector<int64_t> offsets_;
  int64_t parameter_count_ = 0;
  int64_t channels_ = 0, output_channels_ = 0;
  DType source_dtype_ = DType::UInt8, output_dtype_ = DType::UInt8;
  bool has_pixel_steps_ = false;
  std::vector<float> multiplier_, offset_;
};

/// RandomErasing's noise: `count` standard normal values, a pure function of the sample's
/// drawn noise_seed (value k from counter_hash(noise_seed, 0, k, 0) and (..., 1)).
void erasing_noise(uint64_t noise_seed, std::span<float> out);

/// The geometry of one sample: the source window resampled to (resized_h, resized_w), then
/// the row and column tables that make the output image: each entry a row / column of the
/// resampled image, or -1 - k where index step k padded it (its fill shows there).
struct SampleGeometry {
  /// Source window (rows, columns) and the size it is resampled to.
  int64_t top = 0, left = 0, height = 1, width = 1;
  int64_t resized_h = 1, resized_w = 1;
  Interpolation interpolation = Interpolation::Bilinear;
  /// One entry per output row / column.
  std::vector<int64_t> rows, cols;
  /// Fill value of index step k for channel c at fill[k * channels + c].
  std::vector<double> fill;
};

/// The geometry of a sample with parameters `params` of an image of (height, width).
void sample_geometry(const TransformProgram& program, std::span<const double> params,
                     int64_t height, int64_t width, SampleGeometry& out);

}  // namespace nocopy
