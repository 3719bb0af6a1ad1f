// SampleTransform: the fused per-sample pass (crop window, horizontal mirror, scale/normalize,
// layout change and dtype conversion) from a source image into a batch buffer slot, and the
// checks of what it is asked to produce.
//
// out[c] = (x * scale - mean[c]) / std[c] is computed as x * multiplier[c] + offset[c] in float32
// with multiplier[c] = scale / std[c] and offset[c] = -mean[c] / std[c] (both rounded once from
// double), so a NumPy reference using the same two arrays reproduces the bytes exactly. uint8
// output copies the source bytes unchanged (crop, mirror and layout only): it needs a uint8
// source, scale 1 and no mean/std. The kernels themselves live in
// cpp/src/pipeline/kernels/sample_kernels.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "nocopy/core/dtype.hpp"
#include "nocopy/core/view.hpp"

namespace nocopy {

/// Axis order of one output sample.
enum class Layout : uint8_t {
  CHW,  ///< channels first (PyTorch)
  HWC,  ///< channels last (TensorFlow, JAX)
};

/// The layout called `name` ("CHW", "HWC"); std::invalid_argument listing the names.
Layout layout_from_name(std::string_view name);
/// The name of a layout, as layout_from_name accepts it.
std::string_view layout_name(Layout layout);

/// What the transform produces; validated by SampleTransform's constructor.
struct TransformSpec {
  /// Output window size (rows, columns); the caller keeps every window inside the image.
  int64_t crop_h = 1, crop_w = 1;
  /// Axis order of each output sample.
  Layout layout = Layout::CHW;
  /// float32, float16, bfloat16 or uint8.
  DType dtype = DType::Float32;
  /// Multiplies the source value before normalization (1/255 maps bytes to [0, 1]).
  double scale = 1.0;
  /// Per-channel mean and std in scaled units; empty (no normalization), one value (all
  /// channels) or one per channel.
  std::vector<double> mean, std;
};

/// The source dtypes a transform reads.
bool is_supported_source(DType t);

/// Checks that `source` can be read by a transform: on the CPU, shape (N, H, W, C) with C >= 1,
/// a supported dtype (std::invalid_argument / BufferError naming the value).
void check_sample_source(const View& source);

/// One fused pass from a (N, H, W, C) source view (any strides) into dense output samples.
class SampleTransform {
 public:
  /// Checks the source (check_sample_source) and the spec against it: output dtype, the uint8
  /// rule, mean/std per channel, and that the coefficients and outputs stay finite in the
  /// output dtype; throws std::invalid_argument naming the argument, the value and the limit.
  SampleTransform(View source, const TransformSpec& spec);

  /// Bytes one output sample takes (crop_h * crop_w * C * itemsize).
  size_t sample_bytes() const { return sample_bytes_; }
  /// Channels C of the source and the output.
  int64_t channels() const { return channels_; }
  /// The validated spec.
  const TransformSpec& spec() const { return spec_; }
  /// The float32 multipliers scale / std[c], one per channel.
  const std::vector<float>& multipliers() const { return multiplier_; }
  /// The float32 offsets -mean[c] / std[c], one per channel.
  const std::vector<float>& offsets() const { return offset_; }

  /// Writes sample `n` cropped at (top, left), mirrored when asked, to `out` (sample_bytes()
  /// bytes, dense). The caller guarantees that n is a sample and that the window lies inside
  /// the image (the Sampler's plans do).
  void apply(int64_t n, int64_t top, int64_t left, bool mirror, void* out) const;

 private:
  View source_;
  TransformSpec spec_;
  int64_t channels_ = 0;
  size_t sample_bytes_ = 0;
  std::vector<float> multiplier_, offset_;
  /// multiplier_ and offset_ tiled over one output row of HWC pixels (contiguous fast path).
  std::vector<float> multiplier_row_, offset_row_;
};

}  // namespace nocopy
