// Tests of the sequence gather: rows of 1-D and 2-D sources, contiguous or strided (negative
// steps, sliced features), converted into a C-contiguous slot; range checks and bounds.
#include "nocopy/pipeline/kernels/sequence_gather.hpp"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <array>
#include <stdexcept>
#include <string>
#include <vector>

using nocopy::DType;
using nocopy::RowSpan;
using nocopy::View;

namespace {

/// A (rows, cols) uint16 array holding r * 100 + c.
View table(int64_t rows, int64_t cols) {
  View v = View::empty(DType::UInt16, {rows, cols});
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) {
      v.data_as<uint16_t>()[r * cols + c] = static_cast<uint16_t>(r * 100 + c);
    }
  }
  return v;
}

}  // namespace

TEST(SequenceGather, ContiguousAndStridedRowsConvertLikeAnElementLoop) {
  const View t = table(20, 6);
  // every feature, a feature slice (strided rows), a negative row step, one column
  const std::vector<View> sources = {t, t.slice(1, 1, 5),
                                     t.slice(0, std::nullopt, std::nullopt, -2),
                                     t.slice(1, 2, 3).slice(0, std::nullopt, std::nullopt, 3)};
  for (const View& v : sources) {
    const int64_t cols = v.shape()[1];
    const RowSpan span = nocopy::source_rows(v, 0, 2, 4);
    EXPECT_EQ(span.contiguous(), v.is_c_contiguous());
    std::vector<int64_t> out(static_cast<size_t>(4 * cols), -1);
    nocopy::convert_rows(span, 0, 2, DType::Int64, false, out.data());
    for (int64_t r = 0; r < 4; ++r) {
      for (int64_t c = 0; c < cols; ++c) {
        const uint16_t want =
            *(v.data_as<const uint16_t>() + (2 + r) * v.strides()[0] + c * v.strides()[1]);
        EXPECT_EQ(out[static_cast<size_t>(r * cols + c)], want) << r << ", " << c;
      }
    }
  }
}

TEST(SequenceGather, RangeCheckNamesValueStepAndSource) {
  View v = View::empty(DType::UInt32, {10});
  for (int64_t i = 0; i < 10; ++i) v.data_as<uint32_t>()[i] = static_cast<uint32_t>(i);
  v.data_as<uint32_t>()[6] = 70000;
  EXPECT_TRUE(nocopy::needs_range_check(DType::UInt32, DType::Int16));
  EXPECT_FALSE(nocopy::needs_range_check(DType::UInt16, DType::Int64));
  EXPECT_FALSE(nocopy::needs_range_check(DType::UInt32, DType::Float32));
  // float16: integers above 65519 in magnitude would become infinite.
  EXPECT_TRUE(nocopy::needs_range_check(DType::UInt16, DType::Float16));
  EXPECT_TRUE(nocopy::needs_range_check(DType::Int32, DType::Float16));
  EXPECT_FALSE(nocopy::needs_range_check(DType::Int16, DType::Float16));
  EXPECT_FALSE(nocopy::needs_range_check(DType::Float32, DType::Float16));
  std::array<int16_t, 5> out{};
  nocopy::convert_rows(nocopy::source_rows(v, 3, 0, 5), 3, 0, DType::Int16, true, out.data());
  EXPECT_EQ(out[4], 4);
  try {
    nocopy::convert_rows(nocopy::source_rows(v, 3, 4, 5), 3, 4, DType::Int16, true, out.data());
    FAIL() << "expected an overflow";
  } catch (const std::overflow_error& e) {
    EXPECT_NE(std::string(e.what()).find("token value 70000 at step 6 of sequence 3"),
              std::string::npos)
        << e.what();
  }
  std::array<uint16_t, 5> halves{};
  nocopy::convert_rows(nocopy::source_rows(v, 3, 0, 5), 3, 0, DType::Float16, true, halves.data());
  EXPECT_THROW(nocopy::convert_rows(nocopy::source_rows(v, 3, 4, 5), 3, 4, DType::Float16, true,
                                    halves.data()),
               std::overflow_error);
  EXPECT_THROW(nocopy::source_rows(v, 0, 6, 5), std::out_of_range);
  EXPECT_THROW(nocopy::source_rows(v, 0, -1, 2), std::out_of_range);
}

TEST(SequenceGather, PrefetchNeverFaultsAndChangesNothing) {
  // Prefetches of pages that cannot be read (PROT_NONE) or are not mapped at all are dropped.
  const long page = sysconf(_SC_PAGESIZE);
  void* none =
      mmap(nullptr, static_cast<size_t>(4 * page), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(none, MAP_FAILED);
  RowSpan unreadable{none, DType::UInt16, 2 * page, 1, 1, 1};
  nocopy::prefetch_rows(unreadable, static_cast<size_t>(8 * page));
  ASSERT_EQ(munmap(none, static_cast<size_t>(4 * page)), 0);
  nocopy::prefetch_rows(unreadable, static_cast<size_t>(8 * page));  // now unmapped
  // A readable span keeps its values; strided and empty spans are no-ops.
  const View t = table(20, 6);
  nocopy::prefetch_rows(nocopy::source_rows(t, 0, 0, 20), 4096);
  nocopy::prefetch_rows(nocopy::source_rows(t.slice(1, 1, 5), 0, 0, 20), 4096);
  nocopy::prefetch_rows(nocopy::source_rows(t, 0, 3, 0), 4096);
  EXPECT_EQ(t.data_as<uint16_t>()[19 * 6 + 5], 1905);
}
