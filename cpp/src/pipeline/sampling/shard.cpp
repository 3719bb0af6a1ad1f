// ShardGeometry: DistributedSampler-style split of an epoch's remaining positions over ranks.
#include "nocopy/pipeline/sampling/shard.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace nocopy {

ShardGeometry::ShardGeometry(int64_t num_samples, int64_t batch_size, int64_t world_size,
                             int64_t rank, bool drop_last, int64_t start)
    : num_samples_(num_samples),
      batch_size_(batch_size),
      world_size_(world_size),
      rank_(rank),
      start_(start) {
  if (start < 0 || start > num_samples) {
    throw std::invalid_argument("epoch start position " + std::to_string(start) +
                                " is not in [0, num_samples=" + std::to_string(num_samples) + "]");
  }
  // drop_last trims the tail so ranks divide the remaining samples evenly, otherwise the order
  // is padded by wrapping around to ceil(R / world) per rank. Written as quotient + remainder
  // test so that no sum can overflow.
  const int64_t remaining = num_samples - start;
  const int64_t whole = remaining / world_size;
  per_rank_ = drop_last ? whole : whole + (remaining % world_size != 0 ? 1 : 0);
  const int64_t full = per_rank_ / batch_size;
  num_batches_ = drop_last ? full : full + (per_rank_ % batch_size != 0 ? 1 : 0);
}

int64_t ShardGeometry::batch_len(int64_t b) const {
  if (b < 0 || b >= num_batches_) {
    throw std::out_of_range("batch " + std::to_string(b) + " is not in [0, " +
                            std::to_string(num_batches_) + ")");
  }
  return std::min(batch_size_, per_rank_ - b * batch_size_);
}

uint64_t ShardGeometry::global(int64_t b, int64_t k) const {
  // No overflow: (b * batch_size + k) < per_rank, and per_rank * world <= N + world.
  const int64_t rank_pos = b * batch_size_ + k;
  return static_cast<uint64_t>(start_) +
         static_cast<uint64_t>(rank_pos) * static_cast<uint64_t>(world_size_) +
         static_cast<uint64_t>(rank_);
}

int64_t ShardGeometry::position(int64_t b) const {
  if (b < 0 || b > num_batches_) {
    throw std::out_of_range("batch " + std::to_string(b) + " is not in [0, " +
                            std::to_string(num_batches_) + "]");
  }
  // b batches consumed b * batch_size * world_size positions, of which those past the order's
  // end are wrap-around padding. No overflow: b * batch_size is at most per_rank.
  const int64_t consumed = b * batch_size_ * world_size_;
  return std::min(num_samples_, start_ + std::min(consumed, num_samples_));
}

}  // namespace nocopy
