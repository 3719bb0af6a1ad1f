// Tests of the compiled transforms pipeline: the order rules, output sizes, the per-axis tables
// of crops, pads and flips (every entry inside the resampled image or a fill), and draws that
// are pure functions of (seed, epoch, position).
#include "nocopy/pipeline/ops/transform_program.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <stdexcept>
#include <vector>

using nocopy::DType;
using nocopy::PadMode;
using nocopy::SampleGeometry;
using nocopy::StepKind;
using nocopy::TransformProgram;
using nocopy::TransformStep;

namespace {

TransformStep step(StepKind kind) {
  TransformStep s;
  s.kind = kind;
  return s;
}

TransformStep sized(StepKind kind, int64_t h, int64_t w) {
  TransformStep s = step(kind);
  s.size = {h, w};
  return s;
}

}  // namespace

TEST(TransformProgram, RefusesOrdersItCannotFuse) {
  auto build = [](std::vector<TransformStep> steps) {
    return TransformProgram(std::move(steps), 3, DType::UInt8);
  };
  EXPECT_THROW(build({sized(StepKind::Resize, 10, 10), sized(StepKind::RandomResizedCrop, 8, 8)}),
               std::invalid_argument);
  EXPECT_THROW(build({sized(StepKind::CenterCrop, 10, 10), sized(StepKind::Resize, 8, 8)}),
               std::invalid_argument);
  EXPECT_THROW(build({step(StepKind::RandomInvert), sized(StepKind::CenterCrop, 8, 8)}),
               std::invalid_argument);
  TransformStep normalize = step(StepKind::Normalize);
  normalize.mean = {0.5};
  normalize.std = {0.5};
  EXPECT_THROW(build({normalize}), std::invalid_argument);  // needs a float ToDtype first
  EXPECT_THROW(TransformProgram({step(StepKind::RandomInvert)}, 3, DType::Float32),
               std::invalid_argument);
  TransformStep bad = step(StepKind::RandomHorizontalFlip);
  bad.p = 1.5;
  EXPECT_THROW(build({bad}), std::invalid_argument);
}

TEST(TransformProgram, OutputSizesFollowEachStep) {
  TransformStep resize = sized(StepKind::Resize, 32, -1);
  TransformStep crop = sized(StepKind::RandomCrop, 30, 30);
  crop.padding = {1, 2, 3, 4};
  const TransformProgram p({resize, crop}, 3, DType::UInt8);
  EXPECT_EQ(p.output_size(64, 128, nullptr), (std::array<int64_t, 2>{30, 30}));
  std::string why;
  TransformStep big = sized(StepKind::RandomCrop, 50, 50);
  const TransformProgram q({big}, 3, DType::UInt8);
  EXPECT_EQ(q.output_size(40, 40, &why)[0], -1);
  EXPECT_NE(why.find("larger than the padded image"), std::string::npos);
}

TEST(TransformProgram, TablesStayInsideTheResampledImageOrFill) {
  TransformStep rrc = sized(StepKind::RandomResizedCrop, 24, 20);
  TransformStep pad = step(StepKind::Pad);
  pad.padding = {3, 1, 0, 5};
  pad.padding_mode = PadMode::Reflect;
  TransformStep crop = sized(StepKind::RandomCrop, 26, 26);
  crop.pad_if_needed = true;
  TransformStep flip = step(StepKind::RandomHorizontalFlip);
  const TransformProgram p({rrc, pad, crop, flip, step(StepKind::RandomVerticalFlip)}, 3,
                           DType::UInt8);
  SampleGeometry g;
  for (uint64_t pos = 0; pos < 500; ++pos) {
    const auto params = p.draw(9, 2, pos, 57, 43);
    EXPECT_EQ(params, p.draw(9, 2, pos, 57, 43));
    nocopy::sample_geometry(p, params, 57, 43, g);
    ASSERT_EQ(g.rows.size(), 26u);
    ASSERT_EQ(g.cols.size(), 26u);
    EXPECT_EQ(g.resized_h, 24);
    EXPECT_EQ(g.resized_w, 20);
    EXPECT_LE(g.top + g.height, 57);
    EXPECT_LE(g.left + g.width, 43);
    for (int64_t r : g.rows) {
      EXPECT_LT(r, 24);
      if (r < 0) {
        EXPECT_LT(static_cast<size_t>(-1 - r) * 3, g.fill.size());
      }
    }
    for (int64_t c : g.cols) {
      EXPECT_LT(c, 20);
      if (c < 0) {
        EXPECT_LT(static_cast<size_t>(-1 - c) * 3, g.fill.size());
      }
    }
  }
}

TEST(TransformProgram, FlipsReverseTheTables) {
  TransformStep flip = step(StepKind::RandomHorizontalFlip);
  flip.p = 1.0;
  const TransformProgram p({flip}, 1, DType::UInt8);
  SampleGeometry g;
  nocopy::sample_geometry(p, p.draw(0, 0, 0, 4, 5), 4, 5, g);
  EXPECT_EQ(g.cols, (std::vector<int64_t>{4, 3, 2, 1, 0}));
  EXPECT_EQ(g.rows, (std::vector<int64_t>{0, 1, 2, 3}));
}
