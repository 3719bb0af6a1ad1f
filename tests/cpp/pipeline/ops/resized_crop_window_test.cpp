// Tests of the resizing crop windows: every RandomResizedCrop window lies inside its image and
// within the area and ratio ranges (or is the clamped central fallback), draws are pure
// functions of (seed, epoch, position), and resize_center follows torchvision's rounding.
#include "nocopy/pipeline/ops/resized_crop_window.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>

using nocopy::CropWindow;
using nocopy::ResizedCropRange;

TEST(ResizedCropWindow, WindowsAreInsideAndInRange) {
  const ResizedCropRange r;
  for (auto [h, w] : {std::pair<int64_t, int64_t>{375, 500}, {1, 1}, {1, 1000}, {224, 224}}) {
    int fallbacks = 0;
    for (uint64_t pos = 0; pos < 2000; ++pos) {
      CropWindow c = nocopy::random_resized_window(7, 1, pos, h, w, r);
      ASSERT_GE(c.top, 0);
      ASSERT_GE(c.left, 0);
      ASSERT_GE(c.height, 1);
      ASSERT_GE(c.width, 1);
      ASSERT_LE(c.top + c.height, h);
      ASSERT_LE(c.left + c.width, w);
      fallbacks += c.fallback;
      if (!c.fallback && h > 10 && w > 10) {
        // Rounding each side moves the area and the ratio by less than a pixel's worth.
        const double frac = double(c.height) * double(c.width) / (double(h) * double(w));
        ASSERT_GE(frac, r.area_min * 0.9);
        ASSERT_LE(frac, r.area_max + 1e-9);
      }
    }
    if (h == 375) {
      EXPECT_LT(fallbacks, 20);  // ~0 for ImageNet-like shapes
    }
    if (h == 1 && w == 1000) {
      EXPECT_EQ(fallbacks, 2000);  // nothing fits a 1-pixel-high strip
    }
  }
}

TEST(ResizedCropWindow, FallbackIsCentralAndClampedToTheRatio) {
  const ResizedCropRange r;
  CropWindow c = nocopy::random_resized_window(0, 0, 0, 2, 1000, r);  // too wide for any draw
  ASSERT_TRUE(c.fallback);
  EXPECT_EQ(c.height, 2);
  EXPECT_EQ(c.width, 3);  // round(2 * 4/3)
  EXPECT_EQ(c.left, (1000 - 3) / 2);
  c = nocopy::random_resized_window(0, 0, 0, 1000, 2, r);  // too tall
  ASSERT_TRUE(c.fallback);
  EXPECT_EQ(c.width, 2);
  EXPECT_EQ(c.height, 3);  // round(2 / (3/4)) = round(2.67)
  ResizedCropRange tiny{0.08, 1.0, 0.01, 0.02};
  c = nocopy::random_resized_window(0, 0, 0, 1, 10, tiny);  // round(1 * 0.02) = 0 -> 1
  EXPECT_EQ(c.width, 1);
}

TEST(ResizedCropWindow, DrawsArePureFunctionsOfTheCounter) {
  const ResizedCropRange r;
  CropWindow a = nocopy::random_resized_window(3, 4, 5, 300, 400, r);
  CropWindow b = nocopy::random_resized_window(3, 4, 5, 300, 400, r);
  EXPECT_EQ(a.top, b.top);
  EXPECT_EQ(a.left, b.left);
  EXPECT_EQ(a.height, b.height);
  EXPECT_EQ(a.width, b.width);
  int same = 0;
  for (uint64_t pos = 0; pos < 50; ++pos) {
    CropWindow x = nocopy::random_resized_window(3, 4, pos, 300, 400, r);
    CropWindow y = nocopy::random_resized_window(3, 5, pos, 300, 400, r);
    same += x.top == y.top && x.left == y.left && x.height == y.height && x.width == y.width;
  }
  EXPECT_LT(same, 3);  // another epoch draws other windows
}

TEST(ResizedCropWindow, RangesAreValidated) {
  EXPECT_NO_THROW(nocopy::validate_resized_crop_range({}));
  EXPECT_THROW(nocopy::validate_resized_crop_range({0.0, 1.0, 0.75, 1.33}), std::invalid_argument);
  EXPECT_THROW(nocopy::validate_resized_crop_range({0.5, 0.4, 0.75, 1.33}), std::invalid_argument);
  EXPECT_THROW(nocopy::validate_resized_crop_range({0.5, 1.5, 0.75, 1.33}), std::invalid_argument);
  EXPECT_THROW(nocopy::validate_resized_crop_range({0.5, 1.0, 2.0, 1.0}), std::invalid_argument);
  EXPECT_THROW(nocopy::validate_resized_crop_range({0.5, 1.0, 0.0, 1.0}), std::invalid_argument);
  EXPECT_THROW(nocopy::validate_resized_crop_range({NAN, 1.0, 0.5, 1.0}), std::invalid_argument);
}

TEST(ResizedCropWindow, ResizeCenterFollowsTorchvision) {
  // Resize(256) of 375 x 500: short side 256, long int(256 * 500 / 375) = 341.
  auto g = nocopy::resize_center_geometry(375, 500, 256, 224, 224);
  EXPECT_EQ(g.resized_h, 256);
  EXPECT_EQ(g.resized_w, 341);
  EXPECT_EQ(g.top, 16);
  EXPECT_EQ(g.left, 58);  // round(117 / 2 = 58.5) -> 58 (ties to even)
  g = nocopy::resize_center_geometry(500, 333, 256, 224, 224);
  EXPECT_EQ(g.resized_w, 256);
  EXPECT_EQ(g.resized_h, 384);  // int(256 * 500 / 333 = 384.38)
  EXPECT_EQ(g.top, 80);
  g = nocopy::resize_center_geometry(1, 1, 4, 3, 3);  // upscaling a single pixel
  EXPECT_EQ(g.resized_h, 4);
  EXPECT_EQ(g.top, 0);  // round(0.5) -> 0
}
