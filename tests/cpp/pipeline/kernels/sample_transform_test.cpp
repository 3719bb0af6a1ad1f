// Tests of SampleTransform: every dtype / layout / mirror / stride case against a scalar
// reference, the uint8 rule, and argument validation.
#include "nocopy/pipeline/kernels/sample_transform.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "internal/half.hpp"
#include "nocopy/core/errors.hpp"

using nocopy::DType;
using nocopy::Layout;
using nocopy::SampleTransform;
using nocopy::TransformSpec;
using nocopy::View;

namespace {

// A random (N, H, W, C) uint8 or float32 array.
View random_images(DType t, std::vector<int64_t> shape, unsigned seed) {
  View v = View::empty(t, shape);
  std::mt19937 rng(seed);
  for (int64_t i = 0; i < v.size(); ++i) {
    if (t == DType::UInt8) {
      v.data_as<uint8_t>()[i] = static_cast<uint8_t>(rng() & 0xff);
    } else {
      v.data_as<float>()[i] = static_cast<float>(rng() % 2000) / 7.0f - 100.0f;
    }
  }
  return v;
}

float source_at(const View& v, int64_t n, int64_t y, int64_t x, int64_t c) {
  const auto& s = v.strides();
  const int64_t off = n * s[0] + y * s[1] + x * s[2] + c * s[3];
  return v.dtype() == DType::UInt8 ? static_cast<float>(v.data_as<uint8_t>()[off])
                                   : v.data_as<float>()[off];
}

// Scalar reference of one sample, computed element by element, as float.
std::vector<float> reference(const SampleTransform& t, const View& src, int64_t n, int64_t top,
                             int64_t left, bool mirror) {
  const auto& sp = t.spec();
  const int64_t C = t.channels(), h = sp.crop_h, w = sp.crop_w;
  std::vector<float> out(static_cast<size_t>(h * w * C));
  for (int64_t y = 0; y < h; ++y) {
    for (int64_t x = 0; x < w; ++x) {
      for (int64_t c = 0; c < C; ++c) {
        const int64_t sx = mirror ? left + w - 1 - x : left + x;
        float v = source_at(src, n, top + y, sx, c);
        if (sp.dtype != DType::UInt8) v = v * t.multipliers()[c] + t.offsets()[c];
        const int64_t o = sp.layout == Layout::CHW ? (c * h + y) * w + x : (y * w + x) * C + c;
        out[o] = v;
      }
    }
  }
  return out;
}

// The produced sample as float, decoded from the output dtype.
std::vector<float> decode(const std::vector<unsigned char>& bytes, DType t) {
  std::vector<float> out;
  const size_t item = nocopy::itemsize(t);
  for (size_t i = 0; i < bytes.size(); i += item) {
    uint16_t b16;
    float f;
    switch (t) {
      case DType::Float32:
        std::memcpy(&f, &bytes[i], 4);
        out.push_back(f);
        break;
      case DType::Float16:
        std::memcpy(&b16, &bytes[i], 2);
        out.push_back(nocopy::half_bits_to_float(b16));
        break;
      case DType::BFloat16:
        std::memcpy(&b16, &bytes[i], 2);
        out.push_back(nocopy::bfloat16_bits_to_float(b16));
        break;
      default:
        out.push_back(bytes[i]);
        break;
    }
  }
  return out;
}

// Rounds a reference value the way the output dtype stores it.
float round_to(float v, DType t) {
  if (t == DType::Float16) return nocopy::half_bits_to_float(nocopy::float_to_half_bits(v));
  if (t == DType::BFloat16) {
    return nocopy::bfloat16_bits_to_float(nocopy::float_to_bfloat16_bits(v));
  }
  return v;
}

void check_all(const View& src, TransformSpec spec) {
  SampleTransform t(src, spec);
  const auto& shape = src.shape();
  std::mt19937 rng(3);
  for (int trial = 0; trial < 6; ++trial) {
    const int64_t n = static_cast<int64_t>(rng() % shape[0]);
    const int64_t top = static_cast<int64_t>(rng() % (shape[1] - spec.crop_h + 1));
    const int64_t left = static_cast<int64_t>(rng() % (shape[2] - spec.crop_w + 1));
    const bool mirror = trial % 2 == 1;
    std::vector<unsigned char> bytes(t.sample_bytes() + 1, 0xAB);
    t.apply(n, top, left, mirror, bytes.data());
    ASSERT_EQ(bytes.back(), 0xAB) << "wrote past the sample";
    bytes.pop_back();
    const auto got = decode(bytes, spec.dtype);
    const auto want = reference(t, src, n, top, left, mirror);
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) {
      ASSERT_EQ(got[i], round_to(want[i], spec.dtype))
          << "element " << i << " dtype " << nocopy::dtype_name(spec.dtype) << " layout "
          << (spec.layout == Layout::CHW ? "CHW" : "HWC") << " mirror " << mirror;
    }
  }
}

}  // namespace

