// Sequence gather: the one pass per window of the sequence loader, rows of a source copied and
// converted to the output type straight into a batch slot, with token range checks.
#pragma once

#include <cstddef>
#include <cstdint>

#include "nocopy/core/dtype.hpp"
#include "nocopy/core/view.hpp"

namespace nocopy {

/// True when some value of integer type `from` does not fit in `to` (so each window must be
/// range checked): a narrower integer type, or float16, where integers above 65519 in magnitude
/// would become infinite. False for floating input and for wider floating output.
bool needs_range_check(DType from, DType to);

/// Consecutive rows of a 1-D or 2-D (steps, features) sequence: the first element, its dtype,
/// the counts and the element strides (a 1-D sequence has one column).
struct RowSpan {
  /// First element of the first row.
  const void* first = nullptr;
  /// Element type.
  DType dtype = DType::UInt8;
  /// Rows (steps) and columns (features) in the span.
  int64_t rows = 0, cols = 1;
  /// Element strides between rows and between columns.
  int64_t row_stride = 1, col_stride = 1;

  /// Rows [begin, begin + n) of this span (the caller keeps them inside it).
  RowSpan sub(int64_t begin, int64_t n) const;
  /// True when the span's elements lie one after the other in memory.
  bool contiguous() const { return col_stride == 1 && (rows <= 1 || row_stride == cols); }
};

/// Every row of `source` (1-D, or 2-D with features on the last axis) as one span.
RowSpan all_rows(const View& source);

/// True when rows [start, start + rows) all lie inside `source`.
bool rows_inside(const View& source, int64_t start, int64_t rows);

/// Rows [start, start + rows) of `source` (1-D, or 2-D with features on the last axis);
/// std::out_of_range naming source `source_index` when they are not all inside it.
RowSpan source_rows(const View& source, int64_t source_index, int64_t start, int64_t rows);

/// Asks the CPU to start loading the first `max_bytes` of a contiguous span into the cache
/// (software prefetch; nothing for a strided span). Random windows are bound by memory latency,
/// not bandwidth: loads issued a few windows ahead overlap those latencies (measured with
/// bench/window_reads.cpp, one thread: 1.0x to 1.4x over runs; docs/BENCHMARKS.md).
/// Never faults: a prefetch of an address that is not mapped is dropped.
void prefetch_rows(const RowSpan& span, size_t max_bytes) noexcept;

/// Writes `span` converted to `out` into the C-contiguous `dst`: one kernel call for a contiguous
/// span or a single column, one per row otherwise (core convert_elements, no planning). With
/// `check_range`, first throws std::overflow_error naming the value, its step (`first_step` + row)
/// in source `source_index` and the range of `out` when a value does not fit.
void convert_rows(const RowSpan& span, int64_t source_index, int64_t first_step, DType out,
                  bool check_range, void* dst);

}  // namespace nocopy
