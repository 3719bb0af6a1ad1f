// Tests of decode_image: a raw set's image is its zero-copy view; a JPEG set's image is a new
// array equal to the decoder's full decode; a JPEG whose header claims another size than the
// index, or a corrupt one, is std::invalid_argument naming the set, the sample and both sizes,
// refused before the image is allocated.
#include "nocopy/pipeline/codecs/image_decode.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "nocopy/core/allocator.hpp"

#ifdef NOCOPY_HAVE_JPEG
#include <jpeglib.h>
#endif

using nocopy::DType;
using nocopy::ImageSet;
using nocopy::View;
using Ints = std::vector<int64_t>;

namespace {

View i64(Ints& v, std::vector<int64_t> shape) {
  return View::c_contiguous(v.data(), DType::Int64, std::move(shape), nullptr);
}

std::string error_of(const ImageSet& s, int64_t i) {
  try {
    nocopy::decode_image(s, i);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(ImageDecode, RawImagesAreZeroCopyViews) {
  std::vector<View> images = {View::empty(DType::UInt8, {2, 3, 3}),
                              View::empty(DType::UInt8, {4, 1, 3})};
  std::memset(images[0].data(), 7, 18);
  std::memset(images[1].data(), 9, 12);
  const ImageSet s = ImageSet::copy_of(images, std::nullopt);
  const View v = nocopy::decode_image(s, -1);
  EXPECT_EQ(v.data(), s.image(1).data());
  EXPECT_EQ(v.shape(), (Ints{4, 1, 3}));
  EXPECT_THROW(nocopy::decode_image(s, 2), std::out_of_range);
}

#ifdef NOCOPY_HAVE_JPEG

namespace {

// A noisy RGB pattern of h x w encoded by libjpeg at quality 90.
std::vector<uint8_t> encode(int64_t h, int64_t w) {
  std::vector<uint8_t> px(static_cast<size_t>(h * w * 3));
  for (size_t k = 0; k < px.size(); ++k) px[k] = static_cast<uint8_t>((k * 37) ^ (k / 7));
  jpeg_compress_struct cinfo{};
  jpeg_error_mgr jerr{};
  cinfo.err = jpeg_std_error(&jerr);
  jpeg_create_compress(&cinfo);
  unsigned char* buf = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&cinfo, &buf, &size);
  cinfo.image_width = static_cast<JDIMENSION>(w);
  cinfo.image_height = static_cast<JDIMENSION>(h);
  cinfo.input_components = 3;
  cinfo.in_color_space = JCS_RGB;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, 90, TRUE);
  jpeg_start_compress(&cinfo, TRUE);
  for (int64_t y = 0; y < h; ++y) {
    JSAMPROW row = px.data() + y * w * 3;
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  std::vector<uint8_t> out(buf, buf + size);
  std::free(buf);
  return out;
}

// Rewrites the frame header (SOF0) of `jpeg` to say h x w.
void set_frame_size(std::vector<uint8_t>& jpeg, int h, int w) {
  for (size_t k = 2; k + 9 < jpeg.size(); ++k) {
    if (jpeg[k] == 0xFF && jpeg[k + 1] == 0xC0) {
      jpeg[k + 5] = static_cast<uint8_t>(h >> 8);
      jpeg[k + 6] = static_cast<uint8_t>(h & 0xFF);
      jpeg[k + 7] = static_cast<uint8_t>(w >> 8);
      jpeg[k + 8] = static_cast<uint8_t>(w & 0xFF);
      return;
    }
  }
  FAIL() << "no SOF0 marker";
}

// A JPEG set of the given files in memory; `shapes` as the index should record them.
ImageSet jpeg_set(const std::vector<std::vector<uint8_t>>& files, Ints shapes) {
  Ints offsets, lengths;
  std::vector<uint8_t> all;
  for (const auto& f : files) {
    offsets.push_back(static_cast<int64_t>(all.size()));
    lengths.push_back(static_cast<int64_t>(f.size()));
    all.insert(all.end(), f.begin(), f.end());
  }
  View bytes = View::empty(DType::UInt8, {static_cast<int64_t>(all.size())});
  std::memcpy(bytes.data(), all.data(), all.size());
  const auto n = static_cast<int64_t>(files.size());
  return ImageSet::from_jpeg_index(bytes, i64(shapes, {n, 3}), i64(offsets, {n}), i64(lengths, {n}),
                                   std::nullopt, "mem");
}

}  // namespace

TEST(ImageDecode, JpegImagesAreNewArraysEqualToTheFullDecode) {
  const std::vector<std::vector<uint8_t>> files = {encode(40, 48), encode(17, 9)};
  const ImageSet s = jpeg_set(files, {40, 48, 3, 17, 9, 3});
  nocopy::JpegDecoder d;
  for (int64_t i = 0; i < 2; ++i) {
    const View v = nocopy::decode_image(s, i - 2, d);  // negative indices count from the end
    ASSERT_EQ(v.shape(), (Ints{s.height(i), s.width(i), 3}));
    EXPECT_NE(v.owner(), s.data().owner());
    std::vector<uint8_t> ref(static_cast<size_t>(v.nbytes()));
    d.decode_full(files[i].data(), files[i].size(), 1, ref.data(), s.width(i) * 3);
    EXPECT_EQ(std::memcmp(v.data(), ref.data(), ref.size()), 0) << "sample " << i;
  }
  EXPECT_THROW(nocopy::decode_image(s, 2), std::out_of_range);
}

TEST(ImageDecode, HeaderOfAnotherSizeIsRefusedBeforeAllocating) {
  std::vector<uint8_t> big = encode(40, 48);
  set_frame_size(big, 4096, 4096);  // 48 MiB if it were trusted
  const ImageSet s = jpeg_set({encode(40, 48), big}, {40, 48, 3, 40, 48, 3});
  const auto& alloc = nocopy::default_allocator();
  const int64_t peak = alloc->peak_bytes();
  EXPECT_EQ(error_of(s, 1), "mem: sample 1: JPEG is 4096 x 4096 but the index says 40 x 48");
  EXPECT_LT(alloc->peak_bytes(), peak + (1 << 20));
  EXPECT_EQ(error_of(s, 0), "");
  // The index cannot be bigger than the file either.
  const ImageSet wide = jpeg_set({encode(40, 48)}, {40, 480, 3});
  EXPECT_EQ(error_of(wide, 0), "mem: sample 0: JPEG is 40 x 48 but the index says 40 x 480");
}

TEST(ImageDecode, CorruptJpegNamesTheSample) {
  std::vector<uint8_t> cut = encode(40, 48);
  cut.resize(cut.size() / 3);
  const ImageSet s = jpeg_set({encode(40, 48), cut, {0x00, 0x11}}, {40, 48, 3, 40, 48, 3, 1, 1, 3});
  EXPECT_EQ(error_of(s, 0), "");
  EXPECT_EQ(error_of(s, 1).rfind("mem: sample 1: ", 0), 0u) << error_of(s, 1);
  EXPECT_EQ(error_of(s, 2).rfind("mem: sample 2: ", 0), 0u) << error_of(s, 2);
}

#endif  // NOCOPY_HAVE_JPEG
