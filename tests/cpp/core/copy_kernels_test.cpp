// Tests of the element conversions behind nocopy::copy: NumPy's casting rules, the defined
// results where C++ would be undefined (float -> int), and float64 -> float16 single rounding.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "internal/half.hpp"
#include "nocopy/core/copy.hpp"

using nocopy::DType;
using nocopy::View;

namespace {

// Converts the elements stored in `in` (raw S values, dtype `from`) to dtype `to` with
// nocopy::copy and returns the result's raw D values.
template <class D, class S>
std::vector<D> convert(const std::vector<S>& in, DType from, DType to) {
  const int64_t n = static_cast<int64_t>(in.size() * sizeof(S) / nocopy::itemsize(from));
  const View src = View::empty(from, {n});
  std::memcpy(src.data(), in.data(), in.size() * sizeof(S));
  const View dst = nocopy::copy_new(src, to, 1);
  std::vector<D> out(static_cast<size_t>(dst.nbytes()) / sizeof(D));
  std::memcpy(out.data(), dst.data(), out.size() * sizeof(D));
  return out;
}

// Independent reference for float -> integer: truncate, saturate, NaN -> 0 (long double is exact
// for every 64-bit integer bound).
template <class I>
I reference_float_to_int(long double v) {
  if (std::isnan(v)) return 0;
  const long double t = std::trunc(v);
  if (t <= static_cast<long double>(std::numeric_limits<I>::min())) {
    return std::numeric_limits<I>::min();
  }
  if (t >= static_cast<long double>(std::numeric_limits<I>::max())) {
    return std::numeric_limits<I>::max();
  }
  return static_cast<I>(t);
}

const std::vector<double> kAwkward = {0.0,
                                      -0.0,
                                      0.5,
                                      -0.5,
                                      0.999,
                                      -0.999,
                                      1.9,
                                      -1.9,
                                      127.9,
                                      128.0,
                                      -128.9,
                                      -129.0,
                                      255.5,
                                      256.0,
                                      32767.5,
                                      32768.0,
                                      -32769.0,
                                      65535.9,
                                      65536.0,
                                      2147483647.0,
                                      2147483648.0,
                                      -2147483648.0,
                                      -2147483649.0,
                                      4294967295.5,
                                      4294967296.0,
                                      9.2233720368547748e18,
                                      9.2233720368547758e18,
                                      -9.2233720368547758e18,
                                      -9.3e18,
                                      1.8446744073709550e19,
                                      1.8446744073709552e19,
                                      1e30,
                                      -1e30,
                                      std::numeric_limits<double>::infinity(),
                                      -std::numeric_limits<double>::infinity(),
                                      std::numeric_limits<double>::quiet_NaN(),
                                      -std::numeric_limits<double>::quiet_NaN()};

template <class I>
void check_float_to_int(DType to) {
  const auto from64 = convert<I>(kAwkward, DType::Float64, to);
  std::vector<float> f32(kAwkward.begin(), kAwkward.end());
  const auto from32 = convert<I>(f32, DType::Float32, to);
  std::vector<uint16_t> f16;
  for (double d : kAwkward) f16.push_back(nocopy::double_to_half_bits(d));
  const auto from16 = convert<I>(f16, DType::Float16, to);
  for (size_t i = 0; i < kAwkward.size(); ++i) {
    EXPECT_EQ(from64[i], reference_float_to_int<I>(kAwkward[i])) << kAwkward[i];
    EXPECT_EQ(from32[i], reference_float_to_int<I>(f32[i])) << f32[i];
    EXPECT_EQ(from16[i], reference_float_to_int<I>(nocopy::half_bits_to_float(f16[i])));
  }
}

}  // namespace

