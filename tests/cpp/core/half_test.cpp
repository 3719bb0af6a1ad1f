// Tests of the float16 / bfloat16 conversions: exhaustive round trips and rounding edge cases.
#include "internal/half.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

using nocopy::bfloat16_bits_to_float;
using nocopy::float_to_bfloat16_bits;
using nocopy::float_to_half_bits;
using nocopy::half_bits_to_float;

TEST(Half, EveryHalfRoundTrips) {
  for (uint32_t h = 0; h <= 0xffff; ++h) {
    const float f = half_bits_to_float(static_cast<uint16_t>(h));
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(half_bits_to_float(float_to_half_bits(f)))) << h;
    } else {
      EXPECT_EQ(float_to_half_bits(f), h) << h;
    }
  }
}

TEST(Half, RoundsToNearestEvenAndOverflows) {
  EXPECT_EQ(float_to_half_bits(1.0f), 0x3c00);
  EXPECT_EQ(float_to_half_bits(65504.0f), 0x7bff);
  EXPECT_EQ(float_to_half_bits(65519.0f), 0x7bff);
  EXPECT_EQ(float_to_half_bits(65520.0f), 0x7c00);
  EXPECT_EQ(float_to_half_bits(-1e10f), 0xfc00);
  // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: ties to even (1.0).
  EXPECT_EQ(float_to_half_bits(1.0f + 0x1p-11f), 0x3c00);
  EXPECT_EQ(float_to_half_bits(1.0f + 3 * 0x1p-11f), 0x3c02);
  EXPECT_EQ(float_to_half_bits(0x1p-24f), 0x0001);  // smallest subnormal
  EXPECT_EQ(float_to_half_bits(0x1p-25f), 0x0000);  // tie -> even (0)
  EXPECT_EQ(float_to_half_bits(0x1.8p-25f), 0x0001);
  EXPECT_EQ(float_to_half_bits(-0.0f), 0x8000);
  EXPECT_TRUE(
      std::isnan(half_bits_to_float(float_to_half_bits(std::numeric_limits<float>::quiet_NaN()))));
}

TEST(BFloat16, EveryValueRoundTripsAndRounds) {
  for (uint32_t b = 0; b <= 0xffff; ++b) {
    const float f = bfloat16_bits_to_float(static_cast<uint16_t>(b));
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(bfloat16_bits_to_float(float_to_bfloat16_bits(f))));
    } else {
      EXPECT_EQ(float_to_bfloat16_bits(f), b);
    }
  }
  EXPECT_EQ(float_to_bfloat16_bits(1.0f + 0x1p-8f), 0x3f80);  // tie -> even
  EXPECT_EQ(float_to_bfloat16_bits(1.0f + 0x1p-7f + 0x1p-8f), 0x3f82);
  EXPECT_EQ(float_to_bfloat16_bits(std::numeric_limits<float>::max()), 0x7f80);  // inf
}
