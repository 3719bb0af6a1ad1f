// Tests of the colour operators' invariants: identity parameters, involutions, flat images,
// the stretch of autocontrast, saturation 0 as grayscale, parameter checks. Agreement with the
// reference, value by value, is tested from Python (tests/python/unit/test_color_ops.py).
#include "nocopy/pipeline/kernels/color_ops.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <vector>

using nocopy::ColorScratch;
using nocopy::ImageU8;

namespace {

/// An image's pixels with its shape.
struct Pixels {
  std::vector<uint8_t> values;
  int64_t height, width, channels;
  ImageU8 image() { return {values.data(), height, width, channels}; }
};

/// Random pixels of the given shape (fixed seed).
Pixels random_pixels(int64_t height, int64_t width, int64_t channels, uint32_t seed = 7) {
  std::mt19937 gen(seed);
  std::uniform_int_distribution<int> dist(0, 255);
  Pixels p{std::vector<uint8_t>(static_cast<size_t>(height * width * channels)), height, width,
           channels};
  for (uint8_t& v : p.values) v = static_cast<uint8_t>(dist(gen));
  return p;
}

/// Pixels all equal to `value`.
Pixels flat_pixels(int64_t height, int64_t width, int64_t channels, uint8_t value) {
  return {std::vector<uint8_t>(static_cast<size_t>(height * width * channels), value), height,
          width, channels};
}

/// The shapes every invariant is checked on (odd sizes, 1 and 3 channels).
const std::vector<std::array<int64_t, 3>> kShapes = {{1, 1, 1}, {7, 5, 1}, {13, 17, 3}, {4, 3, 3}};

}  // namespace

TEST(ColorOps, IdentityFactorsLeaveTheImageUnchanged) {
  ColorScratch scratch;
  for (const auto& s : kShapes) {
    Pixels p = random_pixels(s[0], s[1], s[2]);
    const std::vector<uint8_t> before = p.values;
    nocopy::adjust_brightness(p.image(), 1.0);
    nocopy::adjust_contrast(p.image(), 1.0);
    nocopy::adjust_saturation(p.image(), 1.0);
    nocopy::adjust_sharpness(p.image(), 1.0, scratch);
    nocopy::posterize(p.image(), 8);
    EXPECT_EQ(p.values, before) << s[0] << "x" << s[1] << "x" << s[2];
  }
}

TEST(ColorOps, InvertIsAnInvolutionAndSolarizeAtZeroInverts) {
  for (const auto& s : kShapes) {
    Pixels p = random_pixels(s[0], s[1], s[2]);
    const std::vector<uint8_t> before = p.values;
    nocopy::invert(p.image());
    for (size_t i = 0; i < before.size(); ++i) ASSERT_EQ(p.values[i], 255 - before[i]);
    nocopy::solarize(p.image(), 0.0);
    EXPECT_EQ(p.values, before);
  }
}

TEST(ColorOps, SolarizeInvertsExactlyTheValuesAtOrAboveTheThreshold) {
  Pixels p = random_pixels(9, 11, 3);
  const std::vector<uint8_t> before = p.values;
  nocopy::solarize(p.image(), 127.5);
  for (size_t i = 0; i < before.size(); ++i) {
    ASSERT_EQ(p.values[i], before[i] >= 128 ? 255 - before[i] : before[i]);
  }
}

TEST(ColorOps, PosterizeKeepsTheHighBits) {
  for (int bits = 0; bits <= 8; ++bits) {
    Pixels p = random_pixels(5, 7, 3);
    const std::vector<uint8_t> before = p.values;
    nocopy::posterize(p.image(), bits);
    const int drop = 8 - bits;
    for (size_t i = 0; i < before.size(); ++i) {
      ASSERT_EQ(p.values[i], (before[i] >> drop) << drop) << bits;
    }
  }
}

TEST(ColorOps, FlatImagesStayFlat) {
  ColorScratch scratch;
  for (const auto& s : kShapes) {
    for (uint8_t value : {0, 1, 128, 255}) {
      Pixels p = flat_pixels(s[0], s[1], s[2], value);
      const std::vector<uint8_t> before = p.values;
      nocopy::autocontrast(p.image());
      nocopy::equalize(p.image());
      nocopy::adjust_sharpness(p.image(), 2.5, scratch);
      if (s[2] == 1) nocopy::adjust_contrast(p.image(), 2.5);  // the mean is the value itself
      nocopy::gaussian_blur(p.image(), {1, 1}, {1.0, 1.0}, scratch);
      if (s[0] >= 2 && s[1] >= 2) nocopy::gaussian_blur(p.image(), {3, 3}, {0.8, 2.0}, scratch);
      EXPECT_EQ(p.values, before) << int(value);
    }
  }
}

