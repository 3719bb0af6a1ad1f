// Tests of IndexItem and resolve_slice against Python's slice.indices semantics, including the
// extreme values Python clamps.
#include "nocopy/core/index.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <vector>

using nocopy::IndexItem;
using nocopy::resolve_slice;

namespace {

// Python's reference: the elements range(*slice(start, stop, step).indices(n)) selects.
std::vector<int64_t> python_elements(std::optional<int64_t> start, std::optional<int64_t> stop,
                                     int64_t step, int64_t n) {
  int64_t lo, hi;
  if (step > 0) {
    lo = start ? (*start < 0 ? std::max<int64_t>(*start + n, 0) : std::min(*start, n)) : 0;
    hi = stop ? (*stop < 0 ? std::max<int64_t>(*stop + n, 0) : std::min(*stop, n)) : n;
  } else {
    lo = start ? (*start < 0 ? std::max<int64_t>(*start + n, -1) : std::min(*start, n - 1)) : n - 1;
    hi = stop ? (*stop < 0 ? std::max<int64_t>(*stop + n, -1) : std::min(*stop, n - 1)) : -1;
  }
  std::vector<int64_t> out;
  for (int64_t i = lo; step > 0 ? i < hi : i > hi; i += step) out.push_back(i);
  return out;
}

std::vector<int64_t> resolved_elements(const IndexItem& item, int64_t n) {
  const auto r = resolve_slice(item, n);
  std::vector<int64_t> out;
  for (int64_t k = 0; k < r.count; ++k) out.push_back(r.start + k * r.step);
  return out;
}

}  // namespace

TEST(Index, FactoriesSetTheirKind) {
  EXPECT_EQ(IndexItem::integer(-3).kind, IndexItem::Kind::Integer);
  EXPECT_EQ(IndexItem::integer(-3).start, -3);
  EXPECT_EQ(IndexItem::ellipsis().kind, IndexItem::Kind::Ellipsis);
  EXPECT_EQ(IndexItem::new_axis().kind, IndexItem::Kind::NewAxis);
  const IndexItem s = IndexItem::slice(std::nullopt, 4, 2);
  EXPECT_EQ(s.kind, IndexItem::Kind::Slice);
  EXPECT_FALSE(s.has_start);
  EXPECT_TRUE(s.has_stop);
  EXPECT_EQ(s.stop, 4);
  EXPECT_EQ(s.step, 2);
  EXPECT_THROW(IndexItem::slice(0, 1, 0), std::invalid_argument);
}

TEST(Index, EverySmallSliceMatchesPython) {
  const std::vector<std::optional<int64_t>> bounds = {std::nullopt, -8, -5, -1, 0, 1, 3, 5, 8};
  for (int64_t n : {0, 1, 2, 5}) {
    for (auto start : bounds) {
      for (auto stop : bounds) {
        for (int64_t step : {-3, -2, -1, 1, 2, 3}) {
          SCOPED_TRACE(testing::Message() << "n=" << n << " start=" << start.value_or(99)
                                          << " stop=" << stop.value_or(99) << " step=" << step);
          EXPECT_EQ(resolved_elements(IndexItem::slice(start, stop, step), n),
                    python_elements(start, stop, step, n));
        }
      }
    }
  }
}

TEST(Index, ExtremeBoundsAndStepsClampLikePython) {
  const auto r = resolve_slice(IndexItem::slice(INT64_MIN, INT64_MAX, INT64_MAX), 10);
  EXPECT_EQ(r.count, 1);
  EXPECT_EQ(r.start, 0);
  const auto back = resolve_slice(IndexItem::slice(INT64_MAX, INT64_MIN, INT64_MIN), 10);
  EXPECT_EQ(back.count, 1);
  EXPECT_EQ(back.start, 9);
  EXPECT_EQ(back.step, -INT64_MAX);  // INT64_MIN cannot be negated; Python clamps it too
  EXPECT_EQ(resolve_slice(IndexItem::slice(std::nullopt, std::nullopt, -1), INT64_MAX).count,
            INT64_MAX);
}
