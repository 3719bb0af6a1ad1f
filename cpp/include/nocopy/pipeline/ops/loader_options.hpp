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
#include <string_view>
#include <vector>

#include "nocopy/core/allocator.hpp"
#include "nocopy/core/dtype.hpp"
#include "nocopy/core/view.hpp"
#include "nocopy/pipeline/codecs/jpeg_sample.hpp"
#include "nocopy/pipeline/kernels/resize.hpp"
#include "nocopy/pipeline/kernels/sample_transform.hpp"
#include "nocopy/pipeline/sampling/sampler.hpp"
#include "nocopy/pipeline/sources/image_source.hpp"

namespace nocopy {

/// Most worker threads a loader starts.
inline constexpr int64_t kMaxLoaderThreads = 1024;
/// Most batches a loader prepares ahead of the consumer.
inline constexpr int64_t kMaxPrefetch = 1024;

/// What the loader does with a sample that fails (a corrupt JPEG): raise a LoaderError naming
/// it, or put a copy of the next sample of the same batch that did not fail in its slot.
enum class OnError { Raise, Skip };
/// The policy named `name` ("raise" or "skip"); std::invalid_argument for any other.
OnError on_error_from_name(std::string_view name);
/// The name of a policy, as on_error_from_name accepts it.
std::string_view on_error_name(OnError policy);

/// Every knob of the loader (the Python nc.Loader keyword arguments, same names and defaults).
struct LoaderOptions {
  /// Samples per batch (>= 1); the last batch of an epoch may be smaller unless drop_last.
  int64_t batch_size = 32;
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
  /// Trim to equal shards and drop the last partial batch.
  bool drop_last = false;
  /// Worker threads in [1, kMaxLoaderThreads]; absent means the cores this process may use.
  std::optional<int64_t> num_threads;
  /// Batches produced ahead of the consumer, in [1, kMaxPrefetch].
  int64_t prefetch = 2;
  /// Where batch buffers come from (pinned host memory, a caller's arena); null means
  /// default_allocator(). The pool keeps and reuses its blocks and writes batches into them.
  AllocatorPtr allocator;
  /// Shard of this process in [0, world_size) (DistributedSampler semantics).
  int64_t rank = 0;
  /// Number of shards (>= 1).
  int64_t world_size = 1;
  /// JPEG ImageSets: Auto decodes large windows DCT-scaled (faster, close to the full decode),
  /// Exact never does (the same result as a raw ImageSet of the decoded pixels). No effect on
  /// raw images.
  DecodeScale decode_scale = DecodeScale::Auto;
  /// A failing sample: Raise (LoaderError) or Skip (its slot gets a copy of the next sample of
  /// the same batch, cyclically, that did not fail, with that sample's label; see Loader::next).
  OnError on_error = OnError::Raise;
};

/// The options checked against the images, every default resolved: what a loader builds its
/// sampler and transform from (they check their own parts when constructed).
struct LoaderConfig {
  /// Order, sharding and crop geometry.
  SamplerConfig sampler;
  /// Output sample: window size, layout, dtype, normalization.
  TransformSpec transform;
  /// Worker threads (0: the cores this process may use).
  size_t num_threads = 0;
  /// Batches produced ahead.
  int64_t prefetch = 2;
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
