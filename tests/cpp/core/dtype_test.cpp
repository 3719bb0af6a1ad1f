// Tests of DType: every type's size, name, typestr, format and DLPack code round-trip, and the
// parsers refuse what they do not support.
#include "nocopy/core/dtype.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

using nocopy::DType;

namespace {

DType nth(int i) {
  return static_cast<DType>(i);
}

}  // namespace

TEST(DType, EveryTypeRoundTripsThroughItsNameTypestrAndDLPackCode) {
  for (int i = 0; i < nocopy::kDTypeCount; ++i) {
    const DType t = nth(i);
    SCOPED_TRACE(std::string(nocopy::dtype_name(t)));
    EXPECT_EQ(nocopy::dtype_from_name(nocopy::dtype_name(t)), t);
    EXPECT_EQ(nocopy::dtype_from_name(nocopy::dtype_typestr(t)), t);
    const auto code = static_cast<uint8_t>(nocopy::dtype_dl_code(t));
    const auto bits = static_cast<uint8_t>(nocopy::itemsize(t) * 8);
    EXPECT_EQ(nocopy::dtype_from_dlpack(code, bits, 1), t);
    EXPECT_EQ(nocopy::dtype_from_dlpack(code, bits, 2), std::nullopt);  // vector lanes
    const std::string_view format = nocopy::dtype_buffer_format(t);
    if (t == DType::BFloat16) {
      EXPECT_TRUE(format.empty());  // the struct module has no bfloat16
    } else {
      EXPECT_EQ(nocopy::dtype_from_buffer_format(format, nocopy::itemsize(t)), t);
    }
  }
}

TEST(DType, SizesAndKinds) {
  EXPECT_EQ(nocopy::itemsize(DType::Bool), 1u);
  EXPECT_EQ(nocopy::itemsize(DType::Float16), 2u);
  EXPECT_EQ(nocopy::itemsize(DType::BFloat16), 2u);
  EXPECT_EQ(nocopy::itemsize(DType::Int64), 8u);
  EXPECT_EQ(nocopy::itemsize(DType::Complex128), 16u);
  EXPECT_TRUE(nocopy::is_complex(DType::Complex64));
  EXPECT_FALSE(nocopy::is_complex(DType::Float64));
  EXPECT_TRUE(nocopy::is_floating(DType::BFloat16));
  EXPECT_FALSE(nocopy::is_floating(DType::Int32));
}

TEST(DType, NumPyAliases) {
  EXPECT_EQ(nocopy::dtype_from_name("f4"), DType::Float32);
  EXPECT_EQ(nocopy::dtype_from_name("<f8"), DType::Float64);
  EXPECT_EQ(nocopy::dtype_from_name("?"), DType::Bool);
  EXPECT_EQ(nocopy::dtype_from_name("double"), DType::Float64);
  EXPECT_EQ(nocopy::dtype_from_name("ubyte"), DType::UInt8);
}

TEST(DType, UnknownNamesAreInvalidArgumentsNamingTheText) {
  for (const char* bad : {"", "float128", ">f4", "object", "U10", "f4f4"}) {
    try {
      nocopy::dtype_from_name(bad);
      FAIL() << "accepted " << bad;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
    }
  }
}

TEST(DType, BufferFormatsFollowTheItemSizeAndRefuseForeignOrders) {
  // The integer letters are platform-sized: the item size decides.
  EXPECT_EQ(nocopy::dtype_from_buffer_format("l", 8), DType::Int64);
  EXPECT_EQ(nocopy::dtype_from_buffer_format("l", 4), DType::Int32);
  EXPECT_EQ(nocopy::dtype_from_buffer_format("<I", 4), DType::UInt32);
  EXPECT_EQ(nocopy::dtype_from_buffer_format("=d", 8), DType::Float64);
  EXPECT_EQ(nocopy::dtype_from_buffer_format("Zf", 8), DType::Complex64);
  EXPECT_EQ(nocopy::dtype_from_buffer_format(">i", 4), std::nullopt);
  EXPECT_EQ(nocopy::dtype_from_buffer_format("!i", 4), std::nullopt);
  EXPECT_EQ(nocopy::dtype_from_buffer_format("T{i:x:}", 4), std::nullopt);
  EXPECT_EQ(nocopy::dtype_from_buffer_format("d", 4), std::nullopt);
  EXPECT_EQ(nocopy::dtype_from_buffer_format("", 1), std::nullopt);
}

TEST(DType, UnsupportedDLPackTypes) {
  EXPECT_EQ(nocopy::dtype_from_dlpack(2, 128, 1), std::nullopt);  // float128
  EXPECT_EQ(nocopy::dtype_from_dlpack(7, 8, 1), std::nullopt);    // unknown code
  EXPECT_EQ(nocopy::dtype_from_dlpack(0, 3, 1), std::nullopt);    // 3-bit ints
}
