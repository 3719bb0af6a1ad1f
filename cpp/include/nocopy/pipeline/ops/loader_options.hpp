// LoaderOptions: every knob of the loader, declared once with its meaning and default, and
// resolve_loader_options, the one place they are checked against the images.
//
// The Python nc.Loader passes its keyword arguments into this struct unchanged (one binding line
// per field). Each rule lives once, in C++, with the message users see: the Sampler checks the
// order, sharding and crop geometry (the crop fits the image), SampleTransform the source and
// the normalization, and resolve_loader_options what belongs to neither. To add an option: a
// field here, its rule in the part that uses it, one line in cpp/bindings/loader_bindings.cpp.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "nocopy/core/allocator.hpp"
#include "nocopy/core/dtype.hpp"
#include "nocopy/core/view.hpp"
#include "nocopy/pipeline/engine/engine_options.hpp"
#include "nocopy/pipeline/kernels/resize.hpp"
#include "nocopy/pipeline/kernels/sample_transform.hpp"
#include "nocopy/pipeline/sampling/sampler.hpp"
#include "nocopy/pipeline/sources/image_source.hpp"

namespace nocopy {

/// Every knob of the image loader (the Python nc.Loader keyword arguments, same names and
/// defaults): the engine's (EngineOptions: batch_size, drop_last, num_threads, prefetch,
/// allocator, rank, world_size, on_error) and the image pipeline's, below.
struct LoaderOptions : EngineOptions {
  /// Output window (rows, columns); absent means the whole image (needs CropMode::None).
  std::optional<std::array<int64_t, 2>> crop = std::array<int64_t, 2>{256, 256};
  /// How each sample's window is chosen.
  CropMode crop_mode = CropMode::Random;
  /// random_resized only: range of the window's fraction of the image area (torchvision's
  /// `scale`); absent means (0.08, 1.0). Given with another crop mode, it is an error.
  std::optional<std::array<double, 2>> area;
  /// random_resized only: range of the window's aspect ratio (width / height), drawn
  /// log-uniformly; absent means (3/4, 4/3). Given with another crop mode, it is an error.
  std::optional<std::array<double, 2>> ratio;
  /// resize_center only: the shorter side after resizing; absent means the larger crop side *
  /// 8 / 7 (256 for a 224 crop, the usual evaluation recipe). Given with another mode: an error.
  std::optional<int64_t> resize;
  /// How resized windows are resampled (antialiased bilinear, or nearest).
  Interpolation interpolation = Interpolation::Bilinear;
  /// Probability of a horizontal mirror per sample, in [0, 1].
  double mirror = 0.5;
  /// Normalization out = (x * scale - mean[c]) / std[c]: one value or one per channel; absent
  /// means mean 0 / std 1 (an empty list is an error: pass nothing instead).
  std::optional<std::vector<double>> mean, std;
  /// Multiplier of the source values; absent means 1/255 for float outputs, 1 for uint8.
  std::optional<double> scale;
  /// Axis order of each output sample.
  Layout layout = Layout::CHW;
  /// Output dtype: float32, float16, bfloat16 or uint8 (uint8: source bytes unchanged).
  DType dtype = DType::Float32;
  /// Shuffle the order each epoch.
  bool shuffle = true;
  /// Key of every random decision.
  uint64_t seed = 0;
};

/// The declarations of the image loader's own options (the engine's are engine_option_specs()).
std::span<const OptionSpec<LoaderOptions>> loader_option_specs();

/// The options checked against the images, every default resolved: what a loader builds its
/// sampler and transform from (they check their own parts when constructed).
struct LoaderConfig {
  /// Order, sharding and crop geometry.
  SamplerConfig sampler;
  /// Output sample: window size, layout, dtype, normalization.
  TransformSpec transform;
  /// Shape of one output sample: (C, h, w) or (h, w, C).
  std::vector<int64_t> sample_shape;
  /// True when samples go through the resampling kernel (a resizing crop mode, or images of
  /// different sizes), false for the plain crop kernel.
  bool resample = false;
  /// The resampling filter.
  Interpolation interpolation = Interpolation::Bilinear;
};

/// Checks `options` with `images` (N, H, W, C) and `labels` (first axis N, or none) and
/// resolves the defaults; std::invalid_argument / BufferError naming the argument, the value
/// and the limit.
LoaderConfig resolve_loader_options(const LoaderOptions& options, const View& images,
                                    const std::optional<View>& labels);

/// The same for any image source: a uniform array or an ImageSet (whose images may differ in
/// size: the plain crop modes then need each image to hold the crop, checked by the Sampler).
LoaderConfig resolve_loader_options(const LoaderOptions& options, const ImageSource& images,
                                    const std::optional<View>& labels);

}  // namespace nocopy
