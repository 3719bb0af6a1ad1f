// Sequence gather: a range check over the window's integers when the output type is narrower,
// then the core's conversion kernel on the calling thread, once per contiguous run.
#include "nocopy/pipeline/kernels/sequence_gather.hpp"

#include <stdexcept>
#include <string>

#include "internal/element.hpp"
#include "nocopy/core/copy.hpp"
#include "nocopy/core/dtype_visit.hpp"

namespace nocopy {
namespace {

/// The output dtypes a window's integers are range checked against: the integers, and float16
/// (wider floating types hold every 64-bit integer's magnitude, rounded, never infinite).
using RangeCheckedOutputs =
    DTypeSet<DType::Int8, DType::Int16, DType::Int32, DType::Int64, DType::UInt8, DType::UInt16,
             DType::UInt32, DType::UInt64, DType::Float16>;

/// The integers an integer dtype or float16 holds (internal/element.hpp's integer_range).
IntegerRange integer_range_of(DType t) {
  return visit_dtype<RangeCheckedOutputs>(t, "token range check", [](auto tag) {
    return integer_range<typename decltype(tag)::type>();
  });
}

std::string i128_text(int128 v) {
  if (v >= 0) return std::to_string(static_cast<unsigned long long>(v));
  return std::to_string(static_cast<long long>(v));
}

/// Throws std::overflow_error naming the first value of the span that D does not hold.
template <class S, class D>
void check_values(const RowSpan& w, int64_t source_index, int64_t first_step) {
  constexpr IntegerRange r = integer_range<D>();
  const S* base = static_cast<const S*>(w.first);
  for (int64_t t = 0; t < w.rows; ++t) {
    const S* row = base + t * w.row_stride;
    bool bad = false;
    for (int64_t f = 0; f < w.cols; ++f) {
      const auto v = static_cast<int128>(row[f * w.col_stride]);
      bad |= (v < r.lo) | (v > r.hi);
    }
    if (!bad) continue;
    for (int64_t f = 0; f < w.cols; ++f) {
      const auto v = static_cast<int128>(row[f * w.col_stride]);
      if (v >= r.lo && v <= r.hi) continue;
      throw std::overflow_error("token value " + i128_text(v) + " at step " +
                                std::to_string(first_step + t) + " of sequence " +
                                std::to_string(source_index) + " does not fit in dtype " +
                                std::string(dtype_name(dtype_of_v<D>)) + " [" + i128_text(r.lo) +
                                ", " + i128_text(r.hi) + "]; pass a wider dtype");
    }
  }
}

/// The range check of a span of integers converted to `out`; nothing when every value fits.
void check_span(const RowSpan& w, int64_t source_index, int64_t first_step, DType out) {
  if (!needs_range_check(w.dtype, out)) return;
  visit_dtype<IntegerDTypes>(w.dtype, "token range check", [&](auto source) {
    visit_dtype<RangeCheckedOutputs>(out, "token range check", [&](auto output) {
      check_values<typename decltype(source)::type, typename decltype(output)::type>(
          w, source_index, first_step);
    });
  });
}

}  // namespace

bool needs_range_check(DType from, DType to) {
  if (!IntegerDTypes::contains(from) || !RangeCheckedOutputs::contains(to)) return false;
  const IntegerRange a = integer_range_of(from);
  const IntegerRange b = integer_range_of(to);
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
