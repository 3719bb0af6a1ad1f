// Tests of nocopy::copy / copy_new: every dtype pair over strided layouts (negative, zero and
// zero-length strides, 0-d), overlapping operands, thread-count independence and errors.
#include "nocopy/core/copy.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <functional>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "internal/half.hpp"
#include "nocopy/core/errors.hpp"

using nocopy::DType;
using nocopy::View;
using Shape = std::vector<int64_t>;

namespace {

template <class T>
T load(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

template <class T>
void put_as(char* p, T v) {
  std::memcpy(p, &v, sizeof(T));
}

// Reads an element as double (complex: the real part); exact for the small test values.
double get(const char* p, DType t) {
  switch (t) {
    case DType::Bool:
      return load<uint8_t>(p);
    case DType::Int8:
      return load<int8_t>(p);
    case DType::Int16:
      return load<int16_t>(p);
    case DType::Int32:
      return load<int32_t>(p);
    case DType::Int64:
      return static_cast<double>(load<int64_t>(p));
    case DType::UInt8:
      return load<uint8_t>(p);
    case DType::UInt16:
      return load<uint16_t>(p);
    case DType::UInt32:
      return load<uint32_t>(p);
    case DType::UInt64:
      return static_cast<double>(load<uint64_t>(p));
    case DType::Float16:
      return nocopy::half_bits_to_float(load<uint16_t>(p));
    case DType::BFloat16:
      return nocopy::bfloat16_bits_to_float(load<uint16_t>(p));
    case DType::Float32:
      return load<float>(p);
    case DType::Float64:
      return load<double>(p);
    case DType::Complex64:
      return load<float>(p);
    case DType::Complex128:
      return load<double>(p);
  }
  return 0;
}

// Imaginary part of a complex element, 0 for the rest.
double get_imag(const char* p, DType t) {
  if (t == DType::Complex64) return load<float>(p + 4);
  if (t == DType::Complex128) return load<double>(p + 8);
  return 0;
}

// Writes a small integer value (exact in every dtype) into an element.
void put(char* p, DType t, int v) {
  switch (t) {
    case DType::Bool:
      put_as<uint8_t>(p, v != 0);
      break;
    case DType::Int8:
      put_as<int8_t>(p, static_cast<int8_t>(v));
      break;
    case DType::Int16:
      put_as<int16_t>(p, static_cast<int16_t>(v));
      break;
    case DType::Int32:
      put_as<int32_t>(p, v);
      break;
    case DType::Int64:
      put_as<int64_t>(p, v);
      break;
    case DType::UInt8:
      put_as<uint8_t>(p, static_cast<uint8_t>(v));
      break;
    case DType::UInt16:
      put_as<uint16_t>(p, static_cast<uint16_t>(v));
      break;
    case DType::UInt32:
      put_as<uint32_t>(p, static_cast<uint32_t>(v));
      break;
    case DType::UInt64:
      put_as<uint64_t>(p, static_cast<uint64_t>(v));
      break;
    case DType::Float16:
      put_as<uint16_t>(p, nocopy::float_to_half_bits(static_cast<float>(v)));
      break;
    case DType::BFloat16:
      put_as<uint16_t>(p, nocopy::float_to_bfloat16_bits(static_cast<float>(v)));
      break;
    case DType::Float32:
      put_as<float>(p, static_cast<float>(v));
      break;
    case DType::Float64:
      put_as<double>(p, v);
      break;
    case DType::Complex64:
      put_as<float>(p, static_cast<float>(v));
      put_as<float>(p + 4, 0.f);
      break;
    case DType::Complex128:
      put_as<double>(p, v);
      put_as<double>(p + 8, 0.0);
      break;
  }
}

// Address of the element at `idx`.
char* elem(const View& v, const Shape& idx) {
  int64_t off = 0;
  for (size_t i = 0; i < idx.size(); ++i) off += idx[i] * v.strides()[i];
  return static_cast<char*>(v.data()) + off * static_cast<int64_t>(v.itemsize());
}

// Calls fn for every index of `shape` in C order.
void for_each_index(const Shape& shape, const std::function<void(const Shape&)>& fn) {
  for (int64_t n : shape) {
    if (n == 0) return;
  }
  Shape idx(shape.size(), 0);
  while (true) {
    fn(idx);
    size_t a = shape.size();
    while (a > 0 && ++idx[a - 1] == shape[a - 1]) idx[--a] = 0;
    if (a == 0) return;
  }
}

// A C-contiguous array whose element i holds i % 97 (0/1 for bool): exact in every dtype.
View filled(DType t, const Shape& shape) {
  View v = View::empty(t, shape);
  auto* p = static_cast<char*>(v.data());
  for (int64_t i = 0; i < v.size(); ++i) {
    put(p + i * static_cast<int64_t>(v.itemsize()), t, t == DType::Bool ? i % 2 : i % 97);
  }
  return v;
}

// Expects dst to hold src's values converted (exactly) to dst's dtype.
void expect_converted(const View& src, const View& dst, const std::string& what) {
  ASSERT_EQ(src.shape(), dst.shape()) << what;
  for_each_index(src.shape(), [&](const Shape& idx) {
    double want = get(elem(src, idx), src.dtype());
    if (dst.dtype() == DType::Bool) want = want != 0;
    ASSERT_EQ(get(elem(dst, idx), dst.dtype()), want) << what;
    ASSERT_EQ(get_imag(elem(dst, idx), dst.dtype()), 0.0) << what;
  });
}

// The source layouts every dtype pair is tried on (all views of `base`, shape (6, 9, 11)).
std::vector<std::pair<std::string, View>> source_layouts(const View& base) {
  const Shape axes{2, 0, 1};
  return {
      {"negative strides", base.slice(0, {}, {}, -2).slice(2, 9, 1, -3)},
      {"permuted", base.slice(1, 1, 8, 2).permute(axes)},
      {"broadcast zero strides",
       View(base.data(), base.dtype(), {4, 3, 5}, {0, 11, 0}, base.owner())},
      {"zero-length axis", base.slice(1, 4, 4)},
      {"0-d", View(base.data(), base.dtype(), {}, {}, base.owner())},
      {"contiguous", base},
  };
}

// Destination layouts of a given shape: C order, F order, negative strides.
std::vector<std::pair<std::string, View>> dest_layouts(DType t, const Shape& shape) {
  Shape reversed(shape.rbegin(), shape.rend());
  Shape rev_axes(shape.size());
  std::iota(rev_axes.rbegin(), rev_axes.rend(), 0);
  std::vector<std::pair<std::string, View>> out = {
      {"C order", View::empty(t, shape)},
      {"F order", View::empty(t, reversed).permute(rev_axes)},
  };
  if (!shape.empty()) out.emplace_back("flipped", View::empty(t, shape).flip(0));
  return out;
}

}  // namespace

TEST(Copy, EveryDtypePairOnStridedLayouts) {
  for (int f = 0; f < nocopy::kDTypeCount; ++f) {
    const auto from = static_cast<DType>(f);
    const View base = filled(from, {6, 9, 11});
    for (auto& [sname, src] : source_layouts(base)) {
      for (int t = 0; t < nocopy::kDTypeCount; ++t) {
        const auto to = static_cast<DType>(t);
        for (auto& [dname, dst] : dest_layouts(to, src.shape())) {
          const std::string what = std::string(nocopy::dtype_name(from)) + " -> " +
                                   std::string(nocopy::dtype_name(to)) + ", " + sname + " -> " +
                                   dname;
          nocopy::copy(src, dst, 1);
          expect_converted(src, dst, what);
        }
        const View fresh = nocopy::copy_new(src, to);
        EXPECT_TRUE(fresh.is_c_contiguous());
        expect_converted(src, fresh, std::string("copy_new ") + sname);
      }
    }
  }
}

TEST(Copy, CopyNewIsAlignedContiguousAndIndependent) {
  const View base = filled(DType::Int16, {5, 7});
  const View out = nocopy::copy_new(base.flip(1));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(out.data()) % nocopy::kAlignment, 0u);
  EXPECT_EQ(out.dtype(), DType::Int16);
  EXPECT_EQ(out.shape(), (Shape{5, 7}));
  EXPECT_EQ(out.strides(), (Shape{7, 1}));
  EXPECT_FALSE(out.readonly());
  EXPECT_NE(out.owner(), base.owner());
  expect_converted(base.flip(1), out, "copy_new");
  base.data_as<int16_t>()[0] = 1234;  // the copy does not share memory
  EXPECT_EQ(out.data_as<int16_t>()[6], 0);
}

