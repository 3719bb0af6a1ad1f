// Shard arithmetic of one epoch, shared by the image Sampler and the SequenceSampler: how the
// global positions [start, N) of an epoch's order split over `world_size` ranks into batches,
// like torch's DistributedSampler (every rank gets the same count: padded by wrapping around to
// the start of the order, or trimmed with drop_last), and which global position each slot reads.
//
// Rank r's slot k of batch b reads global position g = start + (b * batch_size + k) * world + r.
// Ranks advance in lockstep, so after b batches all ranks together have consumed the positions
// [start, position(b)): an epoch started at that position with another world size or batch size
// (elastic resume) delivers exactly the positions not yet consumed.
#pragma once

#include <cstdint>

namespace nocopy {

/// The split of positions [start, num_samples) of one epoch's order over the ranks.
class ShardGeometry {
 public:
  ShardGeometry() = default;
  /// num_samples >= 1, batch_size >= 1, world_size >= 1 and rank in [0, world_size), as the
  /// caller validated them; std::invalid_argument naming the value when start is not in
  /// [0, num_samples].
  ShardGeometry(int64_t num_samples, int64_t batch_size, int64_t world_size, int64_t rank,
                bool drop_last, int64_t start);

  /// First global position of the epoch (0 for a whole epoch).
  int64_t start() const { return start_; }
  /// Samples each rank reads (identical on every rank).
  int64_t per_rank() const { return per_rank_; }
  /// Batches each rank yields (identical on every rank).
  int64_t num_batches() const { return num_batches_; }
  /// Samples in batch `b`: batch_size, or fewer for a last partial batch; std::out_of_range
  /// when b is not in [0, num_batches()).
  int64_t batch_len(int64_t b) const;
  /// Global position of slot `k` of batch `b` on this rank, before wrapping: positions from
  /// num_samples on are padding and read position g % num_samples.
  uint64_t global(int64_t b, int64_t k) const;
  /// Global position after `b` batches on every rank, b in [0, num_batches()] (std::out_of_range
  /// otherwise): the positions [0, position(b)) are consumed (at most num_samples).
  int64_t position(int64_t b) const;

 private:
  int64_t num_samples_ = 1, batch_size_ = 1, world_size_ = 1, rank_ = 0;
  int64_t start_ = 0, per_rank_ = 0, num_batches_ = 0;
};

}  // namespace nocopy
