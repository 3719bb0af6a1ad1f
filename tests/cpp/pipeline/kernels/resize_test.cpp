// Tests of the resampling kernel: coefficient tables against values computed by hand from
// torch's antialiased-bilinear and nearest formulas, stretches between samples, identity and
// constant images, strides, mirroring, the output layouts and dtypes, and a center crop of a
// resize.
#include "nocopy/pipeline/kernels/resize.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <numeric>
#include <tuple>
#include <vector>

using nocopy::DType;
using nocopy::Interpolation;
using nocopy::ResampleTable;
using nocopy::ResizeGeometry;
using nocopy::ResizeOutput;
using nocopy::ResizeScratch;
using nocopy::ResizeSource;

namespace {

const float kOnes[4] = {1, 1, 1, 1};
const float kZeros[4] = {0, 0, 0, 0};

ResizeSource dense_u8(const std::vector<uint8_t>& px, int64_t h, int64_t w, int64_t c) {
  return {px.data(), DType::UInt8, h, w, c, w * c, c, 1};
}

ResizeGeometry whole(int64_t h, int64_t w, int64_t oh, int64_t ow,
                     Interpolation m = Interpolation::Bilinear) {
  ResizeGeometry g;
  g.height = h;
  g.width = w;
  g.resized_h = g.out_h = oh;
  g.resized_w = g.out_w = ow;
  g.interpolation = m;
  return g;
}

std::vector<float> run(const ResizeSource& s, const ResizeGeometry& g, bool chw = false) {
  std::vector<float> out(static_cast<size_t>(g.out_h * g.out_w * s.channels));
  ResizeScratch scratch;
  nocopy::resample_window(s, g, {out.data(), DType::Float32, chw, kOnes, kZeros}, scratch);
  return out;
}

}  // namespace

TEST(Resize, BilinearShrinkTableMatchesTorchFormula) {
  // 4 -> 2: scale 2, support 2, center 1 and 3; taps [0, 3) and [1, 4) of weights (3, 3, 1)...
  ResampleTable t;
  t.compute(4, 2, 0, 2, Interpolation::Bilinear);
  ASSERT_EQ(t.size(), 2);
  // Output 0: center 1; x = j + 0.5 - 1 for j in [0, 3) scaled by 1/2 -> |x| 0.25, 0.25, 0.75
  // -> weights 0.75, 0.75, 0.25 normalized by 1.75.
  EXPECT_EQ(t.first()[0], 0);
  ASSERT_EQ(t.count()[0], 3);
  EXPECT_NEAR(t.weights()[0], 0.75 / 1.75, 1e-7);
  EXPECT_NEAR(t.weights()[1], 0.75 / 1.75, 1e-7);
  EXPECT_NEAR(t.weights()[2], 0.25 / 1.75, 1e-7);
  // Output 1: center 3; taps j in [1, 4): |x| 0.75, 0.25, 0.25.
  EXPECT_EQ(t.first()[1], 1);
  ASSERT_EQ(t.count()[1], 3);
  EXPECT_NEAR(t.weights()[t.stride() + 2], 0.75 / 1.75, 1e-7);
}

TEST(Resize, TablesSumToOneAndStayInside) {
  for (int64_t in : {1, 2, 3, 7, 224, 500}) {
    for (int64_t out : {1, 2, 5, 224, 1000}) {
      for (auto m : {Interpolation::Bilinear, Interpolation::Nearest}) {
        ResampleTable t;
        t.compute(in, out, 0, out, m);
        for (int64_t i = 0; i < out; ++i) {
          ASSERT_GE(t.first()[i], 0);
          ASSERT_GE(t.count()[i], 1);
          ASSERT_LE(t.first()[i] + t.count()[i], in) << in << " -> " << out << " at " << i;
          const float* w = t.weights() + i * t.stride();
          ASSERT_NEAR(std::accumulate(w, w + t.count()[i], 0.0), 1.0, 1e-5);
        }
        EXPECT_GE(t.source_begin(), 0);
        EXPECT_LE(t.source_end(), in);
      }
    }
  }
}

TEST(Resize, NearestFollowsTorch) {
  ResampleTable t;
  t.compute(5, 3, 0, 3, Interpolation::Nearest);  // floor(i * 5 / 3): 0, 1, 3
  EXPECT_EQ(t.first()[0], 0);
  EXPECT_EQ(t.first()[1], 1);
  EXPECT_EQ(t.first()[2], 3);
  t.compute(3, 6, 0, 6, Interpolation::Nearest);  // doubling: i >> 1
  EXPECT_EQ(t.first()[5], 2);
}

