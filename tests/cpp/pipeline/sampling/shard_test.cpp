// Tests of ShardGeometry: equal shards, disjoint and covering positions from any start, the
// position after b batches, and the range checks.
#include "nocopy/pipeline/sampling/shard.hpp"

#include <gtest/gtest.h>

#include <map>
#include <stdexcept>

using nocopy::ShardGeometry;

TEST(ShardGeometry, RanksShareTheRestOfTheEpochFromAnyStart) {
  for (int64_t n : {1, 7, 37, 100}) {
    for (int64_t world : {1, 2, 3, 4, 8, 13}) {
      for (int64_t batch : {1, 3, 5}) {
        for (bool drop_last : {false, true}) {
          for (int64_t start : {int64_t{0}, n / 3, n - 1, n}) {
            std::map<uint64_t, int> seen;  // global position (unwrapped) -> times read
            int64_t batches = -1, per_rank = -1;
            for (int64_t r = 0; r < world; ++r) {
              const ShardGeometry g(n, batch, world, r, drop_last, start);
              if (batches >= 0) {
                EXPECT_EQ(g.num_batches(), batches);
                EXPECT_EQ(g.per_rank(), per_rank);
              }
              batches = g.num_batches();
              per_rank = g.per_rank();
              for (int64_t b = 0; b < g.num_batches(); ++b) {
                for (int64_t k = 0; k < g.batch_len(b); ++k) ++seen[g.global(b, k)];
              }
            }
            const int64_t remaining = n - start;
            int64_t read = 0;
            for (const auto& [pos, times] : seen) {
              EXPECT_EQ(times, 1) << "position " << pos << " read twice";
              EXPECT_GE(pos, static_cast<uint64_t>(start));
              // padding wraps: positions past n are fewer than one per rank
              EXPECT_LT(pos, static_cast<uint64_t>(n + world));
              read += times;
            }
            if (drop_last) {
              EXPECT_EQ(read, remaining / world / batch * batch * world);
            } else {
              EXPECT_EQ(read, (remaining + world - 1) / world * world);
              for (int64_t p = start; p < n; ++p) EXPECT_EQ(seen.count(p), 1u) << p;
            }
          }
        }
      }
    }
  }
}

TEST(ShardGeometry, PositionCountsWhatAllRanksConsumed) {
  const ShardGeometry g(37, 3, 4, 1, false, 5);  // 32 left: 8 per rank, batches of 3, 3, 2
  EXPECT_EQ(g.num_batches(), 3);
  EXPECT_EQ(g.position(0), 5);
  EXPECT_EQ(g.position(1), 17);
  EXPECT_EQ(g.position(2), 29);
  EXPECT_EQ(g.position(3), 37);  // capped at the epoch's end
  EXPECT_EQ(g.global(0, 0), 6u);
  EXPECT_EQ(g.global(2, 1), 5u + 7 * 4 + 1);
  EXPECT_THROW(g.position(4), std::out_of_range);
  EXPECT_THROW(g.batch_len(3), std::out_of_range);
  EXPECT_THROW(ShardGeometry(37, 3, 4, 1, false, 38), std::invalid_argument);
  EXPECT_THROW(ShardGeometry(37, 3, 4, 1, false, -1), std::invalid_argument);
}
