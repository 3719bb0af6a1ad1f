// The dtype visitor: the one place a runtime DType becomes the C++ type of its elements, so that
// every kernel is written once, as a template over element types, and dispatched here.
//
// visit_dtype(t, f) calls f(dtype_tag<T>{}) with T the element type of t and returns what f
// returns. visit_dtype<DTypeSet<...>>(t, what, f) instantiates f only for the dtypes of the set
// (a kernel's supported dtypes) and throws std::invalid_argument naming `what`, the dtype and
// the set for any other. Element types: bool -> Bool8, the integers -> int8_t .. uint64_t,
// float16 -> Float16Bits, bfloat16 -> BFloat16Bits, float32 -> float, float64 -> double,
// complex64/128 -> Complex<float/double>. Bool8, Float16Bits and BFloat16Bits are opaque enums
// over their bits: complete types of the right size that no arithmetic accepts by mistake
// (cpp/src/internal/element.hpp loads, stores and converts them). Complex<T> is a plain pair
// rather than std::complex, whose loads and stores GCC routes through the stack (20x slower
// conversion loops).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <type_traits>
#include <utility>

#include "nocopy/core/dtype.hpp"

namespace nocopy {

/// A bool element: one byte, any non-zero value is true (never read as a C++ bool).
enum class Bool8 : uint8_t;
/// An IEEE binary16 (float16) element, as its bits.
enum class Float16Bits : uint16_t;
/// A bfloat16 element (the upper half of a float32), as its bits.
enum class BFloat16Bits : uint16_t;
/// A complex element: the real part, then the imaginary part (std::complex<T>'s layout).
template <class T>
struct Complex {
  /// Real part.
  T re;
  /// Imaginary part.
  T im;
};

namespace detail {

/// The element type of each dtype (specialized below, one per DType).
template <DType D>
struct DTypeElement;
template <>
struct DTypeElement<DType::Bool> {
  using type = Bool8;
};
template <>
struct DTypeElement<DType::Int8> {
  using type = int8_t;
};
template <>
struct DTypeElement<DType::Int16> {
  using type = int16_t;
};
template <>
struct DTypeElement<DType::Int32> {
  using type = int32_t;
};
template <>
struct DTypeElement<DType::Int64> {
  using type = int64_t;
};
template <>
struct DTypeElement<DType::UInt8> {
  using type = uint8_t;
};
template <>
struct DTypeElement<DType::UInt16> {
  using type = uint16_t;
};
template <>
struct DTypeElement<DType::UInt32> {
  using type = uint32_t;
};
template <>
struct DTypeElement<DType::UInt64> {
  using type = uint64_t;
};
template <>
struct DTypeElement<DType::Float16> {
  using type = Float16Bits;
};
template <>
struct DTypeElement<DType::BFloat16> {
  using type = BFloat16Bits;
};
template <>
struct DTypeElement<DType::Float32> {
  using type = float;
};
template <>
struct DTypeElement<DType::Float64> {
  using type = double;
};
template <>
struct DTypeElement<DType::Complex64> {
  using type = Complex<float>;
};
template <>
struct DTypeElement<DType::Complex128> {
  using type = Complex<double>;
};

}  // namespace detail

/// The element type of dtype D.
template <DType D>
using dtype_element_t = typename detail::DTypeElement<D>::type;

namespace detail {

/// Index of the dtype whose element type is T, or -1 when none is.
template <class T, size_t... I>
constexpr int dtype_index_of(std::index_sequence<I...>) {
  int found = -1;
  ((std::is_same_v<T, dtype_element_t<static_cast<DType>(I)>> ? (found = static_cast<int>(I)) : 0),
   ...);
  return found;
}

}  // namespace detail

/// True when T is the element type of some dtype.
template <class T>
inline constexpr bool is_dtype_element_v =
    detail::dtype_index_of<T>(std::make_index_sequence<kDTypeCount>{}) >= 0;

/// The dtype whose element type is T (the inverse of dtype_element_t).
template <class T>
requires is_dtype_element_v<T>
inline constexpr DType dtype_of_v =
    static_cast<DType>(detail::dtype_index_of<T>(std::make_index_sequence<kDTypeCount>{}));

/// What the visitor passes to its function: the element type T of the visited dtype.
template <class T>
struct dtype_tag {
  /// The element type.
  using type = T;
  /// The dtype it stores.
  static constexpr DType dtype = dtype_of_v<T>;
};

/// A set of dtypes known at compile time: the dtypes a kernel supports.
template <DType... Ds>
struct DTypeSet {
  /// The dtypes, in the order given (the order error messages list them in).
  static constexpr std::array<DType, sizeof...(Ds)> values = {Ds...};
  /// True when t is in the set.
  static constexpr bool contains(DType t) { return ((t == Ds) || ...); }
};

/// Every dtype.
using AllDTypes =
    DTypeSet<DType::Bool, DType::Int8, DType::Int16, DType::Int32, DType::Int64, DType::UInt8,
             DType::UInt16, DType::UInt32, DType::UInt64, DType::Float16, DType::BFloat16,
             DType::Float32, DType::Float64, DType::Complex64, DType::Complex128>;
/// The signed and unsigned integer dtypes (not bool).
using IntegerDTypes = DTypeSet<DType::Int8, DType::Int16, DType::Int32, DType::Int64, DType::UInt8,
                               DType::UInt16, DType::UInt32, DType::UInt64>;
/// The real floating dtypes.
using FloatingDTypes = DTypeSet<DType::Float16, DType::BFloat16, DType::Float32, DType::Float64>;

/// Throws std::invalid_argument "<what>: dtype <name> is not supported (supported: a, b, ...)";
/// a value that is no DType is named by its code.
[[noreturn]] void throw_unsupported_dtype(DType t, std::string_view what,
                                          std::span<const DType> supported);

namespace detail {

/// The result of f for the first dtype of Set (every dtype of the set must give that type).
template <class Set, class F>
using visit_result_t = decltype(std::declval<F&>()(dtype_tag<dtype_element_t<Set::values[0]>>{}));

/// One case of the visitor: f for D when Set holds it, else the unsupported-dtype error.
template <class Set, DType D, class R, class F>
[[gnu::always_inline]] inline R visit_case(std::string_view what, F& f) {
  if constexpr (Set::contains(D)) {
    return f(dtype_tag<dtype_element_t<D>>{});
  } else {
    throw_unsupported_dtype(D, what, Set::values);
  }
}

}  // namespace detail

/// Calls f(dtype_tag<T>{}) with T the element type of `t` when Set holds t; otherwise throws
/// std::invalid_argument naming `what` (the kernel or argument), the dtype and the set. f is
/// instantiated for the dtypes of Set only. This is the one switch over DType of the code base.
template <class Set = AllDTypes, class F>
detail::visit_result_t<Set, F> visit_dtype(DType t, std::string_view what, F&& f) {
  static_assert(Set::values.size() > 0, "visit_dtype needs a non-empty DTypeSet");
  using R = detail::visit_result_t<Set, F>;
  switch (t) {
    case DType::Bool:
      return detail::visit_case<Set, DType::Bool, R>(what, f);
    case DType::Int8:
      return detail::visit_case<Set, DType::Int8, R>(what, f);
    case DType::Int16:
      return detail::visit_case<Set, DType::Int16, R>(what, f);
    case DType::Int32:
      return detail::visit_case<Set, DType::Int32, R>(what, f);
    case DType::Int64:
      return detail::visit_case<Set, DType::Int64, R>(what, f);
    case DType::UInt8:
      return detail::visit_case<Set, DType::UInt8, R>(what, f);
    case DType::UInt16:
      return detail::visit_case<Set, DType::UInt16, R>(what, f);
    case DType::UInt32:
      return detail::visit_case<Set, DType::UInt32, R>(what, f);
    case DType::UInt64:
      return detail::visit_case<Set, DType::UInt64, R>(what, f);
    case DType::Float16:
      return detail::visit_case<Set, DType::Float16, R>(what, f);
    case DType::BFloat16:
      return detail::visit_case<Set, DType::BFloat16, R>(what, f);
    case DType::Float32:
      return detail::visit_case<Set, DType::Float32, R>(what, f);
    case DType::Float64:
      return detail::visit_case<Set, DType::Float64, R>(what, f);
    case DType::Complex64:
      return detail::visit_case<Set, DType::Complex64, R>(what, f);
    case DType::Complex128:
      return detail::visit_case<Set, DType::Complex128, R>(what, f);
  }
  throw_unsupported_dtype(t, what, Set::values);  // a value outside the enum
}

/// visit_dtype<Set>(t, what, f) with a generic `what` ("this operation").
template <class Set = AllDTypes, class F>
detail::visit_result_t<Set, F> visit_dtype(DType t, F&& f) {
  return visit_dtype<Set>(t, "this operation", std::forward<F>(f));
}

}  // namespace nocopy
