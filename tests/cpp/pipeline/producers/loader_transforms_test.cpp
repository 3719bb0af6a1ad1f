// Tests of the image loader with a transforms pipeline and batch transforms, run under the
// sanitizers: every step kind's kernels on real batches (crops and pads at the edges, colour,
// warps, policies, erasing, MixUp / CutMix), the same bytes whatever the thread count, and soft
// labels that sum to one.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "nocopy/pipeline/producers/loader.hpp"

using nocopy::BatchMixSpec;
using nocopy::DType;
using nocopy::Loader;
using nocopy::LoaderOptions;
using nocopy::MixKind;
using nocopy::PadMode;
using nocopy::StepKind;
using nocopy::TransformProgram;
using nocopy::TransformStep;
using nocopy::View;

namespace {

TransformStep step(StepKind kind) {
  TransformStep s;
  s.kind = kind;
  return s;
}

View images_of(int64_t n, int64_t h, int64_t w) {
  View v = View::empty(DType::UInt8, {n, h, w, 3});
  uint32_t x = 12345;
  for (int64_t i = 0; i < v.size(); ++i) {
    x = x * 1664525u + 1013904223u;
    v.data_as<uint8_t>()[i] = static_cast<uint8_t>(x >> 24);
  }
  return v;
}

std::vector<TransformStep> recipe() {
  TransformStep rrc = step(StepKind::RandomResizedCrop);
  rrc.size = {24, 20};
  TransformStep pad = step(StepKind::Pad);
  pad.padding = {2, 1, 3, 0};
  pad.padding_mode = PadMode::Reflect;
  TransformStep crop = step(StepKind::RandomCrop);
  crop.size = {26, 26};
  crop.pad_if_needed = true;
  crop.fill = {9.0, 99.0, 199.0};
  TransformStep jitter = step(StepKind::ColorJitter);
  jitter.jitter = {{{0.6, 1.4}, {0.6, 1.4}, {0.6, 1.4}, {-0.1, 0.1}}};
  TransformStep blur = step(StepKind::GaussianBlur);
  blur.kernel = {3, 5};
  TransformStep to_float = step(StepKind::ToDtype);
  to_float.dtype = DType::Float32;
  to_float.scale_values = true;
  TransformStep normalize = step(StepKind::Normalize);
  normalize.mean = {0.5, 0.4, 0.3};
  normalize.std = {0.2, 0.25, 0.3};
  TransformStep erase = step(StepKind::RandomErasing);
  erase.p = 0.7;
  return {rrc,       pad,
          crop,      step(StepKind::RandomHorizontalFlip),
          jitter,    step(StepKind::RandomEqualize),
          blur,      to_float,
          normalize, erase};
}

std::vector<float> run(int threads, bool mix, std::vector<float>* labels_out) {
  View images = images_of(20, 31, 45);
  View labels = View::empty(DType::Int64, {20});
  for (int64_t i = 0; i < 20; ++i) labels.data_as<int64_t>()[i] = i % 4;
  LoaderOptions o;
  o.batch_size = 6;
  o.num_threads = threads;
  o.seed = 5;
  auto program = std::make_shared<const TransformProgram>(recipe(), 3, DType::UInt8);
  std::shared_ptr<const BatchMixSpec> spec;
  if (mix) {
    BatchMixSpec m;
    m.num_classes = 4;
    m.choices = {{MixKind::MixUp, 0.4, 1.0}, {MixKind::CutMix, 1.0, 1.0}};
    spec = std::make_shared<const BatchMixSpec>(m);
  }
  Loader loader(nocopy::image_source(images), labels, o, program, spec);
  std::vector<float> out;
  for (int b = 0; b < 4; ++b) {
    nocopy::Batch batch;
    loader.next(batch);
    EXPECT_EQ(batch.images.shape(), (std::vector<int64_t>{batch.images.shape()[0], 3, 26, 26}));
    const auto* x = static_cast<const float*>(batch.images.data());
    out.insert(out.end(), x, x + batch.images.size());
    if (labels_out) {
      const auto* y = static_cast<const float*>(batch.labels->data());
      labels_out->insert(labels_out->end(), y, y + batch.labels->size());
    }
  }
  return out;
}

}  // namespace

TEST(LoaderTransforms, SameBytesWhateverTheThreadCount) {
  const std::vector<float> one = run(1, false, nullptr);
  const std::vector<float> two = run(2, false, nullptr);
  ASSERT_EQ(one.size(), two.size());
  EXPECT_EQ(std::memcmp(one.data(), two.data(), one.size() * sizeof(float)), 0);
  for (float v : one) ASSERT_TRUE(std::isfinite(v));
}

TEST(LoaderTransforms, MixedBatchesHaveSoftLabelsSummingToOne) {
  std::vector<float> labels;
  const std::vector<float> x = run(2, true, &labels);
  ASSERT_EQ(labels.size() % 4, 0u);
  for (size_t r = 0; r < labels.size(); r += 4) {
    const float sum = labels[r] + labels[r + 1] + labels[r + 2] + labels[r + 3];
    EXPECT_NEAR(sum, 1.0f, 1e-5f);
  }
  std::vector<float> again;
  EXPECT_EQ(run(1, true, &again), x);
  EXPECT_EQ(again, labels);
}

TEST(LoaderTransforms, WarpsAndPoliciesRunOnEverySample) {
  TransformStep rotate = step(StepKind::RandomRotation);
  rotate.degrees = {-30.0, 30.0};
  rotate.interpolation = nocopy::Interpolation::Bilinear;
  View images = images_of(12, 17, 23);
  LoaderOptions o;
  o.batch_size = 4;
  o.num_threads = 2;
  auto program = std::make_shared<const TransformProgram>(
      std::vector<TransformStep>{rotate, step(StepKind::TrivialAugmentWide),
                                 step(StepKind::AugMix)},
      3, DType::UInt8);
  Loader loader(nocopy::image_source(images), std::nullopt, o, program, nullptr);
  for (int b = 0; b < 3; ++b) {
    nocopy::Batch batch;
    loader.next(batch);
    EXPECT_EQ(batch.images.dtype(), DType::UInt8);
    EXPECT_EQ(batch.images.shape()[2], 17);
  }
}