TEST(Copy, OverlappingShiftEqualsMemmove) {
  for (int shift : {-3, -1, 1, 3}) {
    View buf = filled(DType::Int32, {20});
    std::vector<int32_t> want(buf.data_as<int32_t>(), buf.data_as<int32_t>() + 20);
    const int64_t s0 = shift > 0 ? 0 : -shift, d0 = shift > 0 ? shift : 0;
    nocopy::copy(buf.slice(0, s0, s0 + 15), buf.slice(0, d0, d0 + 15), 1);
    std::memmove(want.data() + d0, want.data() + s0, 15 * sizeof(int32_t));
    EXPECT_EQ(std::vector<int32_t>(buf.data_as<int32_t>(), buf.data_as<int32_t>() + 20), want)
        << shift;
  }
}

TEST(Copy, OverlappingReverseAndTransposeInPlace) {
  View buf = filled(DType::Int64, {17});
  std::vector<int64_t> before(buf.data_as<int64_t>(), buf.data_as<int64_t>() + 17);
  nocopy::copy(buf.flip(0), buf);
  for (int i = 0; i < 17; ++i) EXPECT_EQ(buf.data_as<int64_t>()[i], before[16 - i]);

  View sq = filled(DType::Float32, {6, 6});
  std::vector<float> m(sq.data_as<float>(), sq.data_as<float>() + 36);
  nocopy::copy(sq.transpose(), sq);
  for (int i = 0; i < 6; ++i) {
    for (int j = 0; j < 6; ++j) EXPECT_EQ(sq.data_as<float>()[i * 6 + j], m[j * 6 + i]);
  }
  // The same view onto itself is a no-op.
  nocopy::copy(sq, sq);
  EXPECT_EQ(sq.data_as<float>()[1], m[6]);
}

