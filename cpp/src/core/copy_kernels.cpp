// Element conversions between every pair of the 15 dtypes, as strided, multiversioned kernels.
//
// Semantics follow NumPy's astype with unsafe casting: integers wrap, anything -> bool is != 0,
// complex -> real drops the imaginary part, float64 -> float16 rounds once. Where C++ would have
// undefined behaviour (float -> integer out of range or NaN), the result is defined instead:
// truncate toward zero, saturate to the integer's range, NaN -> 0. bfloat16 goes through float32
// (like ml_dtypes). One element's conversion is cast_element (internal/element.hpp), the element
// types those of the dtype visitor. Loads and stores use memcpy, so unaligned memory is fine.
#include "copy_kernels.hpp"

#include <cstring>
#include <type_traits>

#include "internal/element.hpp"
#include "internal/multiversion.hpp"
#include "nocopy/core/dtype_visit.hpp"

namespace nocopy::detail {
namespace {

template <class T>
T load(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

template <class T>
void store(char* p, T v) {
  std::memcpy(p, &v, sizeof(T));
}

// A run of conversions; the contiguous case has its own loop so that it vectorizes.
template <class S, class D>
NOCOPY_MULTIVERSION void convert_run(const char* src, int64_t ss, char* dst, int64_t ds,
                                     int64_t n) {
  if (ss == static_cast<int64_t>(sizeof(S)) && ds == static_cast<int64_t>(sizeof(D))) {
    for (int64_t i = 0; i < n; ++i) {
      store(dst + i * static_cast<int64_t>(sizeof(D)),
            cast_element<D>(load<S>(src + i * static_cast<int64_t>(sizeof(S)))));
    }
  } else {
    for (int64_t i = 0; i < n; ++i) store(dst + i * ds, cast_element<D>(load<S>(src + i * ss)));
  }
}

// A run of same-size elements copied as bytes (same dtype, or integers of one size).
template <size_t K>
NOCOPY_MULTIVERSION void copy_run(const char* src, int64_t ss, char* dst, int64_t ds, int64_t n) {
  constexpr auto k = static_cast<int64_t>(K);
  if (ss == k && ds == k) {
    std::memcpy(dst, src, static_cast<size_t>(n * k));
  } else {
    for (int64_t i = 0; i < n; ++i) std::memcpy(dst + i * ds, src + i * ss, K);
  }
}

template <int From, int To>
constexpr ConvertKernel pick() {
  using S = dtype_element_t<static_cast<DType>(From)>;
  using D = dtype_element_t<static_cast<DType>(To)>;
  if constexpr (From == To ||
                (std::is_integral_v<S> && std::is_integral_v<D> && sizeof(S) == sizeof(D))) {
    return &copy_run<sizeof(S)>;  // identical bits: integers of one size wrap to themselves
  } else {
    return &convert_run<S, D>;
  }
}

template <int From, int... To>
constexpr void fill_row(ConvertKernel* row, std::integer_sequence<int, To...>) {
  ((row[To] = pick<From, To>()), ...);
}

template <int... From>
constexpr auto make_table(std::integer_sequence<int, From...> seq) {
  struct Table {
    ConvertKernel k[kDTypeCount][kDTypeCount];
  } t{};
  (fill_row<From>(t.k[From], seq), ...);
  return t;
}

const auto kTable = make_table(std::make_integer_sequence<int, kDTypeCount>{});

}  // namespace

ConvertKernel convert_kernel(DType from, DType to) {
  return kTable.k[static_cast<int>(from)][static_cast<int>(to)];
}

}  // namespace nocopy::detail
