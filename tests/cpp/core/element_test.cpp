// Tests of the element helpers every kernel shares: float32 loads of each real element type,
// stores with each output dtype's rounding and saturation, NumPy-like casts of one element, and
// the ranges the range checks and output limits use.
#include "internal/element.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "nocopy/core/dtype_visit.hpp"

using nocopy::BFloat16Bits;
using nocopy::Bool8;
using nocopy::cast_element;
using nocopy::Complex;
using nocopy::DType;
using nocopy::Float16Bits;
using nocopy::load_as_float;
using nocopy::store_from_float;

namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

uint8_t to_u8(float v) {
  uint8_t out = 77;
  store_from_float(&out, v);
  return out;
}

uint16_t to_half(float v) {
  Float16Bits out{};
  store_from_float(&out, v);
  return static_cast<uint16_t>(out);
}

}  // namespace

TEST(Element, TheRedeclaredTypesAreTheVisitorsTypes) {
  static_assert(std::is_same_v<nocopy::dtype_element_t<DType::Bool>, Bool8>);
  static_assert(std::is_same_v<nocopy::dtype_element_t<DType::BFloat16>, BFloat16Bits>);
  static_assert(sizeof(Bool8) == 1 && sizeof(Float16Bits) == 2 && sizeof(BFloat16Bits) == 2);
}

TEST(Element, LoadsDecodeEveryRealElementType) {
  const auto h = static_cast<Float16Bits>(0x3e00);   // 1.5
  const auto b = static_cast<BFloat16Bits>(0xc020);  // -2.5
  EXPECT_EQ(load_as_float(&h), 1.5f);
  EXPECT_EQ(load_as_float(&b), -2.5f);
  const auto inf = static_cast<Float16Bits>(0x7c00);
  EXPECT_EQ(load_as_float(&inf), kInf);
  const uint8_t u8 = 255;
  const uint16_t u16 = 65535;
  const double d = 0.1;
  EXPECT_EQ(load_as_float(&u8), 255.0f);
  EXPECT_EQ(load_as_float(&u16), 65535.0f);
  EXPECT_EQ(load_as_float(&d), 0.1f);
}

TEST(Element, Uint8StoresRoundToNearestEvenAndSaturate) {
  EXPECT_EQ(to_u8(0.5f), 0);
  EXPECT_EQ(to_u8(1.5f), 2);
  EXPECT_EQ(to_u8(2.5f), 2);
  EXPECT_EQ(to_u8(2.5001f), 3);
  EXPECT_EQ(to_u8(254.5f), 254);
  EXPECT_EQ(to_u8(254.51f), 255);
  EXPECT_EQ(to_u8(-0.4f), 0);
  EXPECT_EQ(to_u8(-3.0f), 0);
  EXPECT_EQ(to_u8(300.0f), 255);
  EXPECT_EQ(to_u8(kInf), 255);
  EXPECT_EQ(to_u8(-kInf), 0);
  EXPECT_EQ(to_u8(kNaN), 0);  // defined, like the copy kernels' float -> integer
}

TEST(Element, SixteenBitStoresRoundToNearestEvenAndKeepInfAndNaN) {
  EXPECT_EQ(to_half(1.0f), 0x3c00);
  EXPECT_EQ(to_half(1.0f + 0x1p-11f), 0x3c00);  // tie -> even
  EXPECT_EQ(to_half(65519.0f), 0x7bff);
  EXPECT_EQ(to_half(65520.0f), 0x7c00);  // overflow -> inf
  EXPECT_EQ(to_half(-kInf), 0xfc00);
  EXPECT_EQ(to_half(kNaN) & 0x7e00, 0x7e00);  // a quiet NaN
  BFloat16Bits b{};
  store_from_float(&b, 1.0f + 0x1p-7f + 0x1p-8f);
  EXPECT_EQ(static_cast<uint16_t>(b), 0x3f82);  // tie -> even
  float f = 0;
  store_from_float(&f, -0.125f);
  EXPECT_EQ(f, -0.125f);
}

TEST(Element, CastsFollowNumPysAstype) {
  EXPECT_EQ(static_cast<uint8_t>(cast_element<Bool8>(static_cast<Float16Bits>(0x8000))), 0);
  EXPECT_EQ(static_cast<uint8_t>(cast_element<Bool8>(kNaN)), 1);
  EXPECT_EQ(static_cast<uint8_t>(cast_element<Bool8>(Complex<float>{0, 2})), 1);
  EXPECT_EQ(cast_element<int32_t>(static_cast<Bool8>(7)), 1);
  EXPECT_EQ(cast_element<uint8_t>(int16_t{-1}), 255);  // wraps
  EXPECT_EQ(cast_element<int8_t>(1e10), 127);          // saturates
  EXPECT_EQ(cast_element<int8_t>(-1e10f), -128);
  EXPECT_EQ(cast_element<int64_t>(kNaN), 0);
  EXPECT_EQ(cast_element<int32_t>(-2.9), -2);  // truncates toward zero
  EXPECT_EQ(cast_element<float>(Complex<double>{1.5, 9}), 1.5f);
  const auto c = cast_element<Complex<double>>(int8_t{-3});
  EXPECT_EQ(c.re, -3.0);
  EXPECT_EQ(c.im, 0.0);
  const auto narrow = cast_element<Complex<float>>(Complex<double>{0.1, -2.5});
  EXPECT_EQ(narrow.re, 0.1f);
  EXPECT_EQ(narrow.im, -2.5f);
  // float64 -> float16 rounds once: 1 + 2^-11 + 2^-40 is above the tie, so it rounds up
  // (through float32 it would become the tie and round to even, down).
  EXPECT_EQ(static_cast<uint16_t>(cast_element<Float16Bits>(1.0 + 0x1p-11 + 0x1p-40)), 0x3c01);
  EXPECT_EQ(static_cast<uint16_t>(cast_element<BFloat16Bits>(static_cast<Float16Bits>(0x3c00))),
            0x3f80);
}

TEST(Element, RangesAndLimits) {
  constexpr auto i8 = nocopy::integer_range<int8_t>();
  static_assert(i8.lo == -128 && i8.hi == 127);
  constexpr auto u64 = nocopy::integer_range<uint64_t>();
  static_assert(u64.lo == 0 && u64.hi == static_cast<nocopy::int128>(UINT64_MAX));
  constexpr auto f16 = nocopy::integer_range<Float16Bits>();
  static_assert(f16.lo == -65519 && f16.hi == 65519);
  EXPECT_EQ(to_half(static_cast<float>(f16.hi)), 0x7bff);      // still finite
  EXPECT_EQ(to_half(static_cast<float>(f16.hi + 1)), 0x7c00);  // the first that is not
  static_assert(nocopy::largest_value<Float16Bits>() == 65504.0);
  static_assert(nocopy::largest_value<uint16_t>() == 65535.0);
  EXPECT_EQ(nocopy::largest_value<BFloat16Bits>(),
            static_cast<double>(nocopy::bfloat16_bits_to_float(0x7f7f)));
  EXPECT_EQ(nocopy::largest_value<float>(), std::numeric_limits<float>::max());
}