TEST(ColorOps, AutocontrastStretchesEachChannelToTheFullRange) {
  Pixels p = random_pixels(15, 9, 3);
  for (uint8_t& v : p.values) v = static_cast<uint8_t>(40 + v / 3);  // values in [40, 125]
  nocopy::autocontrast(p.image());
  for (int64_t c = 0; c < 3; ++c) {
    uint8_t low = 255, high = 0;
    for (size_t i = static_cast<size_t>(c); i < p.values.size(); i += 3) {
      low = std::min(low, p.values[i]);
      high = std::max(high, p.values[i]);
    }
    EXPECT_EQ(low, 0) << c;
    // (max - min) / ((max - min) * float(1/255)) may fall a hair short of 255 in float32 and
    // truncate to 254, as it does in the reference
    EXPECT_GE(high, 254) << c;
  }
}

TEST(ColorOps, SaturationZeroIsGrayscaleAndOneChannelIsLeftAlone) {
  Pixels a = random_pixels(11, 13, 3);
  Pixels b = a;
  nocopy::adjust_saturation(a.image(), 0.0);
  nocopy::to_grayscale(b.image());
  EXPECT_EQ(a.values, b.values);
  for (size_t i = 0; i < a.values.size(); i += 3) {
    ASSERT_EQ(a.values[i], a.values[i + 1]);
    ASSERT_EQ(a.values[i], a.values[i + 2]);
  }
  Pixels gray = random_pixels(6, 5, 1);
  const std::vector<uint8_t> before = gray.values;
  nocopy::adjust_saturation(gray.image(), 2.5);
  nocopy::adjust_hue(gray.image(), 0.3);
  nocopy::to_grayscale(gray.image());
  EXPECT_EQ(gray.values, before);
}

TEST(ColorOps, WarmScratchIsReused) {
  ColorScratch scratch;
  Pixels p = random_pixels(31, 29, 3);
  nocopy::gaussian_blur(p.image(), {5, 7}, {1.0, 1.5}, scratch);
  nocopy::adjust_sharpness(p.image(), 2.0, scratch);
  const float* filtered = scratch.filtered.data();
  const uint8_t* pixels = scratch.pixels.data();
  nocopy::gaussian_blur(p.image(), {5, 7}, {1.0, 1.5}, scratch);
  nocopy::adjust_sharpness(p.image(), 2.0, scratch);
  EXPECT_EQ(scratch.filtered.data(), filtered);
  EXPECT_EQ(scratch.pixels.data(), pixels);
}

TEST(ColorOps, BadParametersAreRefused) {
  ColorScratch scratch;
  Pixels p = random_pixels(5, 5, 3);
  const double nan = std::nan("");
  EXPECT_THROW(nocopy::adjust_brightness(p.image(), -0.1), std::invalid_argument);
  EXPECT_THROW(nocopy::adjust_contrast(p.image(), nan), std::invalid_argument);
  EXPECT_THROW(nocopy::adjust_saturation(p.image(), -1.0), std::invalid_argument);
  EXPECT_THROW(nocopy::adjust_sharpness(p.image(), -1.0, scratch), std::invalid_argument);
  EXPECT_THROW(nocopy::adjust_hue(p.image(), 0.51), std::invalid_argument);
  EXPECT_THROW(nocopy::adjust_hue(p.image(), nan), std::invalid_argument);
  EXPECT_THROW(nocopy::posterize(p.image(), 9), std::invalid_argument);
  EXPECT_THROW(nocopy::posterize(p.image(), -1), std::invalid_argument);
  EXPECT_THROW(nocopy::solarize(p.image(), 255.5), std::invalid_argument);
  EXPECT_THROW(nocopy::gaussian_blur(p.image(), {4, 3}, {1.0, 1.0}, scratch),
               std::invalid_argument);
  EXPECT_THROW(nocopy::gaussian_blur(p.image(), {3, 3}, {0.0, 1.0}, scratch),
               std::invalid_argument);
  // reflected borders need kernel / 2 < the image's size
  EXPECT_THROW(nocopy::gaussian_blur(p.image(), {11, 3}, {1.0, 1.0}, scratch),
               std::invalid_argument);
  Pixels two = random_pixels(3, 3, 2);
  EXPECT_THROW(nocopy::invert(two.image()), std::invalid_argument);
}
