// Tests of the .npy header parser and writer.
#include "nocopy/storage/npy_header.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

using nocopy::DType;
using nocopy::NpyHeader;

namespace {

using Shape = std::vector<int64_t>;

std::vector<uint8_t> bytes_of(const std::string& s) {
  return {s.begin(), s.end()};
}

// A v1 header with `text` as its dict (padding and newline added by the caller if wanted).
std::string v1(const std::string& text) {
  std::string out = "\x93NUMPY";
  out += '\x01';
  out += '\0';
  out += static_cast<char>(text.size() & 0xFF);
  out += static_cast<char>(text.size() >> 8);
  return out + text;
}

NpyHeader parse(const std::string& file) {
  auto b = bytes_of(file);
  return nocopy::parse_npy_header(b, b.size());
}

}  // namespace

TEST(NpyHeader, WriterRoundTripsThroughParser) {
  for (DType t : {DType::Bool, DType::Int8, DType::UInt16, DType::Float16, DType::Float32,
                  DType::Complex128}) {
    for (const Shape& shape : {Shape{}, Shape{0}, Shape{7}, Shape{3, 4}, Shape{2, 0, 5}}) {
      for (bool fortran : {false, true}) {
        std::string header = nocopy::make_npy_header(t, shape, fortran);
        EXPECT_EQ(header.size() % 64, 0u);
        EXPECT_EQ(header.back(), '\n');
        int64_t n = 1;
        for (int64_t d : shape) n *= d;
        std::string file = header + std::string(static_cast<size_t>(n) * nocopy::itemsize(t), 'x');
        NpyHeader h = parse(file);
        EXPECT_EQ(h.version, 1);
        EXPECT_EQ(h.dtype, t);
        EXPECT_EQ(h.shape, shape);
        EXPECT_EQ(h.fortran_order, fortran);
        EXPECT_EQ(h.data_offset, header.size());
        EXPECT_EQ(h.data_bytes, static_cast<uint64_t>(n) * nocopy::itemsize(t));
      }
    }
  }
}

TEST(NpyHeader, WriterMatchesNumpyText) {
  std::string h = nocopy::make_npy_header(DType::Float32, Shape{3, 4});
  const std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }";
  EXPECT_EQ(h.substr(10, dict.size()), dict);
  std::string one = nocopy::make_npy_header(DType::UInt8, Shape{5});
  EXPECT_NE(one.find("'shape': (5,), }"), std::string::npos);
  EXPECT_NE(one.find("'|u1'"), std::string::npos);
  EXPECT_THROW(nocopy::make_npy_header(DType::BFloat16, Shape{1}), std::invalid_argument);
  EXPECT_THROW(nocopy::make_npy_header(DType::UInt8, Shape{-1}), std::invalid_argument);
}

TEST(NpyHeader, ParsesVersion2And3AndOldStyleText) {
  std::string dict = "{\"descr\": \"<i8\", \"shape\": (2L, 3L), \"fortran_order\": True}\n";
  for (char major : {'\x02', '\x03'}) {
    std::string f = "\x93NUMPY";
    f += major;
    f += '\0';
    uint32_t len = static_cast<uint32_t>(dict.size());
    for (int k = 0; k < 4; ++k) f += static_cast<char>((len >> (8 * k)) & 0xFF);
    f += dict + std::string(48, '\0');
    NpyHeader h = parse(f);
    EXPECT_EQ(h.version, major);
    EXPECT_EQ(h.dtype, DType::Int64);
    EXPECT_EQ(h.shape, (Shape{2, 3}));
    EXPECT_TRUE(h.fortran_order);
    EXPECT_EQ(h.data_offset, 12 + dict.size());
  }
}

