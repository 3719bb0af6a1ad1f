// Invariants of the batch transforms and the Beta sampler: lam = 1 leaves a batch as it was,
// lam = 0 rolls it by one, the in-place kernels equal an out-of-place computation (over several
// stack pieces too), CutMix boxes follow their lam, soft labels are one-hot rows mixed, and the
// draws are deterministic, in range and near their means. The exact agreement with torchvision
// is tested in tests/python/unit/test_batch_mix.py.
#include "nocopy/pipeline/kernels/batch_mix.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "internal/element.hpp"
#include "nocopy/core/dtype_visit.hpp"
#include "nocopy/pipeline/sampling/beta_draw.hpp"
#include "nocopy/pipeline/sampling/random_streams.hpp"

namespace {

using nocopy::CutMixBox;
using nocopy::DType;
using nocopy::Layout;

/// n samples of `elems` floats with distinct values (no -0, no NaN).
std::vector<float> ramp(int64_t n, int64_t elems) {
  std::vector<float> v(static_cast<size_t>(n * elems));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>((i * 37) % 251) + 0.25f;
  return v;
}

/// The words of one counter stream, in order.
struct Words {
  uint64_t seed, position, next = 0;
  uint64_t operator()() { return nocopy::counter_hash(seed, 0, position, next++); }
};

TEST(MixUp, LamOneLeavesEveryDtypeUnchanged) {
  const std::vector<float> src = ramp(3, 10);
  for (DType t : {DType::Float32, DType::Float16, DType::BFloat16, DType::UInt8}) {
    std::vector<unsigned char> bytes(src.size() * nocopy::itemsize(t));
    nocopy::visit_dtype<
        nocopy::DTypeSet<DType::Float32, DType::Float16, DType::BFloat16, DType::UInt8>>(
        t, [&](auto tag) {
          using T = typename decltype(tag)::type;
          auto* p = reinterpret_cast<T*>(bytes.data());
          for (size_t i = 0; i < src.size(); ++i) nocopy::store_from_float(p + i, src[i]);
        });
    const std::vector<unsigned char> before = bytes;
    nocopy::mixup_images(bytes.data(), t, 3, 10, 1.0);
    EXPECT_EQ(bytes, before) << nocopy::dtype_name(t);
  }
}

TEST(MixUp, LamZeroRollsTheBatchByOne) {
  const int64_t n = 4, elems = 9;
  const std::vector<float> src = ramp(n, elems);
  std::vector<float> x = src;
  nocopy::mixup_images(x.data(), DType::Float32, n, elems, 0.0);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t prev = (i + n - 1) % n;
    for (int64_t e = 0; e < elems; ++e) EXPECT_EQ(x[i * elems + e], src[prev * elems + e]);
  }
}

TEST(MixUp, InPlaceEqualsOutOfPlaceAcrossPieces) {
  // 10000 floats per sample: three stack pieces of 4096 floats.
  const int64_t n = 3, elems = 10000;
  const double lam = 0.3125;
  const std::vector<float> src = ramp(n, elems);
  std::vector<float> x = src;
  nocopy::mixup_images(x.data(), DType::Float32, n, elems, lam);
  const auto a = static_cast<float>(lam), b = static_cast<float>(1.0 - lam);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t prev = (i + n - 1) % n;
    for (int64_t e = 0; e < elems; ++e) {
      const float from_prev = src[prev * elems + e] * b;
      const float from_own = src[i * elems + e] * a;
      ASSERT_EQ(x[i * elems + e], from_prev + from_own) << i << " " << e;
    }
  }
}

TEST(MixUp, RefusesBadArguments) {
  std::vector<float> x = ramp(2, 3);
  EXPECT_THROW(nocopy::mixup_images(x.data(), DType::Float32, 2, 3, 1.5), std::invalid_argument);
  EXPECT_THROW(nocopy::mixup_images(x.data(), DType::Float32, 2, 3, NAN), std::invalid_argument);
  EXPECT_THROW(nocopy::mixup_images(x.data(), DType::Int32, 2, 3, 0.5), std::invalid_argument);
  EXPECT_THROW(nocopy::mixup_images(x.data(), DType::Float32, -1, 3, 0.5), std::invalid_argument);
  nocopy::mixup_images(nullptr, DType::Float32, 0, 3, 0.5);  // an empty batch
}

TEST(CutMixBox, FollowsLamAndStaysInTheImage) {
  const CutMixBox none = nocopy::cutmix_box(9, 13, 1.0, 6, 4);
  EXPECT_EQ(none.x1, none.x2);
  EXPECT_EQ(none.lam, 1.0);
  const CutMixBox whole = nocopy::cutmix_box(10, 10, 0.0, 5, 5);  // half-sides 5
  EXPECT_EQ(whole.y1, 0);
  EXPECT_EQ(whole.y2, 10);
  EXPECT_EQ(whole.x1, 0);
  EXPECT_EQ(whole.x2, 10);
  EXPECT_EQ(whole.lam, 0.0);
  const CutMixBox corner = nocopy::cutmix_box(32, 32, 0.5, 0, 31);  // clamped at two edges
  EXPECT_EQ(corner.x1, 0);
  EXPECT_EQ(corner.y2, 32);
  EXPECT_EQ(corner.lam, 1.0 - double((corner.x2 - corner.x1) * (corner.y2 - corner.y1)) / 1024);
  EXPECT_THROW(nocopy::cutmix_box(4, 4, 0.5, 4, 0), std::invalid_argument);
  EXPECT_THROW(nocopy::cutmix_box(4, 4, 2.0, 0, 0), std::invalid_argument);
  EXPECT_THROW(nocopy::cutmix_box(0, 4, 0.5, 0, 0), std::invalid_argument);
}