TEST(Copy, OverlappingWithConversion) {
  // uint8 source in the first half of a buffer, widened to uint16 over the whole buffer.
  View buf = View::empty(DType::UInt8, {16});
  for (int i = 0; i < 16; ++i) buf.data_as<uint8_t>()[i] = static_cast<uint8_t>(10 + i);
  const View src = buf.slice(0, 0, 8);
  const View dst(buf.data(), DType::UInt16, {8}, {1}, buf.owner());
  nocopy::copy(src, dst);
  for (int i = 0; i < 8; ++i) {
    uint16_t v;
    std::memcpy(&v, buf.data_as<uint8_t>() + 2 * i, 2);
    EXPECT_EQ(v, 10 + i);
  }
}

TEST(Copy, ThreadCountDoesNotChangeBytes) {
  // Large enough to be split: a crop of an image batch, a long 1-d run, and few long rows.
  const View images = filled(DType::UInt8, {8, 400, 400, 3});
  const View crop = images.crop(20, 30, 300, 350, {1, 2});
  const View flat = filled(DType::Float32, {600001});
  const View rows = filled(DType::Int16, {2, 700001});
  const std::vector<std::pair<View, DType>> cases = {
      {crop, DType::UInt8},
      {crop, DType::Float32},
      {crop.flip(2), DType::Float16},
      {flat, DType::Float32},
      {flat.flip(0), DType::Int64},
      {rows, DType::Int16},
      {rows.flip(1), DType::Float64},
      {crop.permute(std::vector<int64_t>{0, 3, 1, 2}), DType::BFloat16},
  };
  for (const auto& [src, to] : cases) {
    ASSERT_GE(src.size() * static_cast<int64_t>(src.itemsize() + nocopy::itemsize(to)),
              nocopy::kParallelCopyBytes);  // large enough to be split
    const View one = nocopy::copy_new(src, to, 1);
    for (int threads : {2, 3, 0}) {
      const View many = nocopy::copy_new(src, to, threads);
      ASSERT_EQ(std::memcmp(one.data(), many.data(), static_cast<size_t>(one.nbytes())), 0)
          << src.describe() << " threads " << threads;
    }
    expect_converted(src, one, "threaded " + src.describe());
  }
}

TEST(Copy, ShapeMismatchNamesBothShapes) {
  const View a = View::empty(DType::Float32, {2, 3});
  const View b = View::empty(DType::Float32, {3, 2});
  try {
    nocopy::copy(a, b);
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("(2, 3)"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("(3, 2)"), std::string::npos) << e.what();
  }
  EXPECT_THROW(nocopy::copy(a, View::empty(DType::Float32, {2, 3, 1})), std::invalid_argument);
}

TEST(Copy, RefusesReadOnlyDeviceAndBadThreads) {
  const View a = filled(DType::Int8, {4});
  const View b = View::empty(DType::Int8, {4});
  EXPECT_THROW(nocopy::copy(a, b.as_readonly()), nocopy::BufferError);
  const View gpu(b.data(), DType::Int8, {4}, {1}, b.owner(), false, nocopy::Device{2, 0});
  EXPECT_THROW(nocopy::copy(a, gpu), nocopy::BufferError);
  EXPECT_THROW(nocopy::copy(gpu, b), nocopy::BufferError);
  EXPECT_THROW(nocopy::copy_new(gpu), nocopy::BufferError);
  EXPECT_THROW(nocopy::copy(a, b, -1), std::invalid_argument);
  // Read-only sources are fine.
  nocopy::copy(a.as_readonly(), b);
  EXPECT_EQ(b.data_as<int8_t>()[3], 3);
}
