// Tests of ImageSet: index validation (every bad field rejected, naming the sample), the
// in-memory builder (64-byte aligned images, pixels equal to the inputs), zero-copy image views
// and reading a folder written with create_npy.
#include "nocopy/storage/image_set.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "nocopy/storage/npy.hpp"

using nocopy::DType;
using nocopy::ImageSet;
using nocopy::View;

namespace {

using Ints = std::vector<int64_t>;

std::string validate_error(const Ints& shapes, const Ints& offsets, int64_t count,
                           int64_t item = 1) {
  try {
    nocopy::validate_image_index(shapes, offsets, count, item, "shapes.npy", "offsets.npy");
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

View u8_image(int64_t h, int64_t w, int64_t c, uint8_t base) {
  View v = View::empty(DType::UInt8, {h, w, c});
  auto* p = v.data_as<uint8_t>();
  for (int64_t i = 0; i < v.size(); ++i) p[i] = static_cast<uint8_t>(base + i);
  return v;
}

}  // namespace

TEST(ImageSet, ValidIndexPasses) {
  EXPECT_EQ(validate_error({2, 3, 3, 4, 5, 3}, {0, 64}, 64 + 60), "");
  EXPECT_EQ(validate_error({1, 1, 1}, {0}, 1), "");
}

TEST(ImageSet, EveryBadFieldIsRejectedNamingTheSample) {
  EXPECT_NE(validate_error({2, 3, 3}, {0, 64}, 100).find("1 shapes but 2 offsets"),
            std::string::npos);
  std::string e = validate_error({2, 3, 3, 0, 5, 3}, {0, 64}, 200);
  EXPECT_NE(e.find("shapes.npy: sample 1 has shape (0, 5, 3)"), std::string::npos) << e;
  e = validate_error({2, 3, 3, 2, 5, 1}, {0, 64}, 200);
  EXPECT_NE(e.find("sample 1 has 1 channels but sample 0 has 3"), std::string::npos) << e;
  e = validate_error({2, 3, 3, 2, 5, 3}, {0, -64}, 200);
  EXPECT_NE(e.find("offsets.npy: sample 1 has offset -64"), std::string::npos) << e;
  e = validate_error({2, 3, 3, 2, 5, 3}, {0, 65}, 200);
  EXPECT_NE(e.find("not 64-byte aligned"), std::string::npos) << e;
  e = validate_error({2, 3, 3, 2, 5, 3}, {0, 64}, 64 + 29);
  EXPECT_NE(e.find("sample 1 of shape (2, 5, 3) at offset 64 runs past the end"), std::string::npos)
      << e;
  // Sizes whose products or sums overflow int64 are too big, not a wrap-around.
  e = validate_error({INT64_MAX / 2, 4, 3}, {0}, INT64_MAX);
  EXPECT_NE(e.find("runs past the end"), std::string::npos) << e;
  e = validate_error({1, 1, 1}, {INT64_MAX / 64 * 64}, INT64_MAX / 64 * 64, 1);
  EXPECT_NE(e.find("runs past the end"), std::string::npos) << e;
  e = validate_error({1, 1, 1}, {INT64_MAX / 2}, INT64_MAX, 4);
  EXPECT_NE(e.find("outside the pixel array"), std::string::npos) << e;
}

TEST(ImageSet, PackedOffsetsAre64ByteAligned) {
  int64_t total = 0;
  Ints offsets = nocopy::pack_image_offsets(Ints{2, 3, 3, 1, 1, 1, 4, 4, 3}, 2, total);
  EXPECT_EQ(offsets, (Ints{0, 32, 64}));
  EXPECT_EQ(total, 64 + 64);
}

TEST(ImageSet, CopyOfHoldsTheImagesAlignedAndViewsAreZeroCopy) {
  std::vector<View> images = {u8_image(2, 3, 3, 0), u8_image(5, 1, 3, 100), u8_image(1, 1, 3, 7)};
  ImageSet s = ImageSet::copy_of(images, std::nullopt);
  ASSERT_EQ(s.size(), 3);
  EXPECT_EQ(s.channels(), 3);
  EXPECT_FALSE(s.has_labels());
  for (int64_t i = 0; i < 3; ++i) {
    View v = s.image(i);
    EXPECT_EQ(v.shape(), images[i].shape());
    EXPECT_EQ(reinterpret_cast<uintptr_t>(v.data()) % 64, 0u);
    EXPECT_EQ(v.owner(), s.pixels().owner());  // a view of the set's pixels, not a copy
    EXPECT_TRUE(v.readonly());
    for (int64_t k = 0; k < v.size(); ++k) {
      EXPECT_EQ(v.data_as<uint8_t>()[k], images[i].data_as<uint8_t>()[k]);
    }
  }
  EXPECT_EQ(s.image(-1).data(), s.image(2).data());
  EXPECT_THROW(s.image(3), std::out_of_range);
  EXPECT_THROW(s.image(-4), std::out_of_range);
}

TEST(ImageSet, CopyOfRejectsMixedInputs) {
  std::vector<View> mixed = {u8_image(2, 2, 3, 0), View::empty(DType::Float32, {2, 2, 3})};
  EXPECT_THROW(ImageSet::copy_of(mixed, std::nullopt), std::invalid_argument);
  std::vector<View> channels = {u8_image(2, 2, 3, 0), u8_image(2, 2, 1, 0)};
  EXPECT_THROW(ImageSet::copy_of(channels, std::nullopt), std::invalid_argument);
  std::vector<View> flat = {View::empty(DType::UInt8, {4})};
  EXPECT_THROW(ImageSet::copy_of(flat, std::nullopt), std::invalid_argument);
  std::vector<View> ints = {View::empty(DType::Int32, {1, 1, 1})};
  EXPECT_THROW(ImageSet::copy_of(ints, std::nullopt), std::invalid_argument);
  EXPECT_THROW(ImageSet::copy_of({}, std::nullopt), std::invalid_argument);
}

TEST(ImageSet, OpenReadsAFolderAndNamesTheCorruptFile) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("nocopy-imageset-" + std::to_string(getpid()));
  fs::create_directories(dir);
  View pixels = nocopy::create_npy((dir / "pixels.npy").string(), Ints{128}, DType::UInt8);
  for (int64_t i = 0; i < 128; ++i) pixels.data_as<uint8_t>()[i] = static_cast<uint8_t>(i);
  View shapes = nocopy::create_npy((dir / "shapes.npy").string(), Ints{2, 3}, DType::Int64);
  const int64_t shp[] = {2, 3, 3, 4, 4, 3};
  std::copy(std::begin(shp), std::end(shp), shapes.data_as<int64_t>());
  View offsets = nocopy::create_npy((dir / "offsets.npy").string(), Ints{2}, DType::Int64);
  offsets.data_as<int64_t>()[1] = 64;
  View labels = nocopy::create_npy((dir / "labels.npy").string(), Ints{2}, DType::Int64);
  labels.data_as<int64_t>()[1] = 5;

  ImageSet s = ImageSet::open(dir.string());
  EXPECT_EQ(s.size(), 2);
  EXPECT_EQ(s.labels(), (Ints{0, 5}));
  EXPECT_EQ(s.image(1).shape(), (Ints{4, 4, 3}));
  EXPECT_EQ(s.image(1).data_as<uint8_t>()[0], 64);
  EXPECT_EQ(s.pixels().owner()->kind(), "mmap");

  offsets.data_as<int64_t>()[1] = 128;  // the second image now runs past the end
  try {
    ImageSet::open(dir.string());
    ADD_FAILURE() << "a truncated set opened";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("offsets.npy: sample 1"), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}
