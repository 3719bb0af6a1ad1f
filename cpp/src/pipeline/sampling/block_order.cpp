// BlockOrder: a Fisher-Yates shuffle of the shards, then one of the samples of each block.
#include "nocopy/pipeline/sampling/block_order.hpp"

#include <numeric>
#include <stdexcept>
#include <string>
#include <utility>

#include "nocopy/pipeline/sampling/random_streams.hpp"

namespace nocopy {
namespace {

using O = BlockShuffleOptions;
using V = OptionValue;

const OptionSpec<BlockShuffleOptions> kBlockSpecs[] = {
    {"block_shards", OptionKind::Int,
     "With a sharded dataset (and shuffle): > 0 shuffles the order of its shards each epoch, "
     "then the samples within each run of block_shards consecutive shards, so a few shards at a "
     "time are read (remote data is fetched shard by shard; shuffle='block' sets 4); 0 "
     "shuffles all samples together.",
     [](O& o, const V& v) {
       const int64_t k = std::get<int64_t>(v);
       if (k < 0) {
         throw std::invalid_argument("block_shards " + std::to_string(k) + " must be >= 0");
       }
       o.block_shards = k;
     },
     [](const O& o) -> V { return o.block_shards; }},
};

}  // namespace

std::span<const OptionSpec<BlockShuffleOptions>> block_shuffle_option_specs() {
  return kBlockSpecs;
}

void check_block_shuffle(const BlockShuffleOptions& options, bool shuffle, const SampleOrder& order,
                         std::string_view datasets) {
  if (options.block_shards > 0 && (!shuffle || !dynamic_cast<const BlockOrder*>(&order))) {
    throw std::invalid_argument("block_shards " + std::to_string(options.block_shards) +
                                " needs shuffle and a sharded dataset of several shards (" +
                                std::string(datasets) + "; not a Mixture)");
  }
}

BlockOrder::BlockOrder(std::vector<int64_t> shard_sizes, int64_t block_shards, uint64_t seed)
    : sizes_(std::move(shard_sizes)), block_shards_(block_shards), seed_(seed) {
  if (sizes_.empty()) throw std::invalid_argument("a block order needs at least one shard");
  if (block_shards_ < 1) {
    throw std::invalid_argument("block_shards " + std::to_string(block_shards_) + " must be >= 1");
  }
  for (size_t k = 0; k < sizes_.size(); ++k) {
    if (sizes_[k] < 1) throw std::invalid_argument("shard " + std::to_string(k) + " is empty");
    offsets_.push_back(size_);
    size_ += sizes_[k];
  }
}

std::vector<int64_t> BlockOrder::compute(int64_t epoch) const {
  const auto e = static_cast<uint64_t>(epoch);
  std::vector<int64_t> shards(sizes_.size());
  std::iota(shards.begin(), shards.end(), int64_t{0});
  for (uint64_t i = shards.size() - 1; i > 0; --i) {
    std::swap(shards[i], shards[bounded(draw_bits(seed_, e, i, RandomStream::BlockShards), i + 1)]);
  }
  std::vector<int64_t> out;
  out.reserve(static_cast<size_t>(size_));
  for (size_t first = 0; first < shards.size(); first += static_cast<size_t>(block_shards_)) {
    const size_t begin = out.size();
    const size_t last = std::min(shards.size(), first + static_cast<size_t>(block_shards_));
    for (size_t s = first; s < last; ++s) {
      const auto k = static_cast<size_t>(shards[s]);
      for (int64_t j = 0; j < sizes_[k]; ++j) out.push_back(offsets_[k] + j);
    }
    // The block's samples shuffled among themselves; the swap draws keyed by global position.
    for (size_t i = out.size() - 1; i > begin; --i) {
      const uint64_t j = bounded(draw_bits(seed_, e, i, RandomStream::BlockSamples), i - begin + 1);
      std::swap(out[i], out[begin + j]);
    }
  }
  return out;
}

}  // namespace nocopy
