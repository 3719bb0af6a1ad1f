// Tests of ImageSet, raw and JPEG: index validation (every bad field rejected, naming the
// sample; overlapping or out-of-order images refused; random indexes rejected or inside), the
// in-memory builder (64-byte aligned images, pixels equal to the inputs), zero-copy image and
// byte views, the format's members refusing the other format, and opening folders written with
// create_npy: manifest checks, N checked before the index is read, hostile files refused.
#include "nocopy/storage/image_set.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "dataset_folder_test_util.hpp"
#include "nocopy/core/errors.hpp"
#include "nocopy/storage/npy_file.hpp"

using nocopy::DType;
using nocopy::ImageFormat;
using nocopy::ImageSet;
using nocopy::View;
namespace fs = std::filesystem;

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

std::string jpeg_error(const Ints& shapes, const Ints& offsets, const Ints& lengths,
                       int64_t bytes) {
  try {
    nocopy::validate_jpeg_index(shapes, offsets, lengths, bytes, "S", "O", "L");
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

View i64(Ints& v, std::vector<int64_t> shape) {
  return View::c_contiguous(v.data(), DType::Int64, std::move(shape), nullptr);
}

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
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

TEST(ImageSet, ImagesAreInOrderWithoutOverlap) {
  EXPECT_EQ(validate_error({1, 64, 1, 1, 1, 1}, {0, 64}, 128), "");  // touching: fine
  std::string e = validate_error({2, 3, 3, 1, 1, 3}, {64, 0}, 128);
  EXPECT_NE(e.find("offsets.npy: sample 1 starts at element 0, before sample 0 ends (element 82)"),
            std::string::npos)
      << e;
  e = validate_error({1, 65, 1, 1, 1, 1}, {0, 64}, 128);  // sample 0 runs into sample 1
  EXPECT_NE(e.find("sample 1 starts at element 64, before sample 0 ends (element 65)"),
            std::string::npos)
      << e;
  EXPECT_NE(validate_error({1, 1, 1, 1, 1, 1}, {0, 0}, 128).find("without overlap"),
            std::string::npos);
}

TEST(ImageSet, RandomRawIndexesAreRejectedOrInsideAndDisjoint) {
  std::mt19937_64 rng(7);
  int accepted = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    const int64_t count = static_cast<int64_t>(rng() % 400);
    const int64_t item = int64_t{1} << (rng() % 3);
    Ints shapes, offsets;
    const int64_t slot = 64 / item;  // elements per 64 bytes
    int64_t at = 0;                  // offsets near a running position: often valid, not always
    for (int i = 0; i < 3; ++i) {
      shapes.insert(shapes.end(), {static_cast<int64_t>(rng() % 6) - 1,
                                   static_cast<int64_t>(rng() % 6), 1 + (trial % 5 == 0 ? i : 0)});
      offsets.push_back(trial % 11 == 0 ? static_cast<int64_t>(rng())
                                        : at + slot * static_cast<int64_t>(rng() % 3) -
                                              static_cast<int64_t>(rng() % 5 == 0));
      at = offsets.back() + slot * static_cast<int64_t>(rng() % 3);
    }
    if (!validate_error(shapes, offsets, count, item).empty()) continue;
    ++accepted;
    int64_t prev_end = 0;
    for (int i = 0; i < 3; ++i) {
      const int64_t n = shapes[3 * i] * shapes[3 * i + 1] * shapes[3 * i + 2];
      ASSERT_GE(offsets[i], prev_end);
      ASSERT_LE(offsets[i] + n, count);
      ASSERT_EQ(offsets[i] * item % 64, 0);
      prev_end = offsets[i] + n;
    }
  }
  EXPECT_GT(accepted, 30);  // the valid cases are exercised too
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

using dataset_folder_test::TempDir;
using dataset_folder_test::write_text;

void write_manifest(const TempDir& dir, int64_t n, const std::string& extra = "") {
  write_text(dir / "manifest.json",
             "{\"format_version\": 1, \"num_images\": " + std::to_string(n) + extra + "}");
}

TEST(ImageSet, OpenReadsAFolderAndNamesTheCorruptFile) {
  TempDir tmp("imageset");
  const fs::path& dir = tmp.path;
  write_manifest(tmp, 2,
                 ", \"classes\": [\"a\", \"b\", \"c\", \"d\", \"e\", \"f\"], "
                 "\"skipped\": [{\"path\": \"x.png\", \"error\": \"broken\"}]");
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
  EXPECT_EQ(s.format(), ImageFormat::Raw);
  EXPECT_EQ(s.size(), 2);
  ASSERT_TRUE(s.classes().has_value());
  EXPECT_EQ(s.classes()->size(), 6u);
  ASSERT_EQ(s.skipped().size(), 1u);
  EXPECT_EQ(s.skipped()[0].path, "x.png");
  EXPECT_EQ(s.skipped()[0].error, "broken");
  EXPECT_THROW(s.encoded(0), nocopy::TypeError);  // raw sets have pixels, not encoded bytes
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
  offsets.data_as<int64_t>()[1] = 64;
  labels.data_as<int64_t>()[1] = 6;  // outside the manifest's 6 classes
  std::string e = error_of([&] { ImageSet::open(dir.string()); });
  EXPECT_NE(e.find("labels.npy: sample 1 has label 6, outside the 6 classes"), std::string::npos)
      << e;
  labels.data_as<int64_t>()[1] = 5;
  write_manifest(tmp, 3);
  e = error_of([&] { ImageSet::open(dir.string()); });
  EXPECT_NE(e.find("manifest.json: num_images is 3 but offsets.npy holds 2"), std::string::npos)
      << e;
}

TEST(ImageSet, OpenRefusesMissingAndHostileFiles) {
  TempDir tmp("imageset-hostile");
  EXPECT_THROW(ImageSet::open(tmp / "nothing"), nocopy::FileError);
  try {
    ImageSet::open(tmp.path.string());  // no manifest
    ADD_FAILURE() << "opened a folder without a manifest";
  } catch (const nocopy::FileError& e) {
    EXPECT_EQ(e.code().value(), ENOENT);
    EXPECT_EQ(e.path(), tmp / "manifest.json");
  }
  ASSERT_EQ(::mkfifo((tmp / "manifest.json").c_str(), 0600), 0);
  std::string e = error_of([&] { ImageSet::open(tmp.path.string()); });  // never blocks
  EXPECT_NE(e.find("a FIFO, not a regular file"), std::string::npos) << e;
  fs::remove(tmp / "manifest.json");
  fs::create_symlink("/dev/zero", tmp / "manifest.json");
  e = error_of([&] { ImageSet::open(tmp.path.string()); });
  EXPECT_NE(e.find("a character device, not a regular file"), std::string::npos) << e;
  fs::remove(tmp / "manifest.json");
  // A valid manifest and a FIFO where pixels.npy should be.
  write_manifest(tmp, 1);
  ASSERT_EQ(::mkfifo((tmp / "pixels.npy").c_str(), 0600), 0);
  e = error_of([&] { ImageSet::open(tmp.path.string()); });
  EXPECT_NE(e.find("pixels.npy': it is a FIFO"), std::string::npos) << e;
}

TEST(ImageSet, OpenChecksTheCountBeforeReadingTheIndex) {
  TempDir tmp("imageset-count");
  const int64_t n = 1000000;  // sparse files: 32 MB of index that must never be read
  nocopy::create_npy(tmp / "pixels.npy", Ints{4096}, DType::UInt8);
  nocopy::create_npy(tmp / "shapes.npy", Ints{n, 3}, DType::Int64);
  nocopy::create_npy(tmp / "offsets.npy", Ints{n}, DType::Int64);
  write_manifest(tmp, n - 1);
  std::string e = error_of([&] { ImageSet::open(tmp.path.string()); });
  EXPECT_NE(e.find("num_images is 999999 but offsets.npy holds 1000000"), std::string::npos) << e;
  write_manifest(tmp, n);
  e = error_of([&] { ImageSet::open(tmp.path.string()); });
  EXPECT_NE(e.find("offsets.npy: 1000000 images need at least 64 * (N - 1) + 1 bytes of pixels"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("pixels.npy holds 4096 bytes"), std::string::npos) << e;
}

TEST(JpegImageSet, ViewsEachSampleWithoutCopying) {
  View bytes = View::empty(DType::UInt8, {100});
  Ints shapes = {10, 20, 3, 5, 6, 3}, offsets = {0, 40}, lengths = {40, 60};
  Ints labels = {3, 1};
  auto set = ImageSet::from_jpeg_index(bytes, i64(shapes, {2, 3}), i64(offsets, {2}),
                                       i64(lengths, {2}), i64(labels, {2}), "mem");
  EXPECT_EQ(set.format(), ImageFormat::Jpeg);
  EXPECT_EQ(set.size(), 2);
  EXPECT_EQ(set.channels(), 3);
  EXPECT_EQ(set.dtype(), DType::UInt8);
  EXPECT_EQ(set.height(0), 10);
  EXPECT_EQ(set.width(1), 6);
  EXPECT_EQ(set.encoded(1).data(), static_cast<uint8_t*>(bytes.data()) + 40);
  EXPECT_EQ(set.encoded(-1).shape()[0], 60);
  EXPECT_EQ(set.encoded_size(0), size_t{40});
  EXPECT_EQ(set.labels(), labels);
  EXPECT_EQ(set.data().owner(), bytes.owner());
  EXPECT_THROW(set.encoded(2), std::out_of_range);
  EXPECT_THROW(set.encoded(-3), std::out_of_range);
  EXPECT_THROW(set.image(0), nocopy::TypeError);  // storage knows no codec
  EXPECT_THROW(set.pixels(), nocopy::TypeError);
}

TEST(JpegImageSet, BadIndexNamesTheFileAndSample) {
  const Ints s = {4, 4, 3, 4, 4, 3};
  EXPECT_EQ(jpeg_error(s, {0, 10}, {10, 10}, 20), "");
  EXPECT_EQ(jpeg_error(s, {0, 10}, {10, 11}, 20),
            "O: sample 1 bytes [10, 10 + 11) run outside the byte array of 20 bytes");
  EXPECT_EQ(jpeg_error(s, {0, -1}, {10, 1}, 20),
            "O: sample 1 bytes [-1, -1 + 1) run outside the byte array of 20 bytes");
  EXPECT_EQ(jpeg_error(s, {0, INT64_MAX}, {10, INT64_MAX}, 20).substr(0, 12), "O: sample 1 ");
  EXPECT_EQ(jpeg_error(s, {0, 10}, {0, 10}, 20), "L: sample 0 has length 0; must be >= 1");
  EXPECT_EQ(jpeg_error({4, 4, 3, 0, 4, 3}, {0, 10}, {10, 10}, 20),
            "S: sample 1 has shape (0, 4, 3); decoded JPEG images are (H >= 1, W >= 1, 3)");
  EXPECT_EQ(jpeg_error({4, 4, 1}, {0}, {10}, 20).substr(0, 22), "S: sample 0 has shape ");
  EXPECT_NE(jpeg_error(s, {0}, {10}, 20), "");
  EXPECT_EQ(jpeg_error(s, {0, 9}, {10, 10}, 20),
            "O: sample 1 starts at byte 9, before sample 0 ends (byte 10); images are stored in "
            "order, without overlap");
}

TEST(JpegImageSet, RandomIndexesAreRejectedOrInsideAndDisjoint) {
  std::mt19937_64 rng(11);
  int accepted = 0;
  for (int trial = 0; trial < 2000; ++trial) {
    const int64_t bytes = static_cast<int64_t>(rng() % 200);
    Ints shapes, offsets, lengths;
    int64_t at = 0;  // offsets near a running position: often valid, not always
    for (int i = 0; i < 3; ++i) {
      shapes.insert(shapes.end(), {1 + static_cast<int64_t>(rng() % 3), 1, 3});
      offsets.push_back(at + static_cast<int64_t>(rng() % 40) - 8);
      lengths.push_back(trial % 7 == 0 ? static_cast<int64_t>(rng())
                                       : static_cast<int64_t>(rng() % 60) - 5);
      at = offsets.back() + static_cast<int64_t>(rng() % 70);
    }
    if (jpeg_error(shapes, offsets, lengths, bytes).empty()) {
      ++accepted;
      int64_t prev_end = 0;
      for (int i = 0; i < 3; ++i) {
        ASSERT_GE(offsets[i], prev_end);
        ASSERT_GE(lengths[i], 1);
        ASSERT_LE(offsets[i] + lengths[i], bytes);
        prev_end = offsets[i] + lengths[i];
      }
    }
  }
  EXPECT_GT(accepted, 10);
}

TEST(JpegImageSet, RejectsABadByteArrayAndTooManyImages) {
  View words = View::empty(DType::Int64, {10});
  Ints shapes = {1, 1, 3}, offsets = {0}, lengths = {1};
  EXPECT_THROW(ImageSet::from_jpeg_index(words, i64(shapes, {1, 3}), i64(offsets, {1}),
                                         i64(lengths, {1}), std::nullopt, "mem"),
               std::invalid_argument);
  Ints none;
  EXPECT_THROW(ImageSet::from_jpeg_index(View::empty(DType::UInt8, {4}), i64(none, {0, 3}),
                                         i64(none, {0}), i64(none, {0}), std::nullopt, "mem"),
               std::invalid_argument);
  // Five images cannot fit in four bytes: refused before a value of the index is read.
  Ints five(5, 0), shapes5(15, 0);
  const std::string e = error_of([&] {
    ImageSet::from_jpeg_index(View::empty(DType::UInt8, {4}), i64(shapes5, {5, 3}), i64(five, {5}),
                              i64(five, {5}), std::nullopt, "mem");
  });
  EXPECT_EQ(e,
            "mem offsets: 5 images need at least one byte each (they are stored one after "
            "another), but mem bytes holds 4 bytes");
}

TEST(JpegImageSet, OpensAFolderByItsManifest) {
  TempDir tmp("imageset-jpeg");
  View bytes = nocopy::create_npy(tmp / "jpeg.npy", Ints{30}, DType::UInt8);
  bytes.data_as<uint8_t>()[12] = 42;
  View shapes = nocopy::create_npy(tmp / "shapes.npy", Ints{2, 3}, DType::Int64);
  const int64_t shp[] = {4, 5, 3, 7, 8, 3};
  std::copy(std::begin(shp), std::end(shp), shapes.data_as<int64_t>());
  View offsets = nocopy::create_npy(tmp / "offsets.npy", Ints{2}, DType::Int64);
  offsets.data_as<int64_t>()[1] = 12;
  View lengths = nocopy::create_npy(tmp / "lengths.npy", Ints{2}, DType::Int64);
  lengths.data_as<int64_t>()[0] = 12;
  lengths.data_as<int64_t>()[1] = 18;
  write_manifest(tmp, 2, ", \"storage\": \"jpeg\"");
  ImageSet s = ImageSet::open(tmp.path.string());
  EXPECT_EQ(s.format(), ImageFormat::Jpeg);
  EXPECT_EQ(s.size(), 2);
  EXPECT_FALSE(s.has_labels());
  EXPECT_FALSE(s.classes().has_value());
  EXPECT_EQ(s.encoded(1).data_as<uint8_t>()[0], 42);
  EXPECT_EQ(s.lengths(), (Ints{12, 18}));
  EXPECT_EQ(s.data().owner()->kind(), "mmap");
  fs::remove(tmp / "lengths.npy");  // the format's own file is required
  EXPECT_THROW(ImageSet::open(tmp.path.string()), nocopy::FileError);
  write_manifest(tmp, 2, ", \"storage\": \"png\"");
  const std::string e = error_of([&] { ImageSet::open(tmp.path.string()); });
  EXPECT_NE(e.find("manifest.json: storage \"png\" is not one of raw, jpeg"), std::string::npos)
      << e;
}
