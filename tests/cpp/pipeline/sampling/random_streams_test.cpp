// Tests of the random streams registry and the epoch order: the counter hash depends on every
// key, the registered stream numbers never change, orders are permutations keyed by the epoch
// and cached per epoch.
#include "nocopy/pipeline/sampling/random_streams.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <stdexcept>
#include <vector>

#include "nocopy/pipeline/sampling/epoch_order.hpp"

TEST(RandomStreams, CounterHashDependsOnEveryKey) {
  // The registered streams keep their numbers (changing one changes every batch drawn with it).
  EXPECT_EQ(static_cast<uint64_t>(nocopy::RandomStream::Shuffle), 1u);
  EXPECT_EQ(static_cast<uint64_t>(nocopy::RandomStream::WindowStart), 5u);
  const uint64_t h = nocopy::counter_hash(1, 2, 3, 4);
  EXPECT_EQ(h, nocopy::counter_hash(1, 2, 3, 4));
  EXPECT_NE(h, nocopy::counter_hash(0, 2, 3, 4));
  EXPECT_NE(h, nocopy::counter_hash(1, 0, 3, 4));
  EXPECT_NE(h, nocopy::counter_hash(1, 2, 0, 4));
  EXPECT_NE(h, nocopy::counter_hash(1, 2, 3, 0));
  EXPECT_EQ(nocopy::bounded(~uint64_t{0}, 10), 9u);
  EXPECT_EQ(nocopy::bounded(0, 10), 0u);
}

TEST(EpochOrder, ShuffledOrdersArePermutationsKeyedByTheEpoch) {
  const nocopy::EpochOrder order(50, true, 9);
  auto e3 = order.order(3);
  std::vector<int64_t> sorted(*e3);
  std::sort(sorted.begin(), sorted.end());
  std::vector<int64_t> identity(50);
  std::iota(identity.begin(), identity.end(), 0);
  EXPECT_EQ(sorted, identity);
  EXPECT_NE(*e3, identity);
  EXPECT_NE(*order.order(4), *e3);
  EXPECT_EQ(order.order(3), e3);  // cached: the same vector
  EXPECT_EQ(*nocopy::EpochOrder(50, true, 9).order(3), *e3);
  EXPECT_EQ(*nocopy::EpochOrder(50, false, 9).order(3), identity);
  EXPECT_THROW(order.order(-1), std::invalid_argument);
  EXPECT_THROW(order.order(nocopy::kMaxEpoch + 1), std::invalid_argument);
  EXPECT_THROW(nocopy::EpochOrder(0, true, 1), std::invalid_argument);
}
