// Tests of FileReader: reopening the file behind a mapped view and reading ranges of it.
#include "nocopy/storage/file_reader.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "nocopy/core/errors.hpp"
#include "nocopy/storage/raw_file.hpp"

using nocopy::DType;
using nocopy::FileReader;
using nocopy::MapMode;
using nocopy::View;

namespace {

struct TempFile {
  std::string path;
  explicit TempFile(const std::string& content) {
    char tmpl[] = "/tmp/nocopy-reader-XXXXXX";
    int fd = mkstemp(tmpl);
    path = tmpl;
    ::close(fd);
    std::ofstream(path, std::ios::binary) << content;
  }
  ~TempFile() { ::unlink(path.c_str()); }
};

}  // namespace

TEST(FileReader, ReadsTheBytesOfTheViewAtItsOffset) {
  TempFile f("0123456789abcdef");
  const View v = nocopy::open_raw(f.path, DType::UInt8, std::nullopt, 4);  // "456789abcdef"
  const View s = v.slice(0, 2, std::nullopt);                              // "6789abcdef"
  auto r = FileReader::open_for(s);
  ASSERT_NE(r, nullptr);
  std::string out(5, '?');
  r->read(out.data(), 5, 3);
  EXPECT_EQ(out, "9abcd");
  EXPECT_EQ(std::string(static_cast<const char*>(s.data()) + 3, 5), out);  // same as the mapping
}

TEST(FileReader, NoneForCopyOnWriteHeapOrReplacedFiles) {
  TempFile f("abcdefgh");
  EXPECT_EQ(FileReader::open_for(
                nocopy::open_raw(f.path, DType::UInt8, std::nullopt, 0, MapMode::CopyOnWrite)),
            nullptr);  // pread would not see this process's private writes
  EXPECT_EQ(FileReader::open_for(View::empty(DType::UInt8, {8})), nullptr);
  const View v = nocopy::open_raw(f.path, DType::UInt8);
  // Another file now under the same name: the reader would read the wrong bytes, so none.
  ASSERT_EQ(::unlink(f.path.c_str()), 0);
  std::ofstream(f.path, std::ios::binary) << "zzzzzzzz";
  EXPECT_EQ(FileReader::open_for(v), nullptr);
  ASSERT_EQ(::unlink(f.path.c_str()), 0);
  EXPECT_EQ(FileReader::open_for(v), nullptr);     // no file under the name at all
  std::ofstream(f.path, std::ios::binary) << "x";  // for the TempFile destructor
}

TEST(FileReader, TruncatedFileIsAnErrorNotShortData) {
  TempFile f("abcdefgh");
  const View v = nocopy::open_raw(f.path, DType::UInt8);
  auto r = FileReader::open_for(v);
  ASSERT_NE(r, nullptr);
  ASSERT_EQ(::truncate(f.path.c_str(), 4), 0);
  char buf[8];
  r->read(buf, 4, 0);
  EXPECT_EQ(std::string(buf, 4), "abcd");
  try {
    r->read(buf, 4, 2);
    FAIL() << "expected a truncation error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(f.path), std::string::npos) << e.what();
  }
}
