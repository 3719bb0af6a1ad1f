// Tests of View: construction checks, basic indexing, permute/flip/reshape, crops, extents.
#include "nocopy/core/view.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <numeric>
#include <vector>

#include "nocopy/core/errors.hpp"

using nocopy::DType;
using nocopy::IndexItem;
using nocopy::View;

namespace {

// A C-contiguous int32 array 0, 1, 2, ... of the given shape.
View iota(std::vector<int64_t> shape) {
  View v = View::empty(DType::Int32, std::move(shape));
  std::iota(v.data_as<int32_t>(), v.data_as<int32_t>() + v.size(), 0);
  return v;
}

int32_t at(const View& v, std::vector<int64_t> idx) {
  int64_t off = 0;
  for (size_t i = 0; i < idx.size(); ++i) off += idx[i] * v.strides()[i];
  return v.data_as<int32_t>()[off];
}

using Shape = std::vector<int64_t>;

}  // namespace

TEST(View, EmptyAllocatesAlignedContiguous) {
  View v = View::empty(DType::Float32, {3, 4, 5});
  EXPECT_EQ(reinterpret_cast<uintptr_t>(v.data()) % nocopy::kAlignment, 0u);
  EXPECT_EQ(v.strides(), (Shape{20, 5, 1}));
  EXPECT_EQ(v.size(), 60);
  EXPECT_EQ(v.nbytes(), 240);
  EXPECT_TRUE(v.is_c_contiguous());
  EXPECT_FALSE(v.is_f_contiguous());
  EXPECT_EQ(v.owner()->kind(), "heap");
}

TEST(View, RejectsBadGeometry) {
  EXPECT_THROW(View::empty(DType::UInt8, {-1}), std::invalid_argument);
  EXPECT_THROW(View::empty(DType::Float64, {INT64_MAX / 4, 8}), std::overflow_error);
  std::vector<int64_t> many(65, 1);
  EXPECT_THROW(View(nullptr, DType::UInt8, many, many, nullptr), std::invalid_argument);
  EXPECT_THROW(View(nullptr, DType::UInt8, {2, 2}, {1}, nullptr), std::invalid_argument);
  // Extent overflow: a huge stride on a long axis.
  EXPECT_THROW(View(nullptr, DType::UInt8, {3}, {INT64_MAX / 2 + 1}, nullptr), std::overflow_error);
  // Zero-size views may have any strides.
  EXPECT_NO_THROW(View(nullptr, DType::UInt8, {0, 5}, {INT64_MAX, 1}, nullptr));
}

TEST(View, SliceMatchesPythonSemantics) {
  View v = iota({10});
  View s = v.slice(0, 2, 8, 3);  // 2, 5
  EXPECT_EQ(s.shape(), (Shape{2}));
  EXPECT_EQ(s.strides(), (Shape{3}));
  EXPECT_EQ(at(s, {1}), 5);
  View r = v.slice(0, std::nullopt, std::nullopt, -1);
  EXPECT_EQ(r.shape(), (Shape{10}));
  EXPECT_EQ(at(r, {0}), 9);
  EXPECT_EQ(at(r, {9}), 0);
  EXPECT_EQ(v.slice(0, -3, std::nullopt).shape(), (Shape{3}));
  EXPECT_EQ(v.slice(0, 100, 200).shape(), (Shape{0}));
  EXPECT_EQ(v.slice(0, -100, 3).shape(), (Shape{3}));
  EXPECT_EQ(v.slice(0, 8, 2, -2).shape(), (Shape{3}));  // 8, 6, 4
  EXPECT_EQ(at(v.slice(0, 8, 2, -2), {2}), 4);
  EXPECT_EQ(v.slice(0, 5, -100, -1).shape(), (Shape{6}));
  EXPECT_EQ(v.slice(0, INT64_MIN, INT64_MAX, INT64_MAX).shape(), (Shape{1}));
  EXPECT_EQ(v.slice(0, INT64_MAX, INT64_MIN, -INT64_MAX).shape(), (Shape{1}));
  EXPECT_THROW(v.slice(0, 0, 1, 0), std::invalid_argument);
}