TEST(Convert, FloatToIntTruncatesSaturatesAndMapsNanToZero) {
  check_float_to_int<int8_t>(DType::Int8);
  check_float_to_int<int16_t>(DType::Int16);
  check_float_to_int<int32_t>(DType::Int32);
  check_float_to_int<int64_t>(DType::Int64);
  check_float_to_int<uint8_t>(DType::UInt8);
  check_float_to_int<uint16_t>(DType::UInt16);
  check_float_to_int<uint32_t>(DType::UInt32);
  check_float_to_int<uint64_t>(DType::UInt64);
}

TEST(Convert, IntegersWrapLikeNumpy) {
  EXPECT_EQ((convert<int8_t, int64_t>({300, -129, 127}, DType::Int64, DType::Int8)),
            (std::vector<int8_t>{44, 127, 127}));
  EXPECT_EQ((convert<uint64_t, int8_t>({-1, 5}, DType::Int8, DType::UInt64)),
            (std::vector<uint64_t>{UINT64_MAX, 5}));
  EXPECT_EQ((convert<int32_t, uint32_t>({0xffffffffu, 7}, DType::UInt32, DType::Int32)),
            (std::vector<int32_t>{-1, 7}));
  EXPECT_EQ((convert<uint16_t, int32_t>({70000, -1}, DType::Int32, DType::UInt16)),
            (std::vector<uint16_t>{70000 - 65536, 65535}));
}

TEST(Convert, BoolIsNonZero) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ((convert<uint8_t, double>({0.0, -0.0, 0.1, nan, -2.0}, DType::Float64, DType::Bool)),
            (std::vector<uint8_t>{0, 0, 1, 1, 1}));
  // complex64 pairs (re, im): (0, 0), (0, 1), (2, 0)
  EXPECT_EQ((convert<uint8_t, float>({0, 0, 0, 1, 2, 0}, DType::Complex64, DType::Bool)),
            (std::vector<uint8_t>{0, 1, 1}));
  EXPECT_EQ(
      (convert<uint8_t, uint16_t>({0x0000, 0x8000, 0x0001, 0x7e00}, DType::Float16, DType::Bool)),
      (std::vector<uint8_t>{0, 0, 1, 1}));
  // A bool byte other than 0/1 still reads as true.
  EXPECT_EQ((convert<int32_t, uint8_t>({0, 1, 2}, DType::Bool, DType::Int32)),
            (std::vector<int32_t>{0, 1, 1}));
  EXPECT_EQ((convert<float, uint8_t>({0, 1}, DType::Bool, DType::Float32)),
            (std::vector<float>{0.f, 1.f}));
}

TEST(Convert, ComplexToRealTakesRealPartAndRealToComplexHasZeroImag) {
  EXPECT_EQ((convert<double, double>({1.5, -2.0, -3.25, 4.0}, DType::Complex128, DType::Float64)),
            (std::vector<double>{1.5, -3.25}));
  EXPECT_EQ((convert<int16_t, float>({-7.9f, 9.0f}, DType::Complex64, DType::Int16)),
            (std::vector<int16_t>{-7}));
  EXPECT_EQ((convert<double, float>({1.5f, -2.5f}, DType::Complex64, DType::Complex128)),
            (std::vector<double>{1.5, -2.5}));
  EXPECT_EQ((convert<float, int32_t>({3, -4}, DType::Int32, DType::Complex64)),
            (std::vector<float>{3.f, 0.f, -4.f, 0.f}));
}