TEST(SampleTransform, EveryOutputDtypeLayoutAndChannelCount) {
  for (int64_t C : {1, 2, 3, 4, 5}) {
    for (DType src_t : {DType::UInt8, DType::Float32}) {
      View src = random_images(src_t, {3, 9, 11, C}, static_cast<unsigned>(C));
      for (DType out : {DType::Float32, DType::Float16, DType::BFloat16, DType::UInt8}) {
        if (out == DType::UInt8 && src_t != DType::UInt8) continue;
        for (Layout l : {Layout::CHW, Layout::HWC}) {
          TransformSpec spec;
          spec.crop_h = 5;
          spec.crop_w = 7;
          spec.layout = l;
          spec.dtype = out;
          if (out != DType::UInt8) {
            spec.scale = 1.0 / 255.0;
            spec.mean = std::vector<double>(static_cast<size_t>(C), 0.45);
            spec.std = std::vector<double>(static_cast<size_t>(C), 0.225);
            spec.mean[0] = 0.485;
          }
          check_all(src, spec);
        }
      }
    }
  }
}

TEST(SampleTransform, WideRgbRowsUseEveryVectorPathAndTail) {
  // Widths around multiples of 8 exercise the 8-pixel shuffle steps and the scalar tail.
  View src = random_images(DType::UInt8, {3, 6, 80, 3}, 21);
  for (int64_t w : {8, 9, 15, 16, 17, 37, 64, 80}) {
    for (DType out : {DType::Float32, DType::Float16, DType::BFloat16}) {
      TransformSpec spec;
      spec.crop_h = 3;
      spec.crop_w = w;
      spec.dtype = out;
      spec.scale = 1.0 / 255.0;
      spec.mean = {0.485, 0.456, 0.406};
      spec.std = {0.229, 0.224, 0.225};
      check_all(src, spec);
    }
  }
}

TEST(SampleTransform, AnyStridesIncludingNegativeAndChannelsFirstSources) {
  // A (N, C, H, W) array permuted to (N, H, W, C): channels are not contiguous.
  View chw = random_images(DType::UInt8, {2, 3, 10, 12}, 11);
  const std::vector<int64_t> order{0, 2, 3, 1};
  View nhwc = chw.permute(order);
  TransformSpec spec;
  spec.crop_h = 4;
  spec.crop_w = 6;
  for (Layout l : {Layout::CHW, Layout::HWC}) {
    spec.layout = l;
    check_all(nhwc, spec);
    check_all(nhwc.flip(2).flip(1), spec);  // negative strides on H and W
  }
  // A channel subset (stride 2 between channels) and a column step.
  View wide = random_images(DType::Float32, {2, 10, 24, 6}, 5);
  check_all(wide.slice(3, 0, 6, 2).slice(2, 0, 24, 2), spec);
}

TEST(SampleTransform, ScaleOnlyMatchesFormula) {
  View src = random_images(DType::UInt8, {1, 4, 4, 3}, 1);
  TransformSpec spec;
  spec.crop_h = 4;
  spec.crop_w = 4;
  spec.scale = 1.0 / 255.0;
  SampleTransform t(src, spec);
  EXPECT_EQ(t.multipliers()[0], static_cast<float>(1.0 / 255.0));
  EXPECT_EQ(t.offsets()[2], 0.0f);
  std::vector<float> out(48);
  t.apply(0, 0, 0, false, out.data());
  EXPECT_EQ(out[0], src.data_as<uint8_t>()[0] * static_cast<float>(1.0 / 255.0));
  EXPECT_EQ(out[16], src.data_as<uint8_t>()[1] * static_cast<float>(1.0 / 255.0));  // channel 1
}

TEST(SampleTransform, Uint8OutputRuleAndValidation) {
  View u8 = random_images(DType::UInt8, {2, 8, 8, 3}, 2);
  View f32 = random_images(DType::Float32, {2, 8, 8, 3}, 2);
  TransformSpec spec;
  spec.crop_h = 4;
  spec.crop_w = 4;
  spec.dtype = DType::UInt8;
  EXPECT_NO_THROW(SampleTransform(u8, spec));
  EXPECT_THROW(SampleTransform(f32, spec), std::invalid_argument);
  spec.scale = 1.0 / 255;
  EXPECT_THROW(SampleTransform(u8, spec), std::invalid_argument);
  spec.scale = 1.0;
  spec.mean = {0.5};
  EXPECT_THROW(SampleTransform(u8, spec), std::invalid_argument);

  TransformSpec ok;
  ok.crop_h = 4;
  ok.crop_w = 4;
  auto bad = [&](auto edit, const View& src) {
    TransformSpec s = ok;
    edit(s);
    EXPECT_THROW(SampleTransform(src, s), std::invalid_argument);
  };
  bad([](TransformSpec& s) { s.mean = {1, 2}; }, u8);
  bad([](TransformSpec& s) { s.std = {1, 0, 1}; }, u8);
  bad([](TransformSpec& s) { s.dtype = DType::Int32; }, u8);
  bad([](TransformSpec& s) { s.scale = std::numeric_limits<double>::infinity(); }, u8);
  bad([](TransformSpec&) {}, View::empty(DType::UInt8, {8, 8, 3}));
  bad([](TransformSpec&) {}, View::empty(DType::Int32, {1, 8, 8, 3}));
  try {
    TransformSpec s = ok;
    s.mean = {1, 2};
    SampleTransform(u8, s);
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "mean has 2 values but the images have 3 channels");
  }
  View gpu(u8.data(), DType::UInt8, u8.shape(), u8.strides(), u8.owner(), false, {2, 0});
  EXPECT_THROW(SampleTransform(gpu, ok), nocopy::BufferError);
}
