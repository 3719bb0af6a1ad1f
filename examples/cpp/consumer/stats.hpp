// Statistics of any nocopy::View (count, mean, min, max), reading elements through its strides.
//
// Works for every real dtype (complex views are refused) and any layout: sliced, cropped,
// permuted or flipped views are read in place, without a contiguous copy.
#pragma once

#include <cstdint>
#include <limits>
#include <nocopy/core/copy.hpp>
#include <nocopy/core/view.hpp>
#include <stdexcept>
#include <string>
#include <vector>

namespace example {

/// Summary of a view's elements; mean/min/max are NaN for an empty view.
struct Stats {
  int64_t count = 0;
  double mean = std::numeric_limits<double>::quiet_NaN();
  double min = std::numeric_limits<double>::quiet_NaN();
  double max = std::numeric_limits<double>::quiet_NaN();
};

/// Calls f(const T*) for every element of `v` in row-major order, following its strides.
template <class T, class F>
void for_each_element(const nocopy::View& v, F&& f) {
  if (v.size() == 0) return;
  const auto& shape = v.shape();
  const auto& strides = v.strides();
  const int64_t nd = v.ndim();
  std::vector<int64_t> idx(static_cast<size_t>(nd), 0);
  const T* p = v.data_as<const T>();
  for (;;) {
    f(p);
    int64_t axis = nd - 1;
    for (; axis >= 0; --axis) {  // odometer increment of the multi-index
      const auto a = static_cast<size_t>(axis);
      p += strides[a];
      if (++idx[a] < shape[a]) break;
      p -= strides[a] * shape[a];
      idx[a] = 0;
    }
    if (axis < 0) return;
  }
}

/// Accumulates count/mean/min/max of elements converted to double by `to_double`.
template <class T, class Conv>
Stats stats_as(const nocopy::View& v, Conv to_double) {
  Stats s;
  double sum = 0;
  for_each_element<T>(v, [&](const T* p) {
    const double x = to_double(*p);
    if (s.count == 0 || x < s.min) s.min = x;
    if (s.count == 0 || x > s.max) s.max = x;
    sum += x;
    ++s.count;
  });
  if (s.count > 0) s.mean = sum / static_cast<double>(s.count);
  return s;
}

/// Statistics of a host view of any real dtype; std::invalid_argument for complex dtypes.
inline Stats compute_stats(const nocopy::View& v) {
  using nocopy::DType;
  v.require_host("compute_stats");
  auto plain = [](auto x) { return static_cast<double>(x); };
  switch (v.dtype()) {
    case DType::Bool:
      return stats_as<bool>(v, plain);
    case DType::Int8:
      return stats_as<int8_t>(v, plain);
    case DType::Int16:
      return stats_as<int16_t>(v, plain);
    case DType::Int32:
      return stats_as<int32_t>(v, plain);
    case DType::Int64:
      return stats_as<int64_t>(v, plain);
    case DType::UInt8:
      return stats_as<uint8_t>(v, plain);
    case DType::UInt16:
      return stats_as<uint16_t>(v, plain);
    case DType::UInt32:
      return stats_as<uint32_t>(v, plain);
    case DType::UInt64:
      return stats_as<uint64_t>(v, plain);
    case DType::Float32:
      return stats_as<float>(v, plain);
    case DType::Float64:
      return stats_as<double>(v, plain);
    case DType::Float16:
    case DType::BFloat16:  // 16-bit floats: one explicit converting copy, then as float32
      return compute_stats(nocopy::copy_new(v, DType::Float32));
    case DType::Complex64:
    case DType::Complex128:
      break;
  }
  throw std::invalid_argument("compute_stats: complex dtype " +
                              std::string(nocopy::dtype_name(v.dtype())) + " has no order");
}

}  // namespace example