TEST(Resize, AStretchBetweenSamplesIsResampledWhereItLies) {
  // The stretch [offset, offset + span) of the samples, as Pillow's resize box: a whole-sample
  // stretch is the plain table; a ramp (sample j = j, centered at j + 0.5) resampled over a
  // stretch gives about the ramp's value at each output center, offset + (i + 0.5) * span / out
  // (the taps' weights are not symmetric about it; exact values against Pillow's box resize
  // are in tests/python/unit/test_jpeg.py).
  ResampleTable plain, stretch;
  plain.compute(37, 9, 0, 9, Interpolation::Bilinear);
  stretch.compute(37, 9, 0, 9, Interpolation::Bilinear, 0.0, 37.0);
  for (int64_t i = 0; i < 9; ++i) {
    ASSERT_EQ(plain.first()[i], stretch.first()[i]);
    ASSERT_EQ(plain.count()[i], stretch.count()[i]);
    for (int j = 0; j < plain.count()[i]; ++j) {
      ASSERT_EQ(plain.weights()[i * plain.stride() + j],
                stretch.weights()[i * stretch.stride() + j]);
    }
  }
  std::vector<float> ramp(60);
  std::iota(ramp.begin(), ramp.end(), 0.0f);
  const ResizeSource src{ramp.data(), DType::Float32, 1, 60, 1, 60, 1, 1};
  for (auto [offset, span, out] : {std::tuple{10.3, 12.6, 5}, {17.75, 20.5, 41}, {3.5, 40.0, 8}}) {
    ResizeGeometry g = whole(1, 60, 1, out);
    g.offset_x = offset;
    g.span_w = span;
    const std::vector<float> got = run(src, g);
    for (int64_t i = 0; i < out; ++i) {
      EXPECT_NEAR(got[i], offset + (i + 0.5) * span / out - 0.5, 0.1) << offset << " " << i;
    }
  }
  // Nearest: floor(offset + i * span / out), inside the samples.
  stretch.compute(10, 4, 0, 4, Interpolation::Nearest, 2.5, 6.0);  // 2.5, 4, 5.5, 7
  EXPECT_EQ(stretch.first()[0], 2);
  EXPECT_EQ(stretch.first()[1], 4);
  EXPECT_EQ(stretch.first()[2], 5);
  EXPECT_EQ(stretch.first()[3], 7);
}

TEST(Resize, SameSizeIsTheIdentityAndConstantsStayConstant) {
  std::vector<uint8_t> px(5 * 7 * 3);
  for (size_t i = 0; i < px.size(); ++i) px[i] = static_cast<uint8_t>(i * 37 % 251);
  auto out = run(dense_u8(px, 5, 7, 3), whole(5, 7, 5, 7));
  for (size_t i = 0; i < px.size(); ++i) ASSERT_FLOAT_EQ(out[i], px[i]);
  std::vector<uint8_t> flat(40 * 30 * 3, 77);
  for (auto [oh, ow] : {std::pair{7, 9}, {1, 1}, {100, 3}, {40, 30}}) {
    auto o = run(dense_u8(flat, 40, 30, 3), whole(40, 30, oh, ow));
    for (float v : o) ASSERT_NEAR(v, 77.0f, 1e-3);
  }
}

TEST(Resize, WindowStridesAndMirrorAgreeWithADenseCopy) {
  // A window of a channel-planar (CHW-strided) source equals the same window of a dense copy.
  const int64_t H = 9, W = 11, C = 3;
  std::vector<uint8_t> planar(H * W * C), dense(H * W * C);
  for (int64_t y = 0; y < H; ++y) {
    for (int64_t x = 0; x < W; ++x) {
      for (int64_t c = 0; c < C; ++c) {
        const auto v = static_cast<uint8_t>((y * 31 + x * 7 + c * 50) % 256);
        planar[c * H * W + y * W + x] = v;
        dense[(y * W + x) * C + c] = v;
      }
    }
  }
  ResizeSource sp{planar.data(), DType::UInt8, H, W, C, W, 1, H * W};
  ResizeGeometry g = whole(5, 6, 3, 4);
  g.top = 2;
  g.left = 3;
  auto a = run(sp, g);
  auto b = run(dense_u8(dense, H, W, C), g);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], 1e-4);
  g.mirror = true;
  auto m = run(dense_u8(dense, H, W, C), g);
  for (int64_t y = 0; y < 3; ++y) {
    for (int64_t x = 0; x < 4; ++x) {
      for (int64_t c = 0; c < C; ++c) {
        ASSERT_FLOAT_EQ(m[(y * 4 + x) * C + c], b[(y * 4 + (3 - x)) * C + c]);
      }
    }
  }
}

