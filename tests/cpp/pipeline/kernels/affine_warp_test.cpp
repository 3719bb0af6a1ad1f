// Tests of the affine warp: the inverse matrix's convention, the expanded sizes, and invariants
// of the warp (the identity copies, four quarter turns of a square are the identity, a quarter
// turn is a transposition, integer translations shift and fill, a half-pixel shift averages,
// degenerate matrices fill). The comparison with torchvision is tests/python/unit/
// test_affine_warp.py.
#include "nocopy/pipeline/kernels/affine_warp.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <tuple>
#include <vector>

using nocopy::affine_warp;
using nocopy::AffineMatrix;
using nocopy::expanded_size;
using nocopy::Interpolation;
using nocopy::inverse_affine_matrix;
using nocopy::rotated_size;
using nocopy::WarpSize;

namespace {

const AffineMatrix kIdentity{{1, 0, 0, 0, 1, 0}};

/// A dense h x w x c image of seeded random bytes.
std::vector<uint8_t> random_image(int64_t h, int64_t w, int64_t c, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> px(static_cast<size_t>(h * w * c));
  for (auto& v : px) v = static_cast<uint8_t>(rng() & 0xff);
  return px;
}

/// The warp of a dense image into a new dense image of the given size.
std::vector<uint8_t> warp(const std::vector<uint8_t>& src, int64_t h, int64_t w, int64_t c,
                          int64_t oh, int64_t ow, const AffineMatrix& m, Interpolation mode,
                          const float* fill = nullptr) {
  std::vector<uint8_t> out(static_cast<size_t>(oh * ow * c), 0xAB);
  affine_warp(src.data(), h, w, c, w * c, out.data(), oh, ow, m, mode, fill);
  return out;
}

/// Element (y, x, ch) of a dense image w pixels wide with c channels.
uint8_t at(const std::vector<uint8_t>& px, int64_t w, int64_t c, int64_t y, int64_t x, int64_t ch) {
  return px[static_cast<size_t>((y * w + x) * c + ch)];
}

class WarpShapes : public ::testing::TestWithParam<std::tuple<int64_t, int64_t, int64_t>> {};

TEST_P(WarpShapes, IdentityCopies) {
  const auto [h, w, c] = GetParam();
  const auto src = random_image(h, w, c, 1);
  for (Interpolation mode : {Interpolation::Nearest, Interpolation::Bilinear}) {
    EXPECT_EQ(warp(src, h, w, c, h, w, kIdentity, mode), src);
    const std::vector<float> fill(static_cast<size_t>(c), 7.0f);
    EXPECT_EQ(warp(src, h, w, c, h, w, kIdentity, mode, fill.data()), src);
    // The identity built by inverse_affine_matrix copies as well.
    EXPECT_EQ(warp(src, h, w, c, h, w, inverse_affine_matrix(0, 0, 0, 0, 0, 1, 0, 0), mode), src);
  }
}

TEST_P(WarpShapes, IdentityReadsStridedRows) {
  const auto [h, w, c] = GetParam();
  const int64_t stride = w * c + 5;  // padded rows
  std::vector<uint8_t> padded(static_cast<size_t>(h * stride), 0);
  const auto dense = random_image(h, w, c, 2);
  for (int64_t y = 0; y < h; ++y) {
    for (int64_t k = 0; k < w * c; ++k) padded[y * stride + k] = dense[y * w * c + k];
  }
  std::vector<uint8_t> out(dense.size());
  affine_warp(padded.data(), h, w, c, stride, out.data(), h, w, kIdentity, Interpolation::Bilinear,
              nullptr);
  EXPECT_EQ(out, dense);
}

TEST_P(WarpShapes, IntegerTranslationShiftsAndFills) {
  const auto [h, w, c] = GetParam();
  const auto src = random_image(h, w, c, 3);
  const std::vector<float> fill = {11, 22, 33, 44, 55};
  const int64_t tx = 2, ty = -1;
  const AffineMatrix m = inverse_affine_matrix(0, 0, 0, tx, ty, 1, 0, 0);
  for (Interpolation mode : {Interpolation::Nearest, Interpolation::Bilinear}) {
    const auto out = warp(src, h, w, c, h, w, m, mode, fill.data());
    for (int64_t y = 0; y < h; ++y) {
      for (int64_t x = 0; x < w; ++x) {
        const int64_t sx = x - tx, sy = y - ty;
        const bool inside = sx >= 0 && sx < w && sy >= 0 && sy < h;
        for (int64_t ch = 0; ch < c; ++ch) {
          const uint8_t want = inside ? at(src, w, c, sy, sx, ch) : static_cast<uint8_t>(fill[ch]);
          ASSERT_EQ(at(out, w, c, y, x, ch), want) << y << "," << x << "," << ch;
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AffineWarp, WarpShapes,
                         ::testing::Values(std::make_tuple(1, 1, 1), std::make_tuple(7, 9, 3),
                                           std::make_tuple(8, 8, 1), std::make_tuple(5, 13, 4),
                                           std::make_tuple(12, 3, 5)));

class Squares : public ::testing::TestWithParam<std::tuple<int64_t, int64_t>> {};

TEST_P(Squares, FourQuarterTurnsAreTheIdentity) {
  const auto [n, c] = GetParam();
  const auto src = random_image(n, n, c, 4);
  const AffineMatrix quarter = inverse_affine_matrix(0, 0, 90, 0, 0, 1, 0, 0);
  auto img = src;
  for (int turn = 0; turn < 4; ++turn) {
    img = warp(img, n, n, c, n, n, quarter, Interpolation::Nearest);
    if (turn < 3 && n > 1) {
      EXPECT_NE(img, src) << "turn " << turn;
    }
  }
  EXPECT_EQ(img, src);
}

TEST_P(Squares, QuarterTurnIsATransposition) {
  // affine's angle is clockwise: output (y, x) reads source (n - 1 - x, y).
  const auto [n, c] = GetParam();
  const auto src = random_image(n, n, c, 5);
  const AffineMatrix quarter = inverse_affine_matrix(0, 0, 90, 0, 0, 1, 0, 0);
  for (Interpolation mode : {Interpolation::Nearest, Interpolation::Bilinear}) {
    const auto out = warp(src, n, n, c, n, n, quarter, mode);
    for (int64_t y = 0; y < n; ++y) {
      for (int64_t x = 0; x < n; ++x) {
        for (int64_t ch = 0; ch < c; ++ch) {
          ASSERT_EQ(at(out, n, c, y, x, ch), at(src, n, c, n - 1 - x, y, ch));
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AffineWarp, Squares,
                         ::testing::Values(std::make_tuple(1, 1), std::make_tuple(2, 3),
                                           std::make_tuple(7, 3), std::make_tuple(16, 1),
                                           std::make_tuple(9, 4), std::make_tuple(6, 2)));

TEST(AffineWarp, NonSquareQuarterTurnWithExpandedSizeTransposes) {
  const int64_t h = 5, w = 8, c = 3;
  const auto src = random_image(h, w, c, 6);
  const AffineMatrix quarter = inverse_affine_matrix(0, 0, 90, 0, 0, 1, 0, 0);
  const WarpSize size = rotated_size(-90, true, quarter, h, w);
  ASSERT_EQ(size.height, w);
  ASSERT_EQ(size.width, h);
  const auto out = warp(src, h, w, c, w, h, quarter, Interpolation::Nearest);
  for (int64_t y = 0; y < w; ++y) {
    for (int64_t x = 0; x < h; ++x) {
      for (int64_t ch = 0; ch < c; ++ch) {
        ASSERT_EQ(at(out, h, c, y, x, ch), at(src, w, c, h - 1 - x, y, ch));
      }
    }
  }
}

TEST(AffineWarp, HalfPixelShiftAveragesRoundingHalfToEven) {
  // One row [10, 13, 20, 200]: shifting right by half a pixel averages neighbours. The first
  // output has half its weight outside: its sum 5 (10 * 1/2) is blended as torchvision does,
  // (sum - fill) * inside_weight + fill, or kept as it is without a fill.
  const std::vector<uint8_t> src = {10, 13, 20, 200};
  const AffineMatrix m = inverse_affine_matrix(0, 0, 0, 0.5, 0, 1, 0, 0);
  const float fill = 3.0f;
  const auto with_fill = warp(src, 1, 4, 1, 1, 4, m, Interpolation::Bilinear, &fill);
  // (5 - 3) * 0.5 + 3 = 4; 11.5 -> 12; 16.5 -> 16; 110.
  EXPECT_EQ(with_fill, (std::vector<uint8_t>{4, 12, 16, 110}));
  const auto no_fill = warp(src, 1, 4, 1, 1, 4, m, Interpolation::Bilinear);
  EXPECT_EQ(no_fill, (std::vector<uint8_t>{5, 12, 16, 110}));
}

TEST(AffineWarp, OutsideIsFillOrZero) {
  const auto src = random_image(4, 4, 3, 7);
  const AffineMatrix far = inverse_affine_matrix(0, 0, 0, 100, 0, 1, 0, 0);
  const float fill[3] = {1, 254.5f, 128.5f};  // rounded half to even: 1, 254, 128
  for (Interpolation mode : {Interpolation::Nearest, Interpolation::Bilinear}) {
    const auto filled = warp(src, 4, 4, 3, 2, 3, far, mode, fill);
    for (size_t k = 0; k < filled.size(); k += 3) {
      EXPECT_EQ(filled[k], 1);
      EXPECT_EQ(filled[k + 1], 254);
      EXPECT_EQ(filled[k + 2], 128);
    }
    EXPECT_EQ(warp(src, 4, 4, 3, 2, 3, far, mode), std::vector<uint8_t>(18, 0));
  }
}

TEST(AffineWarp, NonFiniteMatricesFill) {
  const auto src = random_image(6, 5, 1, 8);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  const float fill = 9.0f;
  for (const AffineMatrix& m :
       {AffineMatrix{{nan, 0, 0, 0, 1, 0}}, AffineMatrix{{inf, 0, 0, 0, 1, 0}},
        AffineMatrix{{1e300, 0, 1e300, 0, 1, 0}}}) {
    for (Interpolation mode : {Interpolation::Nearest, Interpolation::Bilinear}) {
      const auto out = warp(src, 6, 5, 1, 6, 5, m, mode, &fill);
      for (uint8_t v : out) ASSERT_EQ(v, 9);
    }
  }
}

TEST(InverseAffineMatrix, FollowsTheConvention) {
  // A clockwise quarter turn (screen coordinates, y down): the inverse maps output (1, 0) to
  // source (0, -1) about the center.
  const AffineMatrix q = inverse_affine_matrix(0, 0, 90, 0, 0, 1, 0, 0);
  EXPECT_NEAR(q.m[0], 0, 1e-15);
  EXPECT_NEAR(q.m[1], 1, 1e-15);
  EXPECT_NEAR(q.m[3], -1, 1e-15);
  EXPECT_NEAR(q.m[4], 0, 1e-15);
  // Scaling by 2 and translating by (3, -4): source = (output - t) / 2.
  const AffineMatrix s = inverse_affine_matrix(0, 0, 0, 3, -4, 2, 0, 0);
  EXPECT_DOUBLE_EQ(s.m[0], 0.5);
  EXPECT_DOUBLE_EQ(s.m[4], 0.5);
  EXPECT_DOUBLE_EQ(s.m[2], -1.5);
  EXPECT_DOUBLE_EQ(s.m[5], 2.0);
  // A pivot is a fixed point of a rotation about it.
  const AffineMatrix p = inverse_affine_matrix(2.5, -1.0, 33, 0, 0, 1.3, 7, -4);
  EXPECT_NEAR(p.m[0] * 2.5 + p.m[1] * -1.0 + p.m[2], 2.5, 1e-12);
  EXPECT_NEAR(p.m[3] * 2.5 + p.m[4] * -1.0 + p.m[5], -1.0, 1e-12);
  // The inverse's determinant is 1 / scale^2 (rotation and shears preserve area).
  EXPECT_NEAR(p.m[0] * p.m[4] - p.m[1] * p.m[3], 1 / (1.3 * 1.3), 1e-12);
}

TEST(ExpandedSize, CoversTheRotatedImage) {
  EXPECT_EQ(expanded_size(kIdentity, 7, 9).height, 7);
  EXPECT_EQ(expanded_size(kIdentity, 7, 9).width, 9);
  // A quarter turn of 7 x 9 (same parity) is 9 x 7; of 6 x 9 the half-pixel center makes 10 x 7
  // through the matrix, while the default-center quarter turn is an exact 9 x 6 transposition.
  const AffineMatrix q = inverse_affine_matrix(0, 0, -90, 0, 0, 1, 0, 0);
  EXPECT_EQ(expanded_size(q, 7, 9).height, 9);
  EXPECT_EQ(expanded_size(q, 7, 9).width, 7);
  EXPECT_EQ(expanded_size(q, 6, 9).height, 10);
  EXPECT_EQ(expanded_size(q, 6, 9).width, 7);
  EXPECT_EQ(rotated_size(90, true, q, 6, 9).height, 9);
  EXPECT_EQ(rotated_size(90, true, q, 6, 9).width, 6);
  EXPECT_EQ(rotated_size(-270, true, q, 6, 9).height, 9);
  EXPECT_EQ(rotated_size(90, false, q, 6, 9).height, 10);
  // 45 degrees of a 10 x 10 square: the diagonal, 10 * sqrt(2) = 14.14, rounded outwards.
  const AffineMatrix d = inverse_affine_matrix(0, 0, -45, 0, 0, 1, 0, 0);
  EXPECT_EQ(rotated_size(45, true, d, 10, 10).height, 16);
  EXPECT_EQ(rotated_size(45, true, d, 10, 10).width, 16);
  // Degenerate matrices give empty sides instead of overflowing.
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(expanded_size(AffineMatrix{{1e300, 0, 0, 0, 1, 0}}, 4, 4).width, 0);
  EXPECT_EQ(expanded_size(AffineMatrix{{nan, 0, 0, 0, 1, 0}}, 4, 4).width, 0);
  EXPECT_EQ(expanded_size(AffineMatrix{{1e12, 0, 0, 0, 1, 0}}, 4, 4).width, 0);
  EXPECT_EQ(expanded_size(AffineMatrix{{1e300, 0, 0, 0, 1, 0}}, 4, 4).height, 4);
}

}  // namespace