TEST(CutMix, PastesThePreviousSamplesBoxInBothLayouts) {
  const int64_t n = 3, c = 3, h = 7, w = 5;
  CutMixBox box;
  box.y1 = 2;
  box.y2 = 6;
  box.x1 = 1;
  box.x2 = 4;
  for (Layout layout : {Layout::CHW, Layout::HWC}) {
    const std::vector<float> src = ramp(n, c * h * w);
    std::vector<float> x = src;
    nocopy::cutmix_images(x.data(), sizeof(float), n, c, h, w, layout, box);
    for (int64_t i = 0; i < n; ++i) {
      const int64_t prev = (i + n - 1) % n;
      for (int64_t ch = 0; ch < c; ++ch) {
        for (int64_t y = 0; y < h; ++y) {
          for (int64_t xx = 0; xx < w; ++xx) {
            const int64_t at =
                layout == Layout::CHW ? (ch * h + y) * w + xx : (y * w + xx) * c + ch;
            const bool inside = y >= box.y1 && y < box.y2 && xx >= box.x1 && xx < box.x2;
            EXPECT_EQ(x[i * c * h * w + at], src[(inside ? prev : i) * c * h * w + at]);
          }
        }
      }
    }
  }
}

TEST(CutMix, EmptyBoxOrOneSampleChangesNothing) {
  const std::vector<float> src = ramp(2, 3 * 4 * 4);
  std::vector<float> x = src;
  CutMixBox empty;
  empty.y1 = empty.y2 = 2;
  empty.x2 = 4;
  nocopy::cutmix_images(x.data(), sizeof(float), 2, 3, 4, 4, Layout::CHW, empty);
  EXPECT_EQ(x, src);
  CutMixBox full;
  full.y2 = full.x2 = 4;
  nocopy::cutmix_images(x.data(), sizeof(float), 1, 3, 4, 4, Layout::CHW, full);
  EXPECT_EQ(x, src);
  CutMixBox outside = full;
  outside.y2 = 5;
  EXPECT_THROW(nocopy::cutmix_images(x.data(), 4, 2, 3, 4, 4, Layout::CHW, outside),
               std::invalid_argument);
}

TEST(MixLabels, RowsAreMixedOneHots) {
  const std::vector<int64_t> labels = {2, 0, 0, 1};
  std::vector<float> soft(4 * 3, -1.0f);
  nocopy::mix_labels(labels.data(), 4, 3, 0.75, soft.data());
  // Row i: 0.75 on labels[i], 0.25 on labels[i - 1] (row 0 pairs with row 3; row 2 with its own
  // class).
  const std::vector<float> expected = {0.0f, 0.25f, 0.75f, 0.75f, 0.0f,  0.25f,
                                       1.0f, 0.0f,  0.0f,  0.25f, 0.75f, 0.0f};
  EXPECT_EQ(soft, expected);
  std::vector<float> untouched(4 * 3, -1.0f);
  const std::vector<int64_t> bad = {0, 3, 1, 1};
  EXPECT_THROW(nocopy::mix_labels(bad.data(), 4, 3, 0.5, untouched.data()), std::invalid_argument);
  EXPECT_EQ(untouched, std::vector<float>(12, -1.0f));
  EXPECT_THROW(nocopy::mix_labels(labels.data(), 4, 0, 0.5, soft.data()), std::invalid_argument);
}

TEST(BetaDraw, UniformsCoverTheirIntervals) {
  EXPECT_EQ(nocopy::uniform01(0), 0.0);
  EXPECT_LT(nocopy::uniform01(~uint64_t{0}), 1.0);
  EXPECT_GT(nocopy::uniform01_open(0), 0.0);
  EXPECT_EQ(nocopy::uniform01_open(~uint64_t{0}), 1.0);
}

TEST(BetaDraw, DeterministicInRangeAndNearTheMean) {
  for (const auto& [a, b] : std::vector<std::pair<double, double>>{
           {0.2, 0.2}, {1.0, 1.0}, {0.5, 2.0}, {4.0, 1.5}, {0.01, 0.01}}) {
    double sum = 0.0;
    const int count = 20000;
    for (int i = 0; i < count; ++i) {
      const double v = nocopy::draw_beta(a, b, Words{5, static_cast<uint64_t>(i)});
      ASSERT_GE(v, 0.0);
      ASSERT_LE(v, 1.0);
      ASSERT_EQ(v, nocopy::draw_beta(a, b, Words{5, static_cast<uint64_t>(i)}));
      sum += v;
    }
    EXPECT_NEAR(sum / count, a / (a + b), 0.01) << a << " " << b;
  }
}

TEST(BetaDraw, GammaMeansAndBadShapes) {
  for (double shape : {0.3, 1.0, 5.0}) {
    double sum = 0.0;
    const int count = 20000;
    for (int i = 0; i < count; ++i) {
      sum += nocopy::draw_gamma(shape, Words{9, static_cast<uint64_t>(i)});
    }
    EXPECT_NEAR(sum / count, shape, 0.03 * shape + 0.01) << shape;
  }
  EXPECT_TRUE(std::isnan(nocopy::draw_gamma(0.0, Words{1, 0})));
  EXPECT_TRUE(std::isnan(nocopy::draw_beta(1.0, -1.0, Words{1, 0})));
  EXPECT_TRUE(std::isnan(nocopy::draw_beta(INFINITY, 1.0, Words{1, 0})));
  // Degenerate words (always 0) end after the bounded number of trials.
  EXPECT_TRUE(std::isfinite(nocopy::draw_beta(0.5, 0.5, [] { return uint64_t{0}; })));
}

}  // namespace
