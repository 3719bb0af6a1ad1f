// Tests of the mixture order: largest-remainder counts, exact counts in every epoch, indices
// inside each dataset's range, every sample drawn equally often over epochs, the unshuffled
// interleaving, the default epoch size and the checks.
#include "nocopy/pipeline/sampling/mixture_order.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <stdexcept>
#include <vector>

using nocopy::mixture_counts;
using nocopy::mixture_default_size;
using nocopy::MixtureOrder;

TEST(MixtureOrder, CountsAreLargestRemainder) {
  EXPECT_EQ(mixture_counts({1, 1, 1}, 10), (std::vector<int64_t>{4, 3, 3}));
  EXPECT_EQ(mixture_counts({0.6, 0.3, 0.1}, 7), (std::vector<int64_t>{4, 2, 1}));
  EXPECT_EQ(mixture_counts({1, 0}, 5), (std::vector<int64_t>{5, 0}));
  EXPECT_EQ(mixture_default_size({10, 4}, {1, 2}), 30);
  EXPECT_THROW(mixture_counts({1, -1}, 5), std::invalid_argument);
  EXPECT_THROW(mixture_counts({0, 0}, 5), std::invalid_argument);
  EXPECT_THROW(mixture_counts({1}, 0), std::invalid_argument);
  EXPECT_THROW(mixture_default_size({3, 3}, {0, 1}), std::invalid_argument);
  EXPECT_THROW(MixtureOrder({3, 0}, {1, 1}, 4, true, 0), std::invalid_argument);
  EXPECT_THROW(MixtureOrder({3, 3}, {1}, 4, true, 0), std::invalid_argument);
}

TEST(MixtureOrder, EveryEpochHasItsCountsAndDrawsAreEven) {
  // Dataset 0 (7 samples) subsampled to 3 a epoch, dataset 1 (2 samples) upsampled to 6.
  const MixtureOrder order({7, 2}, {1, 2}, 9, true, 42);
  std::map<int64_t, int64_t> draws;
  for (int64_t e = 0; e < 14; ++e) {  // 42 draws of dataset 0 (6 each), 84 of dataset 1
    const auto o = order.order(e);
    ASSERT_EQ(o->size(), 9u);
    int64_t first = 0;
    for (int64_t s : *o) {
      ASSERT_GE(s, 0);
      ASSERT_LT(s, 9);
      first += s < 7 ? 1 : 0;
      ++draws[s];
    }
    EXPECT_EQ(first, 3);
    EXPECT_EQ(*o, *order.order(e));  // cached or recomputed, the same
  }
  for (int64_t s = 0; s < 7; ++s) EXPECT_EQ(draws[s], 6) << s;
  EXPECT_EQ(draws[7], 42);
  EXPECT_EQ(draws[8], 42);
  EXPECT_NE(*order.order(0), *MixtureOrder({7, 2}, {1, 2}, 9, true, 43).order(0));
}

TEST(MixtureOrder, UnshuffledInterleavesEvenlyInOrder) {
  const MixtureOrder order({4, 10}, {1, 1}, 6, false, 0);
  EXPECT_EQ(*order.order(0), (std::vector<int64_t>{0, 4, 1, 5, 2, 6}));
  EXPECT_EQ(*order.order(1), (std::vector<int64_t>{3, 7, 0, 8, 1, 9}));
}
