// Sequence gather: a range check over the window's integers when the output type is narrower,
// then the core's strided converting copy on the calling thread.
#include "nocopy/pipeline/sequence_gather.hpp"

#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "nocopy/core/copy.hpp"

namespace nocopy {
namespace {

/// Smallest and largest value of an integer dtype, as a (sign-aware) pair of 128-bit ints.
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
void check_values(const View& w, int64_t source_index, int64_t start, DType out) {
  const Range r = integer_range(out);
  const int64_t rows = w.shape()[0];
  const int64_t cols = w.ndim() == 2 ? w.shape()[1] : 1;
  const int64_t s0 = w.strides()[0];
  const int64_t s1 = w.ndim() == 2 ? w.strides()[1] : 0;
  const T* base = w.data_as<const T>();
  for (int64_t t = 0; t < rows; ++t) {
    const T* row = base + t * s0;
    bool bad = false;
    for (int64_t f = 0; f < cols; ++f) {
      const auto v = static_cast<i128>(row[f * s1]);
      bad |= (v < r.lo) | (v > r.hi);
    }
    if (!bad) continue;
    for (int64_t f = 0; f < cols; ++f) {
      const auto v = static_cast<i128>(row[f * s1]);
      if (v >= r.lo && v <= r.hi) continue;
      throw std::overflow_error("token value " + i128_text(v) + " at step " +
                                std::to_string(start + t) + " of sequence " +
                                std::to_string(source_index) + " does not fit in dtype " +
                                std::string(dtype_name(out)) + " [" + i128_text(r.lo) + ", " +
                                i128_text(r.hi) + "]; pass a wider dtype");
    }
  }
}

}  // namespace

bool needs_range_check(DType from, DType to) {
  if (!is_integer(from) || !is_integer(to)) return false;
  const Range a = integer_range(from);
  const Range b = integer_range(to);
  return a.lo < b.lo || a.hi > b.hi;
}

void gather_rows(const View& source, int64_t source_index, int64_t start, int64_t rows, DType out,
                 bool check_range, void* dst) {
  if (start < 0 || rows < 0 || start > source.shape()[0] - rows) {
    throw std::out_of_range("rows [" + std::to_string(start) + ", " + std::to_string(start + rows) +
                            ") are outside sequence " + std::to_string(source_index) + " of " +
                            std::to_string(source.shape()[0]) + " steps");
  }
  // The window as a view without an owner: the loader holds the source alive, and skipping the
  // shared owner keeps worker threads off one reference count.
  std::vector<int64_t> shape = source.shape();
  shape[0] = rows;
  const char* first = static_cast<const char*>(source.data()) +
                      start * source.strides()[0] * static_cast<int64_t>(source.itemsize());
  const View w(const_cast<char*>(first), source.dtype(), std::move(shape), source.strides(),
               nullptr, true);
  if (check_range) {
    switch (w.dtype()) {
      case DType::Int8:
        check_values<int8_t>(w, source_index, start, out);
        break;
      case DType::Int16:
        check_values<int16_t>(w, source_index, start, out);
        break;
      case DType::Int32:
        check_values<int32_t>(w, source_index, start, out);
        break;
      case DType::Int64:
        check_values<int64_t>(w, source_index, start, out);
        break;
      case DType::UInt8:
        check_values<uint8_t>(w, source_index, start, out);
        break;
      case DType::UInt16:
        check_values<uint16_t>(w, source_index, start, out);
        break;
      case DType::UInt32:
        check_values<uint32_t>(w, source_index, start, out);
        break;
      case DType::UInt64:
        check_values<uint64_t>(w, source_index, start, out);
        break;
      default:
        break;
    }
  }
  const View d = View::c_contiguous(dst, out, w.shape(), nullptr);
  copy(w, d, 1);
}

}  // namespace nocopy