// Each hostile or corrupt file must raise std::invalid_argument (or overflow_error) whose
// message contains the given fragment.
TEST(NpyHeader, CorruptHeadersRaiseClearErrors) {
  const std::string ok_dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n";
  struct Case {
    std::string file;
    std::string fragment;
  };
  std::string bad_len = "\x93NUMPY\x01";
  bad_len += '\0';
  bad_len += "\xff\xff";
  std::string huge_v2 = "\x93NUMPY\x02";
  huge_v2 += '\0';
  huge_v2 += "\xff\xff\xff\x7f";
  huge_v2 += std::string(64, ' ');
  const std::vector<Case> cases = {
      {"", "at least 10"},
      {"\x93NUMPY", "at least 10"},
      {"\x93NUMPX\x01\x00\x10\x00" + std::string(16, ' '), "magic"},
      {std::string("\x93NUMPY\x04\x00", 8) + "\x02" + std::string(1, '\0') + "{}", "version 4.0"},
      {std::string("\x93NUMPY\x01\x01", 8) + "\x02" + std::string(1, '\0') + "{}", "version 1.1"},
      {bad_len, "runs past the end"},
      {huge_v2, "exceeds the limit"},
      {v1("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }") + "xxxxxxxx", "newline"},
      {v1("{'descr': '<f4', 'fortran_order': False}\n"), "missing key 'shape'"},
      {v1("{'descr': '<f4', 'shape': (2,)}\n") + "12345678", "missing key 'fortran_order'"},
      {v1("{'fortran_order': False, 'shape': (2,)}\n") + "12345678", "missing key 'descr'"},
      {v1("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}\n"),
       "duplicate key 'descr'"},
      {v1("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}\n"), "unexpected key"},
      {v1("{'descr': '>f4', 'fortran_order': False, 'shape': (2,)}\n") + "12345678", "big-endian"},
      {v1("{'descr': '|O', 'fortran_order': False, 'shape': (2,)}\n") + "12345678", "object"},
      {v1("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,)}\n"), "structured"},
      {v1("{'descr': '<U3', 'fortran_order': False, 'shape': (2,)}\n") + "12345678",
       "not a supported dtype"},
      {v1("{'descr': '<V2', 'fortran_order': False, 'shape': (2,)}\n") + "12345678", "void"},
      {v1("{'descr': '|f4', 'fortran_order': False, 'shape': (2,)}\n") + "12345678", "1-byte"},
      {v1("{'descr': 'f4', 'fortran_order': False, 'shape': (2,)}\n") + "12345678", "byte-order"},
      {v1("{'descr': '<f4', 'fortran_order': 0, 'shape': (2,)}\n") + "12345678", "True or False"},
      {v1("{'descr': '<f4', 'fortran_order': False, 'shape': (2)}\n") + "12345678", "not a tuple"},
      {v1("{'descr': '<f4', 'fortran_order': False, 'shape': (-2,)}\n") + "12345678", "negative"},
      {v1("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}\n"), "int64"},
      {v1("{'descr': '<f4', 'fortran_order': False, 'shape': [2]}\n") + "12345678", "'('"},
      {v1("{'descr': '<f4', 'fortran_order': False, 'shape': (2,)} x\n") + "12345678",
       "after the dict"},
      {v1("{'descr': '<f4\\n', 'fortran_order': False, 'shape': (2,)}\n") + "12345678", "escape"},
      {v1("{'descr': '<f4, 'fortran_order': False, 'shape': (2,)}\n") + "12345678", "'<f4, '"},
      {v1("{'descr': '<f4', 'fortran_order': False, 'shape': (2,)}"), "newline"},
      {v1("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'descr\n"), "unterminated"},
      {v1("{'descr': '<f4', 'fortran_order': False, 'shape': (2,)\n"), "expected ',' or '}'"},
      {v1("{'descr': '<f4', 'fortran_order': False,\n 'shape': (2,)}\n"), "control character"},
      {v1("{'descr': '<f\xc3\xa9', 'fortran_order': False, 'shape': (2,)}\n"), "non-ASCII"},
      {v1(ok_dict) + "1234567", "truncated"},
      {v1("{'descr': '<f8', 'fortran_order': False, 'shape': (4611686018427387904, 4)}\n"),
       "overflows"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.file.substr(0, 90));
    try {
      parse(c.file);
      ADD_FAILURE() << "no exception";
    } catch (const std::exception& e) {
      EXPECT_NE(std::string(e.what()).find(c.fragment), std::string::npos) << e.what();
    }
  }
  // 65 dimensions exceed the limit.
  std::string dims = "(";
  for (int i = 0; i < 65; ++i) dims += "1, ";
  dims += ")";
  EXPECT_THROW(parse(v1("{'descr': '<f4', 'fortran_order': False, 'shape': " + dims + "}\n")),
               std::invalid_argument);
  // The valid base case parses.
  EXPECT_NO_THROW(parse(v1(ok_dict) + "12345678"));
}