TEST(Convert, DoubleToHalfRoundsOnce) {
  // Every finite half value, and every midpoint between neighbours, from double directly.
  for (uint32_t h = 0; h < 0x7c00; ++h) {
    const double d = nocopy::half_bits_to_float(static_cast<uint16_t>(h));
    ASSERT_EQ(nocopy::double_to_half_bits(d), h);
    ASSERT_EQ(nocopy::double_to_half_bits(-d), h | 0x8000u);
    if (h + 1 < 0x7c00) {
      const double next = nocopy::half_bits_to_float(static_cast<uint16_t>(h + 1));
      const double mid = (d + next) / 2;  // exact in double
      const uint32_t even = (h & 1) ? h + 1 : h;
      ASSERT_EQ(nocopy::double_to_half_bits(mid), even) << h;
      ASSERT_EQ(nocopy::double_to_half_bits(std::nextafter(mid, 0.0)), h) << h;
      ASSERT_EQ(nocopy::double_to_half_bits(std::nextafter(mid, 1e9)), h + 1) << h;
    }
  }
  // Just above a tie in double, but a tie once rounded to float32: one rounding goes up.
  EXPECT_EQ(nocopy::double_to_half_bits(1.0 + 0x1p-11 + 0x1p-40), 0x3c01);
  EXPECT_EQ(nocopy::float_to_half_bits(static_cast<float>(1.0 + 0x1p-11 + 0x1p-40)), 0x3c00);
  EXPECT_EQ(nocopy::double_to_half_bits(65519.99), 0x7bff);
  EXPECT_EQ(nocopy::double_to_half_bits(65520.0), 0x7c00);
  EXPECT_EQ(nocopy::double_to_half_bits(-1e300), 0xfc00);
  EXPECT_EQ(nocopy::double_to_half_bits(1e-300), 0x0000);
  EXPECT_EQ(nocopy::double_to_half_bits(-std::numeric_limits<double>::infinity()), 0xfc00);
  const uint16_t nan = nocopy::double_to_half_bits(std::numeric_limits<double>::quiet_NaN());
  EXPECT_EQ(nan & 0x7c00u, 0x7c00u);
  EXPECT_NE(nan & 0x3ffu, 0u);
  // Values exact in float32 agree with the float32 path.
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(-70000.f, 70000.f);
  for (int i = 0; i < 100000; ++i) {
    const float f = dist(rng) * (i % 2 ? 1.f : 1e-5f);
    ASSERT_EQ(nocopy::double_to_half_bits(f), nocopy::float_to_half_bits(f)) << f;
  }
}

TEST(Convert, Float64ToFloat16CopyUsesSingleRounding) {
  const std::vector<double> in = {1.0 + 0x1p-11 + 0x1p-40, 0.1, -65504.0, 1e-8, 3.14159};
  const auto out = convert<uint16_t>(in, DType::Float64, DType::Float16);
  for (size_t i = 0; i < in.size(); ++i) EXPECT_EQ(out[i], nocopy::double_to_half_bits(in[i]));
  const auto c = convert<uint16_t>(std::vector<double>{1.0 + 0x1p-11 + 0x1p-40, 5.0},
                                   DType::Complex128, DType::Float16);
  EXPECT_EQ(c[0], 0x3c01);
}

TEST(Convert, IntToHalfAndBFloat16) {
  EXPECT_EQ((convert<uint16_t, int32_t>({65504, 65519, 65520, -70000, 2049}, DType::Int32,
                                        DType::Float16)),
            (std::vector<uint16_t>{0x7bff, 0x7bff, 0x7c00, 0xfc00, 0x6800}));
  EXPECT_EQ((convert<uint16_t, int64_t>({257, 1, -3}, DType::Int64, DType::BFloat16)),
            (std::vector<uint16_t>{0x4380, 0x3f80, 0xc040}));
  EXPECT_EQ((convert<uint16_t, double>({1.0 + 0x1p-8 + 0x1p-30}, DType::Float64, DType::BFloat16)),
            (std::vector<uint16_t>{0x3f80}));  // via float32 (a tie there), like ml_dtypes
  EXPECT_EQ((convert<float, uint16_t>({0x3c01, 0xfc00}, DType::Float16, DType::Float32)),
            (std::vector<float>{1.0f + 0x1p-10f, -std::numeric_limits<float>::infinity()}));
  EXPECT_EQ((convert<uint16_t, uint16_t>({0x3c00, 0x4000}, DType::Float16, DType::BFloat16)),
            (std::vector<uint16_t>{0x3f80, 0x4000}));
}
