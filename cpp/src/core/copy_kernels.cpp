// Element conversions between every pair of the 15 dtypes, as strided, multiversioned kernels.
//
// Semantics follow NumPy's astype with unsafe casting: integers wrap, anything -> bool is != 0,
// complex -> real drops the imaginary part, float64 -> float16 rounds once. Where C++ would have
// undefined behaviour (float -> integer out of range or NaN), the result is defined instead:
// truncate toward zero, saturate to the integer's range, NaN -> 0. bfloat16 goes through float32
// (like ml_dtypes). Loads and stores use memcpy, so unaligned memory is fine.
#include "copy_kernels.hpp"

#include <cstring>
#include <limits>
#include <type_traits>

#include "internal/half.hpp"
#include "internal/multiversion.hpp"

namespace nocopy::detail {
namespace {

// Storage types of the non-arithmetic dtypes.
struct Bool8 {
  uint8_t v;
};
struct Half {
  uint16_t bits;
};
struct BF16 {
  uint16_t bits;
};
template <class T>
struct Cplx {
  T re, im;
};

template <class T>
inline constexpr bool is_cplx = false;
template <class T>
inline constexpr bool is_cplx<Cplx<T>> = true;

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

// True when the element is non-zero (NaN counts as non-zero, like NumPy).
template <class S>
bool nonzero(S s) {
  if constexpr (std::is_same_v<S, Bool8>) {
    return s.v != 0;
  } else if constexpr (std::is_same_v<S, Half>) {
    return (s.bits & 0x7fffu) != 0;
  } else if constexpr (std::is_same_v<S, BF16>) {
    return (s.bits & 0x7fffu) != 0;
  } else if constexpr (is_cplx<S>) {
    return s.re != 0 || s.im != 0;
  } else {
    return s != 0;
  }
}

// The element as a plain arithmetic value: bool -> 0/1, half types -> float, complex -> real.
template <class S>
auto arith(S s) {
  if constexpr (std::is_same_v<S, Bool8>) {
    return static_cast<uint8_t>(s.v != 0);
  } else if constexpr (std::is_same_v<S, Half>) {
    return half_bits_to_float(s.bits);
  } else if constexpr (std::is_same_v<S, BF16>) {
    return bfloat16_bits_to_float(s.bits);
  } else if constexpr (is_cplx<S>) {
    return s.re;
  } else {
    return s;
  }
}

// Float -> integer without undefined behaviour: truncation when in range, else saturation, NaN 0.
template <class I, class F>
I float_to_int(F v) {
  constexpr F lo = static_cast<F>(std::numeric_limits<I>::min()) - F(1);          // exclusive bound
  constexpr F hi = F(2) * static_cast<F>(std::numeric_limits<I>::max() / 2 + 1);  // 2^bits
  // Branch-free so the loops vectorize: only in-range values reach the cast; NaN fails every
  // comparison and ends as 0.
  I r = static_cast<I>(v > lo && v < hi ? v : F(0));
  r = v >= hi ? std::numeric_limits<I>::max() : r;
  return v <= lo ? std::numeric_limits<I>::min() : r;
}

// One element of type S as type D.
template <class D, class S>
D convert_value(S s) {
  if constexpr (std::is_same_v<D, Bool8>) {
    return Bool8{static_cast<uint8_t>(nonzero(s))};
  } else if constexpr (is_cplx<D>) {
    using T = decltype(D::re);
    if constexpr (is_cplx<S>) {
      return D{static_cast<T>(s.re), static_cast<T>(s.im)};
    } else {
      return D{static_cast<T>(arith(s)), T(0)};
    }
  } else {
    const auto v = arith(s);
    using V = std::remove_cv_t<decltype(v)>;
    if constexpr (std::is_same_v<D, Half>) {
      if constexpr (std::is_same_v<V, double>) {
        return Half{double_to_half_bits(v)};
      } else {
        return Half{float_to_half_bits(static_cast<float>(v))};
      }
    } else if constexpr (std::is_same_v<D, BF16>) {
      return BF16{float_to_bfloat16_bits(static_cast<float>(v))};
    } else if constexpr (std::is_floating_point_v<D>) {
      return static_cast<D>(v);
    } else if constexpr (std::is_floating_point_v<V>) {
      return float_to_int<D>(v);
    } else {
      return static_cast<D>(v);  // integer -> integer wraps (defined since C++20)
    }
  }
}

// A run of conversions; the contiguous case has its own loop so that it vectorizes.
template <class S, class D>
NOCOPY_MULTIVERSION void convert_run(const char* src, int64_t ss, char* dst, int64_t ds,
                                     int64_t n) {
  if (ss == static_cast<int64_t>(sizeof(S)) && ds == static_cast<int64_t>(sizeof(D))) {
    for (int64_t i = 0; i < n; ++i) {
      store(dst + i * static_cast<int64_t>(sizeof(D)),
            convert_value<D>(load<S>(src + i * static_cast<int64_t>(sizeof(S)))));
    }
  } else {
    for (int64_t i = 0; i < n; ++i) store(dst + i * ds, convert_value<D>(load<S>(src + i * ss)));
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

// The storage type of each dtype, in DType order.
template <DType T>
struct Storage;
template <>
struct Storage<DType::Bool> {
  using type = Bool8;
};
template <>
struct Storage<DType::Int8> {
  using type = int8_t;
};
template <>
struct Storage<DType::Int16> {
  using type = int16_t;
};
template <>
struct Storage<DType::Int32> {
  using type = int32_t;
};
template <>
struct Storage<DType::Int64> {
  using type = int64_t;
};
template <>
struct Storage<DType::UInt8> {
  using type = uint8_t;
};
template <>
struct Storage<DType::UInt16> {
  using type = uint16_t;
};
template <>
struct Storage<DType::UInt32> {
  using type = uint32_t;
};
template <>
struct Storage<DType::UInt64> {
  using type = uint64_t;
};
template <>
struct Storage<DType::Float16> {
  using type = Half;
};
template <>
struct Storage<DType::BFloat16> {
  using type = BF16;
};
template <>
struct Storage<DType::Float32> {
  using type = float;
};
template <>
struct Storage<DType::Float64> {
  using type = double;
};
template <>
struct Storage<DType::Complex64> {
  using type = Cplx<float>;
};
template <>
struct Storage<DType::Complex128> {
  using type = Cplx<double>;
};

template <int From, int To>
constexpr ConvertKernel pick() {
  using S = typename Storage<static_cast<DType>(From)>::type;
  using D = typename Storage<static_cast<DType>(To)>::type;
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
