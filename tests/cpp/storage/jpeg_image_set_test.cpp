// Tests of the JPEG ImageSet index: valid byte ranges are accepted and viewed without copying;
// every bad shape, offset or length is std::invalid_argument naming the file and the sample;
// random indexes are either rejected or lie wholly inside the byte array.
#include "nocopy/storage/jpeg_image_set.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

using nocopy::DType;
using nocopy::View;

namespace {

View i64(std::vector<int64_t>& v, std::vector<int64_t> shape) {
  return View::c_contiguous(v.data(), DType::Int64, std::move(shape), nullptr);
}

std::string message_of(const std::vector<int64_t>& shapes, const std::vector<int64_t>& offsets,
                       const std::vector<int64_t>& lengths, int64_t bytes) {
  try {
    nocopy::validate_jpeg_index(shapes, offsets, lengths, bytes, "S", "O", "L");
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(JpegImageSet, ViewsEachSampleWithoutCopying) {
  View bytes = View::empty(DType::UInt8, {100});
  std::vector<int64_t> shapes = {10, 20, 3, 5, 6, 3}, offsets = {0, 40}, lengths = {40, 60};
  std::vector<int64_t> labels = {3, 1};
  auto set = nocopy::JpegImageSet::from_index(bytes, i64(shapes, {2, 3}), i64(offsets, {2}),
                                              i64(lengths, {2}), i64(labels, {2}), "mem");
  EXPECT_EQ(set.size(), 2);
  EXPECT_EQ(set.height(0), 10);
  EXPECT_EQ(set.width(1), 6);
  EXPECT_EQ(set.encoded(1).data(), static_cast<uint8_t*>(bytes.data()) + 40);
  EXPECT_EQ(set.encoded(-1).shape()[0], 60);
  EXPECT_EQ(set.encoded_size(0), size_t{40});
  EXPECT_EQ(set.labels(), labels);
  EXPECT_THROW(set.encoded(2), std::out_of_range);
  EXPECT_THROW(set.encoded(-3), std::out_of_range);
}

TEST(JpegImageSet, BadIndexNamesTheFileAndSample) {
  const std::vector<int64_t> s = {4, 4, 3, 4, 4, 3};
  EXPECT_EQ(message_of(s, {0, 10}, {10, 10}, 20), "");
  EXPECT_EQ(message_of(s, {0, 10}, {10, 11}, 20),
            "O: sample 1 bytes [10, 10 + 11) run outside the byte array of 20 bytes");
  EXPECT_EQ(message_of(s, {0, -1}, {10, 1}, 20),
            "O: sample 1 bytes [-1, -1 + 1) run outside the byte array of 20 bytes");
  EXPECT_EQ(message_of(s, {0, INT64_MAX}, {10, INT64_MAX}, 20).substr(0, 12), "O: sample 1 ");
  EXPECT_EQ(message_of(s, {0, 10}, {0, 10}, 20), "L: sample 0 has length 0; must be >= 1");
  EXPECT_EQ(message_of({4, 4, 3, 0, 4, 3}, {0, 10}, {10, 10}, 20),
            "S: sample 1 has shape (0, 4, 3); decoded JPEG images are (H >= 1, W >= 1, 3)");
  EXPECT_EQ(message_of({4, 4, 1}, {0}, {10}, 20).substr(0, 22), "S: sample 0 has shape ");
  EXPECT_NE(message_of(s, {0}, {10}, 20), "");
}

TEST(JpegImageSet, RandomIndexesAreRejectedOrInside) {
  std::mt19937_64 rng(11);
  for (int trial = 0; trial < 2000; ++trial) {
    const int64_t bytes = static_cast<int64_t>(rng() % 200);
    std::vector<int64_t> shapes, offsets, lengths;
    for (int i = 0; i < 3; ++i) {
      shapes.insert(shapes.end(), {1 + static_cast<int64_t>(rng() % 3), 1, 3});
      offsets.push_back(static_cast<int64_t>(rng() % 260) - 30);
      lengths.push_back(trial % 7 == 0 ? static_cast<int64_t>(rng())
                                       : static_cast<int64_t>(rng() % 120) - 5);
    }
    if (message_of(shapes, offsets, lengths, bytes).empty()) {
      for (int i = 0; i < 3; ++i) {
        ASSERT_GE(offsets[i], 0);
        ASSERT_GE(lengths[i], 1);
        ASSERT_LE(offsets[i] + lengths[i], bytes);
      }
    }
  }
}

TEST(JpegImageSet, RejectsABadByteArray) {
  View words = View::empty(DType::Int64, {10});
  std::vector<int64_t> shapes = {1, 1, 3}, offsets = {0}, lengths = {1};
  EXPECT_THROW(nocopy::JpegImageSet::from_index(words, i64(shapes, {1, 3}), i64(offsets, {1}),
                                                i64(lengths, {1}), std::nullopt, "mem"),
               std::invalid_argument);
  std::vector<int64_t> none;
  EXPECT_THROW(
      nocopy::JpegImageSet::from_index(View::empty(DType::UInt8, {4}), i64(none, {0, 3}),
                                       i64(none, {0}), i64(none, {0}), std::nullopt, "mem"),
      std::invalid_argument);
}
