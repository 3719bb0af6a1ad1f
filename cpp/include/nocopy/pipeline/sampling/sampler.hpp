// Sampler: which samples each batch holds and how each sample is cropped and mirrored.
//
// Everything is a pure function of (seed, epoch, position): a counter-based hash replaces a
// stateful generator, so any batch can be planned on its own, by any thread, in any order, and
// the same seed gives the same batches whatever the thread count. Sharding follows torch's
// DistributedSampler: every rank gets the same number of samples (padded by wrapping around, or
// trimmed with drop_last), disjoint when the sample count divides evenly.
//
// Elastic resume: an epoch may start at a global position `start` of its order (set_epoch's
// second argument); the remaining positions [start, N) are sharded, padded and trimmed as a
// whole epoch would be (ShardGeometry, shard.hpp). Crop and mirror draws are keyed by the global
// position g, so a sample keeps its parameters whatever the world size it is read with.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "nocopy/pipeline/ops/resized_crop_window.hpp"
#include "nocopy/pipeline/sampling/shard.hpp"

namespace nocopy {

/// 64 well-mixed bits from (seed, epoch, position, stream) (splitmix64 finalizer, chained).
uint64_t counter_hash(uint64_t seed, uint64_t epoch, uint64_t position, uint64_t stream);

/// Maps 64 random bits to [0, n) by the multiply-shift method (bias below 2^-32 for n < 2^32).
inline uint64_t bounded(uint64_t bits, uint64_t n) {
  __extension__ using u128 = unsigned __int128;  // GCC/Clang extension, for the 64x64 product
  return static_cast<uint64_t>((static_cast<u128>(bits) * n) >> 64);
}

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

/// Largest epoch a sampler accepts: epoch + 1 and every counter derived from it stay in range.
inline constexpr int64_t kMaxEpoch = (int64_t{1} << 62) - 1;

/// What the sampler needs to know; validated by the Sampler constructor.
struct SamplerConfig {
  /// Samples in the dataset (N); must be >= 1.
  int64_t num_samples = 0;
  /// Samples per batch; must be >= 1.
  int64_t batch_size = 1;
  /// Shuffle the order each epoch (else 0, 1, 2, ...).
  bool shuffle = true;
  /// Key of every random decision.
  uint64_t seed = 0;
  /// Trim the dataset so ranks divide it evenly and drop the last incomplete batch.
  bool drop_last = false;
  /// This process's shard in [0, world_size).
  int64_t rank = 0;
  /// Number of shards (>= 1).
  int64_t world_size = 1;
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

/// Deterministic epoch order, sharding and per-sample augmentation parameters.
class Sampler {
 public:
  /// Validates the config (std::invalid_argument naming the field, value and limit), including
  /// that the crop fits the image. An epoch may have no batch (drop_last with too few samples).
  explicit Sampler(const SamplerConfig& config);

  /// Selects the epoch whose order plan(b) describes (recomputes the permutation), its batch 0
  /// starting at global position `start` of the order (0: the whole epoch); std::invalid_argument
  /// when epoch is outside [0, kMaxEpoch] or start outside [0, num_samples].
  void set_epoch(int64_t epoch, int64_t start = 0);
  /// The epoch selected by set_epoch (0 at first).
  int64_t epoch() const { return epoch_; }
  /// Global position where batch 0 of the selected epoch starts (0 unless resumed elsewhere).
  int64_t start() const { return start_; }
  /// Global position of batch `b` of the selected epoch, b in [0, num_batches()]: the samples
  /// order[0, position) are the ones all ranks have consumed before it (at most num_samples).
  int64_t position(int64_t b) const;
  /// The validated configuration.
  const SamplerConfig& config() const { return config_; }

  /// Samples this rank sees in the selected epoch (identical on every rank).
  int64_t samples_per_rank() const { return current_.per_rank(); }
  /// Batches this rank yields in the selected epoch (identical on every rank).
  int64_t num_batches() const { return current_.num_batches(); }
  /// Batches this rank yields in a whole epoch (start 0).
  int64_t epoch_batches() const { return whole_.num_batches(); }
  /// Samples this rank sees in a whole epoch (start 0).
  int64_t epoch_samples_per_rank() const { return whole_.per_rank(); }
  /// Batches this rank yields in an epoch started at global position `start` (in [0, N]).
  int64_t batches_from(int64_t start) const { return geometry(start).num_batches(); }
  /// Samples in the largest batch of any epoch: what one batch buffer must hold.
  int64_t max_batch_len() const { return std::min(config_.batch_size, whole_.per_rank()); }
  /// Samples in batch `b` of the selected epoch (batch_size, or fewer for a last partial batch).
  int64_t batch_len(int64_t b) const;
  /// Full plan of batch `b` of the selected epoch; std::out_of_range when b is not in
  /// [0, num_batches()).
  BatchPlan plan(int64_t b) const;
  /// Full plan of batch `b` of any epoch in [0, kMaxEpoch] (computes that epoch's order when it
  /// is not the selected one; an epoch other than the selected one is a whole epoch, start 0).
  BatchPlan plan(int64_t b, int64_t epoch) const;

 private:
  /// How the samples from global position `start` to the end of the order split into ranks.
  ShardGeometry geometry(int64_t start) const;
  /// The whole dataset's order in `epoch` (identity when not shuffling).
  std::vector<int64_t> epoch_order(int64_t epoch) const;
  BatchPlan plan_from(const std::vector<int64_t>& order, int64_t epoch, const ShardGeometry& geo,
                      int64_t b) const;
  /// Height and width of sample i.
  int64_t height_of(int64_t i) const;
  int64_t width_of(int64_t i) const;

  SamplerConfig config_;
  ShardGeometry whole_;    // a whole epoch
  ShardGeometry current_;  // the selected epoch, from start_
  int64_t start_ = 0;
  int64_t epoch_ = 0;
  /// Epoch order of the whole dataset (identity when not shuffling).
  std::vector<int64_t> order_;
};

}  // namespace nocopy
