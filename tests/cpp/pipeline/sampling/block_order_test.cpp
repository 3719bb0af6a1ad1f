// Tests of the block order: every sample once per epoch, each block of block_shards shards
// contiguous in the order, the shards' order changing with the epoch, and the checks.
#include "nocopy/pipeline/sampling/block_order.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <set>
#include <stdexcept>
#include <vector>

using nocopy::BlockOrder;

TEST(BlockOrder, EverySampleOnceAndBlocksStayTogether) {
  const std::vector<int64_t> sizes{3, 5, 2, 4, 1, 6, 2};
  std::vector<int64_t> shard_of;
  for (size_t k = 0; k < sizes.size(); ++k) shard_of.insert(shard_of.end(), sizes[k], k);
  const BlockOrder order(sizes, 3, 9);
  ASSERT_EQ(order.size(), 23);
  std::set<std::vector<int64_t>> orders;
  for (int64_t e = 0; e < 4; ++e) {
    std::vector<int64_t> o = *order.order(e);
    orders.insert(o);
    std::vector<int64_t> sorted = o;
    std::sort(sorted.begin(), sorted.end());
    std::vector<int64_t> all(23);
    std::iota(all.begin(), all.end(), 0);
    EXPECT_EQ(sorted, all);
    // Cut the order where a block's samples run out: each piece covers at most 3 shards whole.
    size_t at = 0;
    int blocks = 0;
    while (at < o.size()) {
      std::set<int64_t> shards;
      size_t end = at;
      int64_t need = 0;
      while (end < o.size() && (shards.size() < 3 || shards.count(shard_of[o[end]]) != 0)) {
        if (shards.insert(shard_of[o[end]]).second) need += sizes[shard_of[o[end]]];
        ++end;
        if (static_cast<int64_t>(end - at) == need && shards.size() == 3) break;
      }
      EXPECT_EQ(static_cast<int64_t>(end - at), need) << "epoch " << e << " at " << at;
      at = end;
      ++blocks;
    }
    EXPECT_EQ(blocks, 3);  // 7 shards in blocks of 3: 3, 3, 1
  }
  EXPECT_GT(orders.size(), 1u);
  EXPECT_THROW(BlockOrder({3, 0}, 2, 0), std::invalid_argument);
  EXPECT_THROW(BlockOrder({3, 1}, 0, 0), std::invalid_argument);
}
