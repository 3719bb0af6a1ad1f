// LoaderOptions: every knob of the image loader, the sum of its parts' options, each declared
// once where the part lives: the engine's (EngineOptions: batch_size, drop_last, num_threads,
// prefetch, allocator, rank, world_size, on_error), the order's (OrderOptions: shuffle, seed) and
// the operators' (CropWindowOptions, MirrorOptions, NormalizeOptions) and the JPEG codec's
// (JpegDecodeOptions) and the source's read-ahead (ReadAheadOptions). resolve_loader_options is
// the one place they are checked against the images; the Python nc.Loader's keyword arguments
// are parsed by loader_option_specs(), the parts' tables appended.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "nocopy/core/option_spec.hpp"
#include "nocopy/core/view.hpp"
#include "nocopy/pipeline/codecs/jpeg_sample.hpp"
#include "nocopy/pipeline/engine/engine_options.hpp"
#include "nocopy/pipeline/kernels/sample_transform.hpp"
#include "nocopy/pipeline/ops/crop_window.hpp"
#include "nocopy/pipeline/ops/mirror.hpp"
#include "nocopy/pipeline/ops/normalize.hpp"
#include "nocopy/pipeline/sampling/block_order.hpp"
#include "nocopy/pipeline/sampling/epoch_order.hpp"
#include "nocopy/pipeline/sources/image_source.hpp"
#include "nocopy/pipeline/sources/read_ahead.hpp"

namespace nocopy {

/// Every knob of the image loader (the Python nc.Loader keyword arguments, same names and
/// defaults), inherited from its parts.
struct LoaderOptions : EngineOptions,
                       OrderOptions,
                       CropWindowOptions,
                       MirrorOptions,
                       NormalizeOptions,
                       JpegDecodeOptions,
                       ReadAheadOptions,
                       BlockShuffleOptions {};

/// The declarations of every option of the image loader (its parts' tables).
std::span<const OptionSpec<LoaderOptions>> loader_option_specs();

/// The options checked against the images, every default resolved: what the image producer
/// plans and fills with.
struct LoaderConfig {
  /// Samples in the dataset.
  int64_t num_samples = 0;
  /// The crop window operator.
  CropWindowConfig crop;
  /// Probability of a horizontal mirror.
  double mirror = 0.5;
  /// Output sample: window size, layout, dtype, normalization.
  TransformSpec transform;
  /// Shape of one output sample: (C, h, w) or (h, w, C).
  std::vector<int64_t> sample_shape;
};

/// Checks `options` with `images` (a uniform array or an ImageSet, whose images may differ in
/// size: the plain crop modes then need each image to hold the crop) and `labels` (first axis
/// N, or none) and resolves the defaults; std::invalid_argument / BufferError naming the
/// argument, the value and the limit.
LoaderConfig resolve_loader_options(const LoaderOptions& options, const ImageSource& images,
                                    const std::optional<View>& labels);

/// Checks labels for `num_samples` images: on the CPU, first axis num_samples
/// (std::invalid_argument naming the shape otherwise).
void check_loader_labels(const std::optional<View>& labels, int64_t num_samples);

}  // namespace nocopy
