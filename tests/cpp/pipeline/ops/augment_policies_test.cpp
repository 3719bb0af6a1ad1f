// Tests of the augmentation policies, random warps and random containers: the container rules
// of the program, draws that stay in their spaces (permutations, weights summing to one,
// magnitudes of the tables), and rotate's exact turns.
#include "nocopy/pipeline/ops/augment_policies.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <stdexcept>
#include <vector>

#include "nocopy/pipeline/ops/pixel_steps.hpp"

using nocopy::AugmentOp;
using nocopy::DrawKey;
using nocopy::DType;
using nocopy::ImageU8;
using nocopy::Interpolation;
using nocopy::PolicyScratch;
using nocopy::StepKind;
using nocopy::TransformProgram;
using nocopy::TransformStep;

namespace {

TransformStep step(StepKind kind) {
  TransformStep s;
  s.kind = kind;
  return s;
}

TransformStep group(StepKind kind, int64_t span, int64_t children) {
  TransformStep s = step(kind);
  s.span = span;
  s.children = children;
  return s;
}

TransformProgram build(std::vector<TransformStep> steps) {
  return TransformProgram(std::move(steps), 3, DType::UInt8);
}

std::vector<uint8_t> ramp(int64_t h, int64_t w, int64_t c) {
  std::vector<uint8_t> v(static_cast<size_t>(h * w * c));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<uint8_t>((i * 37 + 11) % 251);
  return v;
}

}  // namespace

TEST(AugmentPolicies, ContainersHoldOnlyPixelStepsAndMatchTheirSpans) {
  EXPECT_NO_THROW(build({group(StepKind::RandomApply, 2, 2), step(StepKind::RandomInvert),
                         step(StepKind::TrivialAugmentWide)}));
  // A nested group counts as one child with its contents.
  EXPECT_NO_THROW(build({group(StepKind::RandomOrder, 3, 2), group(StepKind::Compose, 1, 1),
                         step(StepKind::RandomInvert), step(StepKind::AugMix)}));
  // Geometry inside: refused, naming the container.
  TransformStep flip = step(StepKind::RandomHorizontalFlip);
  try {
    build({group(StepKind::RandomApply, 1, 1), flip});
    FAIL() << "a flip inside RandomApply was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("cannot be fused yet inside RandomApply"),
              std::string::npos);
  }
  TransformStep gray = step(StepKind::Grayscale);
  gray.num_output_channels = 1;
  EXPECT_THROW(build({group(StepKind::RandomApply, 1, 1), gray}), std::invalid_argument);
  // Spans past the end, or children that do not add up.
  EXPECT_THROW(build({group(StepKind::RandomApply, 2, 2), step(StepKind::RandomInvert)}),
               std::invalid_argument);
  EXPECT_THROW(build({group(StepKind::RandomOrder, 2, 1), step(StepKind::RandomInvert),
                      step(StepKind::RandomEqualize)}),
               std::invalid_argument);
  EXPECT_THROW(build({group(StepKind::RandomChoice, 0, 0)}), std::invalid_argument);
}

TEST(AugmentPolicies, ContainerDrawsArePermutationsAndRespectWeights) {
  TransformStep order = group(StepKind::RandomOrder, 4, 4);
  TransformStep choice = group(StepKind::RandomChoice, 3, 3);
  choice.weights = {0.5, 0.0, 0.5};
  const TransformProgram p = build(
      {order, step(StepKind::RandomInvert), step(StepKind::RandomEqualize),
       step(StepKind::RandomAutocontrast), step(StepKind::RandomInvert), choice,
       step(StepKind::RandomInvert), step(StepKind::RandomEqualize), step(StepKind::RandomInvert)});
  for (uint64_t position = 0; position < 200; ++position) {
    const auto v = p.draw(1, 0, position, 10, 10);
    std::vector<double> perm(v.begin(), v.begin() + 4);
    std::sort(perm.begin(), perm.end());
    EXPECT_EQ(perm, (std::vector<double>{0, 1, 2, 3}));
    const double picked = v[static_cast<size_t>(p.parameter_offset(5))];
    EXPECT_TRUE(picked == 0.0 || picked == 2.0) << picked;
    EXPECT_EQ(v, p.draw(1, 0, position, 10, 10));  // a pure function of the keys
  }
}

