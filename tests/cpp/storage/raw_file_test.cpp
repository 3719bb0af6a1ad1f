// Tests of raw files: the layout arithmetic against the file size, a mapped file read back, and
// the errors for missing files, FIFOs and NUL bytes.
#include "nocopy/storage/raw_file.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <system_error>

using nocopy::DType;
using nocopy::MapMode;
using nocopy::View;

TEST(RawFile, LayoutIsCheckedAgainstTheFileSize) {
  auto l = nocopy::raw_layout("f", 100, DType::UInt16, std::nullopt, 10);
  EXPECT_EQ(l.shape, (std::vector<int64_t>{45}));
  EXPECT_EQ(l.data_bytes, 90u);
  EXPECT_EQ(nocopy::raw_layout("f", 100, DType::UInt16, std::vector<int64_t>{-1, 5}, 0).shape,
            (std::vector<int64_t>{10, 5}));
  EXPECT_THROW(nocopy::raw_layout("f", 101, DType::UInt16, std::nullopt, 0), std::invalid_argument);
  EXPECT_THROW(nocopy::raw_layout("f", 100, DType::UInt16, std::nullopt, 1), std::invalid_argument);
  EXPECT_THROW(nocopy::raw_layout("f", 100, DType::UInt8, std::nullopt, 101),
               std::invalid_argument);
  EXPECT_THROW(nocopy::raw_layout("f", 100, DType::UInt8, std::vector<int64_t>{101}, 0),
               std::invalid_argument);
  EXPECT_THROW(nocopy::raw_layout("f", 100, DType::UInt8, std::vector<int64_t>{-1, -1}, 0),
               std::invalid_argument);
  EXPECT_THROW(
      nocopy::raw_layout("f", 100, DType::UInt8, std::vector<int64_t>{int64_t{1} << 62, 8}, 0),
      std::overflow_error);
}

TEST(RawFile, MapsTheFileAsAView) {
  char name[] = "/tmp/nocopy_raw_XXXXXX";
  const int fd = mkstemp(name);
  ASSERT_GE(fd, 0);
  const uint16_t data[6] = {1, 2, 3, 4, 5, 6};
  ASSERT_EQ(write(fd, data, sizeof data), static_cast<ssize_t>(sizeof data));
  close(fd);
  View v = nocopy::open_raw(name, DType::UInt16, std::vector<int64_t>{-1, 2}, 4);
  EXPECT_EQ(v.shape(), (std::vector<int64_t>{2, 2}));
  EXPECT_TRUE(v.readonly());
  EXPECT_EQ(v.data_as<uint16_t>()[0], 3);
  EXPECT_EQ(v.data_as<uint16_t>()[3], 6);
  std::remove(name);
  EXPECT_EQ(v.data_as<uint16_t>()[1], 4);  // the mapping outlives the name
}

TEST(RawFile, ErrorsNameTheProblem) {
  try {
    nocopy::open_raw("/nonexistent/nocopy.bin", DType::UInt8);
    FAIL();
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), ENOENT);
  }
  EXPECT_THROW(nocopy::open_raw(std::string("/tmp/a\0b", 8), DType::UInt8), std::invalid_argument);
  char dir[] = "/tmp/nocopy_fifo_XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string fifo = std::string(dir) + "/fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_THROW(nocopy::open_raw(fifo, DType::UInt8), std::invalid_argument);  // and no hang
  std::remove(fifo.c_str());
  rmdir(dir);
}
