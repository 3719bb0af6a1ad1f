// Sampler: which image each batch slot holds and how it is cropped and mirrored, as a pure
// function of (seed, epoch, global position).
//
// A counter-based hash replaces a stateful generator (random_streams.hpp), so any batch can be
// planned on its own, by any thread, in any order, and the same seed gives the same batches
// whatever the thread count. Which global positions a batch's slots read (the sharding over
// ranks, an epoch started elsewhere for elastic resume) is the ShardGeometry the caller passes
// (the batch engine owns it). Crop and mirror draws are keyed by the global position g, so a
// sample keeps its parameters whatever the world size it is read with.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "nocopy/pipeline/ops/resized_crop_window.hpp"
#include "nocopy/pipeline/sampling/epoch_order.hpp"
#include "nocopy/pipeline/sampling/random_streams.hpp"
#include "nocopy/pipeline/sampling/shard.hpp"

namespace nocopy {

/// How the crop window is chosen for each sample.
enum class CropMode : uint8_t {
  Random,  ///< uniform top in [0, H - h], left in [0, W - w]
  Center,  ///< (H - h) / 2, (W - w) / 2, rounded down
  None,    ///< the whole image (top = left = 0, window = image)
  /// torchvision's RandomResizedCrop window (random_resized_window), resized to the crop
  RandomResized,
  /// the whole image, its shorter side resized to `resize`, then center-cropped to the crop
  ResizeCenter,
};

/// The mode called `name` ("random", "center", "none", "random_resized", "resize_center");
/// std::invalid_argument listing the names.
CropMode crop_mode_from_name(std::string_view name);
/// The name of a mode, as crop_mode_from_name accepts it.
std::string_view crop_mode_name(CropMode mode);

/// Largest `resize` of CropMode::ResizeCenter (larger sides would not fit a batch anyway).
inline constexpr int64_t kMaxResize = int64_t{1} << 20;

/// What the sampler needs to know; validated by the Sampler constructor.
struct SamplerConfig {
  /// Samples in the dataset (N); must be >= 1.
  int64_t num_samples = 0;
  /// Shuffle the order each epoch (else 0, 1, 2, ...).
  bool shuffle = true;
  /// Key of every random decision.
  uint64_t seed = 0;
  /// Image height and width (H, W) and the crop window (h, w) with its mode.
  int64_t image_h = 1, image_w = 1, crop_h = 1, crop_w = 1;
  CropMode crop_mode = CropMode::Random;
  /// Each sample's (H, W, C), 3 * num_samples values, for images of different sizes (an
  /// ImageSet); null when every sample is image_h x image_w.
  std::shared_ptr<const std::vector<int64_t>> sample_shapes;
  /// Area and ratio ranges of CropMode::RandomResized.
  ResizedCropRange resized_crop;
  /// Shorter side after resizing, for CropMode::ResizeCenter (>= the larger crop side).
  int64_t resize = 0;
  /// Probability in [0, 1] that a sample is mirrored horizontally.
  double mirror = 0.0;
};

/// The plan of one batch: sample indices and each sample's window and mirror flag.
struct BatchPlan {
  /// Dataset index of each sample.
  std::vector<int64_t> indices;
  /// Window origin (row, column) in the source image of each sample.
  std::vector<int64_t> top, left;
  /// Window size (rows, columns) in the source image of each sample: the crop for the plain
  /// modes, the drawn window for random_resized, the whole image for resize_center.
  std::vector<int64_t> height, width;
  /// 1 when the sample is mirrored horizontally, else 0.
  std::vector<uint8_t> mirror;
};

/// Deterministic epoch order and per-sample crop and mirror parameters.
class Sampler {
 public:
  /// Validates the config (std::invalid_argument naming the field, value and limit), including
  /// that the crop fits the image.
  explicit Sampler(const SamplerConfig& config);

  /// The validated configuration.
  const SamplerConfig& config() const { return config_; }
  /// Full plan of batch `b` of `epoch` (in [0, kMaxEpoch]) whose slots read the global
  /// positions of `geometry` (std::out_of_range when b is not one of its batches).
  BatchPlan plan(int64_t epoch, const ShardGeometry& geometry, int64_t b) const;

 private:
  /// Height and width of sample i.
  int64_t height_of(int64_t i) const;
  int64_t width_of(int64_t i) const;

  SamplerConfig config_;
  EpochOrder order_;
};

}  // namespace nocopy
