// BlockOrder: the shuffled order of a sharded dataset that keeps reads within a few shards at a
// time (for data fetched shard by shard from a remote store): each epoch the shards are put in
// a random order (RandomStream::BlockShards), cut into blocks of `block_shards` consecutive
// shards, and the samples of each block are shuffled among themselves (RandomStream::
// BlockSamples). A loader then needs about one block of shards at a time, and every sample is
// still read once per epoch. A pure function of (seed, epoch), like every order.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "nocopy/core/option_spec.hpp"
#include "nocopy/pipeline/sampling/epoch_order.hpp"

namespace nocopy {

/// The block shuffle's option (nc.Loader's keyword argument of the same name).
struct BlockShuffleOptions {
  /// With a sharded dataset, > 0 shuffles its shards, then the samples within each run of
  /// block_shards shards (BlockOrder); 0 shuffles all samples together.
  int64_t block_shards = 0;
};

/// The declarations of BlockShuffleOptions.
std::span<const OptionSpec<BlockShuffleOptions>> block_shuffle_option_specs();

/// std::invalid_argument when `options` asks for a block shuffle that `order` (a loader's epoch
/// order) is not: block_shards > 0 needs shuffle and a BlockOrder (a sharded dataset of several
/// shards; `datasets` names the kinds that are, for the message).
void check_block_shuffle(const BlockShuffleOptions& options, bool shuffle, const SampleOrder& order,
                         std::string_view datasets);

/// The block-shuffled order of shards of `shard_sizes` samples (laid end to end).
class BlockOrder final : public CachedSampleOrder {
 public:
  /// Shards of `shard_sizes` (each >= 1), blocks of `block_shards` (>= 1) shards;
  /// std::invalid_argument naming the value otherwise.
  BlockOrder(std::vector<int64_t> shard_sizes, int64_t block_shards, uint64_t seed);

  int64_t size() const override { return size_; }

 private:
  std::vector<int64_t> compute(int64_t epoch) const override;

  std::vector<int64_t> sizes_, offsets_;
  int64_t block_shards_, size_ = 0;
  uint64_t seed_;
};

}  // namespace nocopy
