// Tests of sliding_windows: shape and strides against the definition, read-only when windows
// overlap, the same owner, and the size / step / axis errors; steps too large to scale.
#include "nocopy/core/sliding_window.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <stdexcept>

using nocopy::DType;
using nocopy::View;

TEST(SlidingWindow, ShapeStridesAndElementsFollowTheDefinition) {
  View v = View::empty(DType::Int32, {3, 10});
  for (int64_t i = 0; i < v.size(); ++i) v.data_as<int32_t>()[i] = static_cast<int32_t>(i);
  View w = nocopy::sliding_windows(v, 4, 3, 1);
  EXPECT_EQ(w.shape(), (std::vector<int64_t>{3, 3, 4}));
  EXPECT_EQ(w.strides(), (std::vector<int64_t>{10, 3, 1}));
  EXPECT_EQ(w.owner(), v.owner());
  EXPECT_TRUE(w.readonly());  // window 0 is [0, 4), window 1 [3, 7): they share element 3
  const auto* p = w.data_as<int32_t>();
  for (int64_t r = 0; r < 3; ++r)
    for (int64_t k = 0; k < 3; ++k)
      for (int64_t j = 0; j < 4; ++j) EXPECT_EQ(p[r * 10 + k * 3 + j], r * 10 + k * 3 + j);
}

TEST(SlidingWindow, DisjointWindowsStayWritableAndCountsAreExact) {
  View v = View::empty(DType::Float32, {9});
  EXPECT_FALSE(nocopy::sliding_windows(v, 3, 3).readonly());
  EXPECT_FALSE(nocopy::sliding_windows(v, 9, 1).readonly());  // one window only
  EXPECT_EQ(nocopy::sliding_windows(v, 0, 2).shape(), (std::vector<int64_t>{5, 0}));
  EXPECT_EQ(nocopy::window_count(9, 4, 2), 3);
  EXPECT_EQ(nocopy::window_count(3, 4, 1), 0);
  EXPECT_TRUE(nocopy::sliding_windows(v.as_readonly(), 3, 3).readonly());
}

TEST(SlidingWindow, BadArgumentsThrow) {
  View v = View::empty(DType::UInt8, {4, 5});
  EXPECT_THROW(nocopy::sliding_windows(v, 6, 1, -1), std::invalid_argument);
  EXPECT_THROW(nocopy::sliding_windows(v, 2, 0, -1), std::invalid_argument);
  EXPECT_THROW(nocopy::sliding_windows(v, -1, 1, -1), std::invalid_argument);
  EXPECT_THROW(nocopy::sliding_windows(v, 2, 1, 2), std::out_of_range);
}

TEST(SlidingWindow, AStepPastTheLastStartNeverOverflows) {
  // One window: the stride of its axis is never used, so any step past the last start works.
  View v = View::empty(DType::Int64, {10});
  for (int64_t step : {int64_t{8}, int64_t{1} << 61, std::numeric_limits<int64_t>::max()}) {
    const View w = nocopy::sliding_windows(v, 3, step);
    EXPECT_EQ(w.shape(), (std::vector<int64_t>{1, 3}));
    EXPECT_EQ(w.data(), v.data());
  }
  EXPECT_EQ(nocopy::sliding_windows(v, 3, 7).strides(), (std::vector<int64_t>{7, 1}));
}
