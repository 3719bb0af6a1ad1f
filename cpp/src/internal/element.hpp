// Element helpers shared by every kernel, header-only and always inlined so that they vectorize
// inside the multiversioned loops:
//  - load_as_float / store_from_float: the loader kernels' float32 pipeline (the resampler and
//    the fused crop kernel read any real element as float32 and write their output dtype);
//  - cast_element: one element converted like NumPy's astype (the copy kernels);
//  - integer_range / largest_value: what an element type holds (range checks, output limits).
//
// The element types are those of nocopy/core/dtype_visit.hpp. Bool8, Float16Bits and
// BFloat16Bits are opaque enums over their bits; they are declared again here (an opaque enum
// declaration is a complete type and may be repeated) so that this helper depends on no layer.
// Complex elements are recognized by their members re and im (nocopy::Complex<T>).
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "internal/half.hpp"

namespace nocopy {

enum class Bool8 : uint8_t;
enum class Float16Bits : uint16_t;
enum class BFloat16Bits : uint16_t;

/// True for the complex element types: structs of a real part re and an imaginary part im.
template <class T>
inline constexpr bool is_complex_element_v = requires(const T& c) {
  c.re;
  c.im;
};

/// The element at p as float32: float16 and bfloat16 decoded exactly, integers and float64
/// converted (rounded to nearest). For real elements (not bool, not complex).
template <class T>
[[gnu::always_inline]] inline float load_as_float(const T* p) {
  if constexpr (std::is_same_v<T, Float16Bits>) {
    return half_bits_to_float(static_cast<uint16_t>(*p));
  } else if constexpr (std::is_same_v<T, BFloat16Bits>) {
    return bfloat16_bits_to_float(static_cast<uint16_t>(*p));
  } else {
    static_assert(std::is_arithmetic_v<T> && !std::is_same_v<T, bool>,
                  "load_as_float reads integer and floating elements");
    return static_cast<float>(*p);
  }
}

/// Stores the float32 result v at p as a T: float32 as is; float16 and bfloat16 rounded to
/// nearest even (overflow gives infinity, NaN stays a quiet NaN: internal/half.hpp); uint8
/// rounded to nearest (ties to even) and saturated to [0, 255], NaN giving 0.
template <class T>
[[gnu::always_inline]] inline void store_from_float(T* p, float v) {
  if constexpr (std::is_same_v<T, Float16Bits>) {
    *p = static_cast<Float16Bits>(float_to_half_bits(v));
  } else if constexpr (std::is_same_v<T, BFloat16Bits>) {
    *p = static_cast<BFloat16Bits>(float_to_bfloat16_bits(v));
  } else if constexpr (std::is_same_v<T, uint8_t>) {
    v = std::nearbyint(v);
    *p = static_cast<uint8_t>(v > 0.0f ? (v < 255.0f ? v : 255.0f) : 0.0f);
  } else {
    static_assert(std::is_same_v<T, float>,
                  "store_from_float writes float32, 16-bit floats, uint8");
    *p = v;
  }
}

/// True when the element is non-zero (NaN counts as non-zero, like NumPy).
template <class S>
[[gnu::always_inline]] inline bool is_nonzero(S s) {
  if constexpr (std::is_same_v<S, Bool8>) {
    return static_cast<uint8_t>(s) != 0;
  } else if constexpr (std::is_same_v<S, Float16Bits> || std::is_same_v<S, BFloat16Bits>) {
    return (static_cast<uint16_t>(s) & 0x7fffu) != 0;
  } else if constexpr (is_complex_element_v<S>) {
    return s.re != 0 || s.im != 0;
  } else {
    return s != 0;
  }
}

/// The element as a plain number: bool -> 0 or 1 (uint8_t), float16 and bfloat16 -> float,
/// complex -> its real part, anything else unchanged.
template <class S>
[[gnu::always_inline]] inline auto as_number(S s) {
  if constexpr (std::is_same_v<S, Bool8>) {
    return static_cast<uint8_t>(static_cast<uint8_t>(s) != 0);
  } else if constexpr (std::is_same_v<S, Float16Bits>) {
    return half_bits_to_float(static_cast<uint16_t>(s));
  } else if constexpr (std::is_same_v<S, BFloat16Bits>) {
    return bfloat16_bits_to_float(static_cast<uint16_t>(s));
  } else if constexpr (is_complex_element_v<S>) {
    return s.re;
  } else {
    return s;
  }
}

/// Floating -> integer I without undefined behaviour: truncation toward zero when in range,
/// else saturation to I's range; NaN gives 0.
template <class I, class F>
[[gnu::always_inline]] inline I saturating_float_to_int(F v) {
  constexpr F lo = static_cast<F>(std::numeric_limits<I>::min()) - F(1);          // exclusive bound
  constexpr F hi = F(2) * static_cast<F>(std::numeric_limits<I>::max() / 2 + 1);  // 2^bits
  // Branch-free so the loops vectorize: only in-range values reach the cast; NaN fails every
  // comparison and ends as 0.
  I r = static_cast<I>(v > lo && v < hi ? v : F(0));
  r = v >= hi ? std::numeric_limits<I>::max() : r;
  return v <= lo ? std::numeric_limits<I>::min() : r;
}

/// One element of type S as type D, like NumPy's astype with unsafe casting: integers wrap,
/// anything -> bool is != 0, complex -> real drops the imaginary part, float -> integer
/// saturates (NaN -> 0), float64 -> float16 rounds once, bfloat16 goes through float32.
template <class D, class S>
[[gnu::always_inline]] inline D cast_element(S s) {
  if constexpr (std::is_same_v<D, Bool8>) {
    return static_cast<Bool8>(static_cast<uint8_t>(is_nonzero(s)));
  } else if constexpr (is_complex_element_v<D>) {
    using T = decltype(D::re);
    if constexpr (is_complex_element_v<S>) {
      return D{static_cast<T>(s.re), static_cast<T>(s.im)};
    } else {
      return D{static_cast<T>(as_number(s)), T(0)};
    }
  } else {
    const auto v = as_number(s);
    using V = std::remove_cv_t<decltype(v)>;
    if constexpr (std::is_same_v<D, Float16Bits>) {
      if constexpr (std::is_same_v<V, double>) {
        return static_cast<Float16Bits>(double_to_half_bits(v));
      } else {
        return static_cast<Float16Bits>(float_to_half_bits(static_cast<float>(v)));
      }
    } else if constexpr (std::is_same_v<D, BFloat16Bits>) {
      return static_cast<BFloat16Bits>(float_to_bfloat16_bits(static_cast<float>(v)));
    } else if constexpr (std::is_floating_point_v<D>) {
      return static_cast<D>(v);
    } else if constexpr (std::is_floating_point_v<V>) {
      return saturating_float_to_int<D>(v);
    } else {
      return static_cast<D>(v);  // integer -> integer wraps (defined since C++20)
    }
  }
}

/// A signed 128-bit integer: holds every int64 and uint64 value.
__extension__ using int128 = __int128;

/// A closed range of integers [lo, hi].
struct IntegerRange {
  int128 lo, hi;
};

/// The integers an integer element type holds; for float16 the integers that convert to a
/// finite value (above 65519 in magnitude they round to infinity).
template <class T>
constexpr IntegerRange integer_range() {
  if constexpr (std::is_same_v<T, Float16Bits>) {
    return {-65519, 65519};
  } else {
    static_assert(std::is_integral_v<T> && !std::is_same_v<T, bool>, "integer_range of integers");
    return {std::numeric_limits<T>::min(), std::numeric_limits<T>::max()};
  }
}

/// The largest finite value of a real element type, as a double (65504 for float16).
template <class T>
constexpr double largest_value() {
  if constexpr (std::is_same_v<T, Float16Bits>) {
    return 65504.0;
  } else if constexpr (std::is_same_v<T, BFloat16Bits>) {
    return 3.3895313892515355e38;
  } else {
    static_assert(std::is_arithmetic_v<T>, "largest_value of a real element type");
    return static_cast<double>(std::numeric_limits<T>::max());
  }
}

}  // namespace nocopy