TEST(Resize, LayoutsDtypesAndNormalization) {
  std::vector<uint8_t> px(6 * 4 * 3);
  for (size_t i = 0; i < px.size(); ++i) px[i] = static_cast<uint8_t>(i * 11);
  auto src = dense_u8(px, 6, 4, 3);
  auto g = whole(6, 4, 3, 2);
  auto hwc = run(src, g, false);
  auto chw = run(src, g, true);
  for (int64_t p = 0; p < 6; ++p) {
    for (int64_t c = 0; c < 3; ++c) ASSERT_FLOAT_EQ(chw[c * 6 + p], hwc[p * 3 + c]);
  }
  const float a[3] = {0.5f, 2.0f, 1.0f}, b[3] = {-1.0f, 0.0f, 3.0f};
  std::vector<float> norm(18);
  ResizeScratch s;
  nocopy::resample_window(src, g, {norm.data(), DType::Float32, false, a, b}, s);
  for (int64_t p = 0; p < 6; ++p) {
    for (int64_t c = 0; c < 3; ++c) ASSERT_FLOAT_EQ(norm[p * 3 + c], hwc[p * 3 + c] * a[c] + b[c]);
  }
  std::vector<uint8_t> bytes(18);
  nocopy::resample_window(src, g, {bytes.data(), DType::UInt8, false, kOnes, kZeros}, s);
  for (size_t i = 0; i < 18; ++i) ASSERT_EQ(bytes[i], static_cast<uint8_t>(std::nearbyint(hwc[i])));
  const float big[3] = {100, 100, 100};
  nocopy::resample_window(src, g, {bytes.data(), DType::UInt8, false, big, kZeros}, s);
  for (size_t i = 0; i < 18; ++i) ASSERT_EQ(bytes[i], hwc[i] > 0.5f ? 255 : 0);  // saturates
}

TEST(Resize, CenterCropOfAResizeEqualsTheCropOfTheFullResize) {
  std::vector<uint8_t> px(20 * 30 * 3);
  for (size_t i = 0; i < px.size(); ++i) px[i] = static_cast<uint8_t>((i * 7919) % 256);
  auto src = dense_u8(px, 20, 30, 3);
  for (auto m : {Interpolation::Bilinear, Interpolation::Nearest}) {
    auto full = run(src, whole(20, 30, 13, 19, m));
    ResizeGeometry g = whole(20, 30, 13, 19, m);
    g.out_top = 3;
    g.out_left = 5;
    g.out_h = 7;
    g.out_w = 8;
    auto part = run(src, g);
    for (int64_t y = 0; y < 7; ++y) {
      for (int64_t x = 0; x < 8; ++x) {
        for (int64_t c = 0; c < 3; ++c) {
          ASSERT_FLOAT_EQ(part[(y * 8 + x) * 3 + c], full[((y + 3) * 19 + x + 5) * 3 + c]);
        }
      }
    }
  }
}

TEST(Resize, HugeShrinkUsesManyTapsAndStaysExact) {
  // 300 rows -> 1 averages every row (more taps than one group of source rows).
  std::vector<float> px(300);
  for (int i = 0; i < 300; ++i) px[i] = static_cast<float>(i);
  ResizeSource s{px.data(), DType::Float32, 300, 1, 1, 1, 1, 1};
  auto out = run(s, whole(300, 1, 1, 1));
  // Triangle filter of half-width 300 centered at 150: symmetric weights, mean 149.5.
  EXPECT_NEAR(out[0], 149.5, 1e-2);
}

TEST(Resize, ScratchStopsAllocatingOnceWarm) {
  std::vector<uint8_t> px(50 * 60 * 3, 1);
  auto src = dense_u8(px, 50, 60, 3);
  ResizeScratch s;
  std::vector<float> out(24 * 24 * 3);
  ResizeOutput o{out.data(), DType::Float32, true, kOnes, kZeros};
  nocopy::resample_window(src, whole(50, 60, 24, 24), o, s);
  const float* rows = s.rows.weights();
  const float* vert = s.vertical.data();
  nocopy::resample_window(src, whole(40, 50, 24, 24), o, s);  // a smaller window
  EXPECT_EQ(s.rows.weights(), rows);
  EXPECT_EQ(s.vertical.data(), vert);
}

TEST(Resize, ParsesInterpolationNames) {
  EXPECT_EQ(nocopy::interpolation_from_string("nearest"), Interpolation::Nearest);
  EXPECT_THROW(nocopy::interpolation_from_string("bicubic"), std::invalid_argument);
}

TEST(Resize, UnsupportedDTypesAreRefusedBeforeAnythingIsWritten) {
  // An output dtype outside float32 / float16 / bfloat16 / uint8 was once written as float32.
  std::vector<uint8_t> px(4 * 4 * 3, 9);
  std::vector<int32_t> out(2 * 2 * 3, -1);
  ResizeScratch s;
  try {
    nocopy::resample_window(dense_u8(px, 4, 4, 3), whole(4, 4, 2, 2),
                            {out.data(), DType::Int32, false, kOnes, kZeros}, s);
    ADD_FAILURE() << "int32 output was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(),
                 "resampling output: dtype int32 is not supported (supported: float32, float16, "
                 "bfloat16, uint8)");
  }
  for (int32_t v : out) EXPECT_EQ(v, -1);
  std::vector<int16_t> ints(4 * 4 * 3);
  ResizeSource src{ints.data(), DType::Int16, 4, 4, 3, 12, 3, 1};
  std::vector<float> f(2 * 2 * 3);
  EXPECT_THROW(nocopy::resample_window(src, whole(4, 4, 2, 2),
                                       {f.data(), DType::Float32, false, kOnes, kZeros}, s),
               std::invalid_argument);
}
