// Tests of the loader over ImageSets and with the resizing crop modes: each batch sample equals
// resample_window applied to its planned window, the plain modes check every image against the
// crop, and plans give each window's size.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "nocopy/pipeline/producers/loader.hpp"
#include "nocopy/pipeline/sources/image_source.hpp"
#include "nocopy/storage/image_set.hpp"

using nocopy::CropMode;
using nocopy::DType;
using nocopy::ImageSet;
using nocopy::Loader;
using nocopy::LoaderOptions;
using nocopy::View;

namespace {

ImageSet make_set(const std::vector<std::pair<int64_t, int64_t>>& sizes) {
  std::vector<View> images;
  uint8_t v = 0;
  for (auto [h, w] : sizes) {
    View im = View::empty(DType::UInt8, {h, w, 3});
    for (int64_t i = 0; i < im.size(); ++i) im.data_as<uint8_t>()[i] = v += 37;
    images.push_back(im);
  }
  return ImageSet::copy_of(images, std::nullopt);
}

/// Image i of a raw set as the resampling kernel reads it (from its own view's strides).
nocopy::ResizeSource pixels_of(const ImageSet& set, int64_t i) {
  const View im = set.image(i);
  return {im.data(),     im.dtype(),      im.shape()[0],   im.shape()[1],
          im.shape()[2], im.strides()[0], im.strides()[1], im.strides()[2]};
}

}  // namespace

TEST(LoaderImages, RandomResizedSamplesEqualTheKernelOnTheirPlannedWindows) {
  ImageSet set = make_set({{30, 40}, {17, 9}, {64, 50}, {5, 80}, {1, 1}});
  LoaderOptions o;
  o.batch_size = 2;
  o.crop = std::array<int64_t, 2>{12, 10};
  o.crop_mode = CropMode::RandomResized;
  o.num_threads = 2;
  o.scale = 1.0;
  o.layout = nocopy::Layout::HWC;
  Loader loader(set, std::nullopt, o);
  ASSERT_EQ(loader.num_batches(), 3);
  const float ones[3] = {1, 1, 1}, zeros[3] = {0, 0, 0};
  for (int64_t b = 0; b < 3; ++b) {
    nocopy::Batch batch;
    loader.next(batch);
    const nocopy::BatchPlan p = loader.plan(b);
    for (size_t k = 0; k < p.indices.size(); ++k) {
      ASSERT_GE(p.height[k], 1);
      ASSERT_LE(p.top[k] + p.height[k], set.height(p.indices[k]));
      std::vector<float> want(12 * 10 * 3);
      nocopy::ResizeScratch scratch;
      const auto g = nocopy::window_geometry(
          loader.config().crop, {p.top[k], p.left[k], p.height[k], p.width[k]}, p.mirror[k] != 0);
      nocopy::resample_window(pixels_of(set, p.indices[k]), g,
                              {want.data(), DType::Float32, false, ones, zeros}, scratch);
      const float* got = batch.images.data_as<float>() + k * want.size();
      ASSERT_EQ(std::memcmp(got, want.data(), want.size() * sizeof(float)), 0);
    }
  }
}

TEST(LoaderImages, PlainModesNeedEveryImageToHoldTheCrop) {
  ImageSet set = make_set({{30, 40}, {17, 9}});
  LoaderOptions o;
  o.crop = std::array<int64_t, 2>{16, 16};
  try {
    Loader loader(set, std::nullopt, o);
    ADD_FAILURE() << "a crop larger than sample 1 was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("sample 1 of size (17, 9) is smaller than crop (16, 16)"),
              std::string::npos)
        << e.what();
  }
  o.crop = std::array<int64_t, 2>{8, 8};
  Loader loader(set, std::nullopt, o);  // fits both
  EXPECT_EQ(loader.plan(0).height[0], 8);
}

TEST(LoaderImages, OptionsOfAnotherCropModeAreRefused) {
  View images = View::empty(DType::UInt8, {4, 20, 30, 3});
  LoaderOptions o;
  o.crop = std::array<int64_t, 2>{8, 12};
  o.crop_mode = CropMode::Random;
  o.area = std::array<double, 2>{0.5, 1.0};
  EXPECT_THROW(Loader(images, std::nullopt, o), std::invalid_argument);
  o.area.reset();
  o.ratio = std::array<double, 2>{1.0, 1.0};
  EXPECT_THROW(Loader(images, std::nullopt, o), std::invalid_argument);
  o.crop_mode = CropMode::RandomResized;  // the mode that uses area and ratio
  EXPECT_NO_THROW(Loader(images, std::nullopt, o));
  o.resize = 14;
  EXPECT_THROW(Loader(images, std::nullopt, o), std::invalid_argument);
}

TEST(LoaderImages, ResizeCenterChecksResizeAgainstTheCrop) {
  View images = View::empty(DType::UInt8, {4, 20, 30, 3});
  std::memset(images.data(), 9, static_cast<size_t>(images.nbytes()));
  LoaderOptions o;
  o.crop = std::array<int64_t, 2>{8, 12};
  o.crop_mode = CropMode::ResizeCenter;
  o.resize = 10;
  EXPECT_THROW(Loader(images, std::nullopt, o), std::invalid_argument);
  o.resize = 12;
  o.scale = 1.0;
  Loader loader(images, std::nullopt, o);
  nocopy::Batch batch;
  loader.next(batch);
  for (int64_t i = 0; i < batch.images.size(); ++i) {
    ASSERT_NEAR(batch.images.data_as<float>()[i], 9.0f, 1e-4);  // a constant stays constant
  }
  EXPECT_EQ(loader.plan(0).height[0], 20);  // the window of resize_center: the whole image
}
