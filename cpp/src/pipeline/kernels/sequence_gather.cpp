// Sequence gather: a range check over the window's integers when the output type is narrower,
// then the core's conversion kernel on the calling thread, once per contiguous run.
#include "nocopy/pipeline/kernels/sequence_gather.hpp"

#include <limits>
#include <stdexcept>
#include <string>

#include "nocopy/core/copy.hpp"

namespace nocopy {
namespace {

/// Smallest and largest integer an output dtype holds, as a (sign-aware) pair of 128-bit ints:
/// an integer dtype's range, or for float16 the integers that convert to a finite value (above
/// 65519 they round to infinity).
__extension__ using i128 = __int128;

struct Range {
  i128 lo, hi;
};

Range integer_range(DType t) {
  switch (t) {
    case DType::Int8:
      return {std::numeric_limits<int8_t>::min(), std::numeric_limits<int8_t>::max()};
    case DType::Int16:
      return {std::numeric_limits<int16_t>::min(), std::numeric_limits<int16_t>::max()};
    case DType::Int32:
      return {std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max()};
    case DType::Int64:
      return {std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()};
    case DType::UInt8:
      return {0, std::numeric_limits<uint8_t>::max()};
    case DType::UInt16:
      return {0, std::numeric_limits<uint16_t>::max()};
    case DType::UInt32:
      return {0, std::numeric_limits<uint32_t>::max()};
    case DType::UInt64:
      return {0, std::numeric_limits<uint64_t>::max()};
    case DType::Float16:
      return {-65519, 65519};
    default:
      return {0, 0};
  }
}

bool is_integer(DType t) {
  return !is_floating(t) && !is_complex(t) && t != DType::Bool;
}

std::string i128_text(i128 v) {
  if (v >= 0) return std::to_string(static_cast<unsigned long long>(v));
  return std::to_string(static_cast<long long>(v));
}

template <class T>
void check_values(const RowSpan& w, int64_t source_index, int64_t first_step, DType out) {
  const Range r = integer_range(out);
  const T* base = static_cast<const T*>(w.first);
  for (int64_t t = 0; t < w.rows; ++t) {
    const T* row = base + t * w.row_stride;
    bool bad = false;
    for (int64_t f = 0; f < w.cols; ++f) {
      const auto v = static_cast<i128>(row[f * w.col_stride]);
      bad |= (v < r.lo) | (v > r.hi);
    }
    if (!bad) continue;
    for (int64_t f = 0; f < w.cols; ++f) {
      const auto v = static_cast<i128>(row[f * w.col_stride]);
      if (v >= r.lo && v <= r.hi) continue;
      throw std::overflow_error("token value " + i128_text(v) + " at step " +
                                std::to_string(first_step + t) + " of sequence " +
                                std::to_string(source_index) + " does not fit in dtype " +
                                std::string(dtype_name(out)) + " [" + i128_text(r.lo) + ", " +
                                i128_text(r.hi) + "]; pass a wider dtype");
    }
  }
}

void check_span(const RowSpan& w, int64_t source_index, int64_t first_step, DType out) {
  switch (w.dtype) {
    case DType::Int8:
      return check_values<int8_t>(w, source_index, first_step, out);
    case DType::Int16:
      return check_values<int16_t>(w, source_index, first_step, out);
    case DType::Int32:
      return check_values<int32_t>(w, source_index, first_step, out);
    case DType::Int64:
      return check_values<int64_t>(w, source_index, first_step, out);
    case DType::UInt8:
      return check_values<uint8_t>(w, source_index, first_step, out);
    case DType::UInt16:
      return check_values<uint16_t>(w, source_index, first_step, out);
    case DType::UInt32:
      return check_values<uint32_t>(w, source_index, first_step, out);
    case DType::UInt64:
      return check_values<uint64_t>(w, source_index, first_step, out);
    default:
      return;
  }
}

}  // namespace

bool needs_range_check(DType from, DType to) {
  // Wider floating types hold every 64-bit integer's magnitude (rounded, never infinite).
  if (!is_integer(from) || (!is_integer(to) && to != DType::Float16)) return false;
  const Range a = integer_range(from);
  const Range b = integer_range(to);
  return a.lo < b.lo || a.hi > b.hi;
}

RowSpan RowSpan::sub(int64_t begin, int64_t n) const {
  RowSpan r = *this;
  r.first =
      static_cast<const char*>(first) + begin * row_stride * static_cast<int64_t>(itemsize(dtype));
  r.rows = n;
  return r;
}

RowSpan all_rows(const View& source) {
  const bool two_d = source.ndim() == 2;
  return {source.data(),       source.dtype(),
          source.shape()[0],   two_d ? source.shape()[1] : 1,
          source.strides()[0], two_d ? source.strides()[1] : 1};
}

bool rows_inside(const View& source, int64_t start, int64_t rows) {
  return start >= 0 && rows >= 0 && start <= source.shape()[0] - rows;
}

RowSpan source_rows(const View& source, int64_t source_index, int64_t start, int64_t rows) {
  if (!rows_inside(source, start, rows)) {
    throw std::out_of_range("rows [" + std::to_string(start) + ", " + std::to_string(start + rows) +
                            ") are outside sequence " + std::to_string(source_index) + " of " +
                            std::to_string(source.shape()[0]) + " steps");
  }
  return all_rows(source).sub(start, rows);
}

void prefetch_rows(const RowSpan& span, size_t max_bytes) noexcept {
  if (!span.contiguous()) return;
  const auto bytes = static_cast<size_t>(span.rows * span.cols) * itemsize(span.dtype);
  const auto* p = static_cast<const char*>(span.first);
  const size_t n = bytes < max_bytes ? bytes : max_bytes;
  for (size_t b = 0; b < n; b += 64) __builtin_prefetch(p + b);
}

void convert_rows(const RowSpan& span, int64_t source_index, int64_t first_step, DType out,
                  bool check_range, void* dst) {
  if (check_range) check_span(span, source_index, first_step, out);
  const auto in_item = static_cast<int64_t>(itemsize(span.dtype));
  const auto out_item = static_cast<int64_t>(itemsize(out));
  if (span.contiguous()) {
    convert_elements(span.first, in_item, span.dtype, dst, out_item, out, span.rows * span.cols);
    return;
  }
  if (span.cols == 1) {  // a strided 1-D sequence: one run down the rows
    convert_elements(span.first, span.row_stride * in_item, span.dtype, dst, out_item, out,
                     span.rows);
    return;
  }
  const auto* src = static_cast<const char*>(span.first);
  auto* d = static_cast<char*>(dst);
  for (int64_t t = 0; t < span.rows; ++t) {
    convert_elements(src + t * span.row_stride * in_item, span.col_stride * in_item, span.dtype,
                     d + t * span.cols * out_item, out_item, out, span.cols);
  }
}

}  // namespace nocopy