TEST(View, IndexWithIntegersEllipsisAndNewAxis) {
  View v = iota({2, 3, 4});
  std::vector<IndexItem> items = {IndexItem::integer(-1), IndexItem::ellipsis(),
                                  IndexItem::new_axis(), IndexItem::slice(1, std::nullopt, 2)};
  View s = v.index(items);
  EXPECT_EQ(s.shape(), (Shape{3, 1, 2}));
  EXPECT_EQ(s.strides(), (Shape{4, 0, 2}));
  EXPECT_EQ(at(s, {2, 0, 1}), 12 + 8 + 3);
  std::vector<IndexItem> bad = {IndexItem::integer(2)};
  EXPECT_THROW(v.index(bad), std::out_of_range);
  std::vector<IndexItem> too_many(4, IndexItem::integer(0));
  EXPECT_THROW(v.index(too_many), std::out_of_range);
  std::vector<IndexItem> two_ellipses = {IndexItem::ellipsis(), IndexItem::ellipsis()};
  EXPECT_THROW(v.index(two_ellipses), std::out_of_range);
  std::vector<IndexItem> int64_edge = {IndexItem::integer(INT64_MIN)};
  EXPECT_THROW(v.index(int64_edge), std::out_of_range);
  // More than kMaxDims axes in the result: out of range (NumPy's IndexError), at the limit fine.
  std::vector<IndexItem> at_limit(static_cast<size_t>(nocopy::kMaxDims - 3), IndexItem::new_axis());
  EXPECT_EQ(v.index(at_limit).ndim(), nocopy::kMaxDims);
  std::vector<IndexItem> past_limit(static_cast<size_t>(nocopy::kMaxDims - 2),
                                    IndexItem::new_axis());
  EXPECT_THROW(v.index(past_limit), std::out_of_range);
}

TEST(View, PermuteTransposeFlip) {
  View v = iota({2, 3, 4});
  std::vector<int64_t> axes = {2, 0, 1};
  View p = v.permute(axes);
  EXPECT_EQ(p.shape(), (Shape{4, 2, 3}));
  EXPECT_EQ(at(p, {3, 1, 2}), at(v, {1, 2, 3}));
  EXPECT_EQ(v.transpose().shape(), (Shape{4, 3, 2}));
  EXPECT_TRUE(v.transpose().is_f_contiguous());
  std::vector<int64_t> repeated = {0, 0, 1};
  EXPECT_THROW(v.permute(repeated), std::invalid_argument);
  std::vector<int64_t> short_axes = {0, 1};
  EXPECT_THROW(v.permute(short_axes), std::invalid_argument);
  View f = v.flip(-1);
  EXPECT_EQ(f.strides(), (Shape{12, 4, -1}));
  EXPECT_EQ(at(f, {0, 0, 0}), 3);
  EXPECT_EQ(f.byte_extent().begin, v.byte_extent().begin);
  EXPECT_EQ(f.byte_extent().end, v.byte_extent().end);
  EXPECT_THROW(v.flip(3), std::out_of_range);
}

TEST(View, ReshapeWithoutCopyOrError) {
  View v = iota({4, 6});
  std::vector<int64_t> s1 = {2, -1, 3};
  View r = v.reshape(s1);
  EXPECT_EQ(r.shape(), (Shape{2, 4, 3}));
  EXPECT_EQ(r.strides(), (Shape{12, 3, 1}));
  // A column slice keeps rows contiguous blocks: (4, 3) stride (6, 1) -> (4, 3, 1) works,
  // flattening does not.
  View cols = v.slice(1, 0, 3);
  std::vector<int64_t> s2 = {4, 3, 1};
  EXPECT_EQ(cols.reshape(s2).strides(), (Shape{6, 1, 1}));
  std::vector<int64_t> flat = {12};
  EXPECT_THROW(cols.reshape(flat), std::invalid_argument);
  // Transposed: (6, 4) with strides (1, 6) -> (2, 3, 4) splits the first axis.
  std::vector<int64_t> s3 = {2, 3, 4};
  EXPECT_EQ(v.transpose().reshape(s3).strides(), (Shape{3, 1, 6}));
  std::vector<int64_t> wrong = {5, 5};
  EXPECT_THROW(v.reshape(wrong), std::invalid_argument);
  std::vector<int64_t> two_unknown = {-1, -1};
  EXPECT_THROW(v.reshape(two_unknown), std::invalid_argument);
}

