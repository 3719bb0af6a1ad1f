// The samples of the batches after a planned one, for a producer's read-ahead hints (a source
// whose shards open on demand fetches those of the fetch_ahead batches ahead).
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

#include "nocopy/pipeline/sampling/shard.hpp"

namespace nocopy {

/// Hands `hint` the samples of each of the `fetch_ahead` batches after batch b of `geometry`
/// (fewer at the epoch's end), one batch at a time: sample = order[global position %
/// order.size()] / per_sample (per_sample > 1 when the order counts clips of samples).
template <class Hint>
void hint_batches_ahead(std::span<const int64_t> order, const ShardGeometry& geometry, int64_t b,
                        int64_t fetch_ahead, int64_t per_sample, Hint&& hint) {
  std::vector<int64_t> ahead;
  const int64_t last = std::min(geometry.num_batches() - 1, b + fetch_ahead);
  for (int64_t a = b + 1; a <= last; ++a) {
    ahead.clear();
    for (int64_t k = 0; k < geometry.batch_len(a); ++k) {
      ahead.push_back(order[geometry.global(a, k) % order.size()] / per_sample);
    }
    hint(std::span<const int64_t>(ahead));
  }
}

}  // namespace nocopy