TEST(AugmentPolicies, AugMixWeightsSumToOneAndOpsStayInTheirSpace) {
  TransformStep mix = step(StepKind::AugMix);
  mix.mixture_width = 4;
  mix.all_ops = false;
  const auto names = nocopy::augment_parameter_names(mix);
  ASSERT_EQ(names.size(), size_t{5 + 4 + 2 * 4 * 3});
  std::vector<double> v(names.size());
  for (uint64_t position = 0; position < 100; ++position) {
    nocopy::draw_augment_step(mix, DrawKey{3, 1, position, 0}, 20, 30, v.data());
    EXPECT_NEAR(std::accumulate(v.begin(), v.begin() + 5, 0.0), 1.0, 1e-5);
    for (int64_t i = 0; i < 4; ++i) {
      const double depth = v[static_cast<size_t>(5 + i)];
      EXPECT_TRUE(depth >= 1 && depth <= 3);
      for (int64_t j = 0; j < 3; ++j) {
        const double op = v[static_cast<size_t>(9 + i * 3 + j)];
        if (j >= depth) {
          EXPECT_EQ(op, -1.0);
          continue;
        }
        // all_ops=False: no brightness, colour, contrast or sharpness.
        const auto o = static_cast<AugmentOp>(static_cast<int>(op));
        EXPECT_TRUE(o != AugmentOp::Brightness && o != AugmentOp::Color &&
                    o != AugmentOp::Contrast && o != AugmentOp::Sharpness);
        const double m = v[static_cast<size_t>(9 + 12 + i * 3 + j)];
        if (o == AugmentOp::Posterize) {
          EXPECT_TRUE(m == std::floor(m) && m >= 0 && m <= 4);
        }
        if (o == AugmentOp::Rotate) {
          EXPECT_LE(std::abs(m), 30.0);
        }
      }
    }
  }
}

TEST(AugmentPolicies, RotateTurnsExactly) {
  PolicyScratch scratch;
  const int64_t n = 7, c = 3;
  const std::vector<uint8_t> source = ramp(n, n, c);
  // 90 degrees counter-clockwise: out[i][j] = in[j][n - 1 - i]; 270 undoes it; 360 is nothing.
  std::vector<uint8_t> img = source;
  nocopy::rotate_image(ImageU8{img.data(), n, n, c}, 90.0, Interpolation::Nearest, nullptr, nullptr,
                       scratch);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      for (int64_t k = 0; k < c; ++k) {
        EXPECT_EQ(img[static_cast<size_t>((i * n + j) * c + k)],
                  source[static_cast<size_t>((j * n + n - 1 - i) * c + k)]);
      }
    }
  }
  nocopy::rotate_image(ImageU8{img.data(), n, n, c}, -90.0, Interpolation::Bilinear, nullptr,
                       nullptr, scratch);
  EXPECT_EQ(img, source);
  nocopy::rotate_image(ImageU8{img.data(), n, n, c}, 720.0, Interpolation::Bilinear, nullptr,
                       nullptr, scratch);
  EXPECT_EQ(img, source);
  // Half a turn of a non-square image reverses the pixel order.
  std::vector<uint8_t> wide = ramp(3, 5, 1);
  const std::vector<uint8_t> before = wide;
  nocopy::rotate_image(ImageU8{wide.data(), 3, 5, 1}, 180.0, Interpolation::Nearest, nullptr,
                       nullptr, scratch);
  EXPECT_TRUE(std::equal(wide.begin(), wide.end(), before.rbegin()));
}

TEST(AugmentPolicies, PolicyChecksNameTheArgument) {
  TransformStep rand = step(StepKind::RandAugment);
  rand.magnitude = 31;
  EXPECT_THROW(nocopy::validate_step(rand), std::invalid_argument);
  TransformStep mix = step(StepKind::AugMix);
  mix.severity = 11;
  EXPECT_THROW(nocopy::validate_step(mix), std::invalid_argument);
  TransformStep rotation = step(StepKind::RandomRotation);
  rotation.fill = {256.0};
  EXPECT_THROW(nocopy::validate_step(rotation), std::invalid_argument);
  rotation.fill = {};  // fill=None
  EXPECT_NO_THROW(nocopy::validate_step(rotation));
  TransformStep crop = step(StepKind::RandomCrop);
  crop.size = {4, 4};
  crop.fill = {};
  EXPECT_THROW(nocopy::validate_step(crop), std::invalid_argument);
}