TEST(View, CropAndCenterCrop) {
  View img = View::empty(DType::UInt8, {2, 512, 512, 3});
  View c = img.center_crop(256, 256);
  EXPECT_EQ(c.shape(), (Shape{2, 256, 256, 3}));
  EXPECT_EQ(static_cast<char*>(c.data()) - static_cast<char*>(img.data()), (128 * 512 + 128) * 3);
  EXPECT_EQ(c.strides(), img.strides());
  View k = img.crop(10, 20, 30, 40, {1, 2});
  EXPECT_EQ(k.shape(), (Shape{2, 30, 40, 3}));
  EXPECT_THROW(img.crop(0, 0, 600, 10), std::invalid_argument);
  EXPECT_THROW(img.crop(500, 0, 100, 10), std::out_of_range);
  EXPECT_THROW(img.crop(-1, 0, 10, 10), std::out_of_range);
  EXPECT_THROW(img.crop(0, 0, 10, 10, {1, 1}), std::invalid_argument);
  try {
    img.center_crop(600, 600);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "crop (600, 600) is larger than image (512, 512) on axes (1, 2)");
  }
}

TEST(View, ByteExtentAndOverlap) {
  View v = iota({4, 4});
  View a = v.slice(0, 0, 2);
  View b = v.slice(0, 2, 4);
  EXPECT_FALSE(a.byte_extent().overlaps(b.byte_extent()));
  EXPECT_TRUE(v.byte_extent().overlaps(b.byte_extent()));
  EXPECT_EQ(v.byte_extent().end - v.byte_extent().begin, 64u);
  View empty = v.slice(0, 2, 2);
  EXPECT_FALSE(empty.byte_extent().overlaps(v.byte_extent()));
}

TEST(View, ReadonlyAndDevice) {
  View v = iota({3}).as_readonly();
  EXPECT_TRUE(v.readonly());
  EXPECT_TRUE(v.slice(0, 1, 2).readonly());
  EXPECT_THROW(v.require_writable("fill"), nocopy::BufferError);
  View gpu(nullptr, DType::Float32, {3}, {1}, nullptr, false, nocopy::Device{2, 1});
  EXPECT_THROW(gpu.require_host("copy"), nocopy::BufferError);
  EXPECT_EQ(gpu.device().str(), "cuda:1");
}

TEST(DType, NamesAndForeignCodes) {
  EXPECT_EQ(nocopy::dtype_from_name("float32"), DType::Float32);
  EXPECT_EQ(nocopy::dtype_from_name("<f4"), DType::Float32);
  EXPECT_EQ(nocopy::dtype_from_name("|u1"), DType::UInt8);
  EXPECT_EQ(nocopy::dtype_from_name("bfloat16"), DType::BFloat16);
  EXPECT_THROW(nocopy::dtype_from_name(">f4"), std::invalid_argument);
  EXPECT_THROW(nocopy::dtype_from_name("object"), std::invalid_argument);
  for (int i = 0; i < nocopy::kDTypeCount; ++i) {
    auto t = static_cast<DType>(i);
    auto back = nocopy::dtype_from_dlpack(static_cast<uint8_t>(nocopy::dtype_dl_code(t)),
                                          static_cast<uint8_t>(nocopy::itemsize(t) * 8), 1);
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(*back, t);
    EXPECT_EQ(nocopy::dtype_from_name(nocopy::dtype_name(t)), t);
  }
  EXPECT_EQ(nocopy::dtype_from_buffer_format("<l", 8), DType::Int64);
  EXPECT_EQ(nocopy::dtype_from_buffer_format("Zd", 16), DType::Complex128);
  EXPECT_FALSE(nocopy::dtype_from_buffer_format(">i", 4).has_value());
  EXPECT_FALSE(nocopy::dtype_from_buffer_format("T{i:a:}", 4).has_value());
}
