// Tests of FileReader: reopening the file behind a mapped view and reading ranges of it.
#include "nocopy/storage/file_reader.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "nocopy/core/errors.hpp"
#include "nocopy/storage/raw_file.hpp"
#include "nocopy/storage/shared_array.hpp"

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

TEST(FileReader, ReadsASharedArraysSegmentAndSeesWritesThroughItsMapping) {
  nocopy::SharedArray a = nocopy::SharedArray::create(std::vector<int64_t>{64}, DType::UInt8);
  auto* bytes = static_cast<char*>(a.view().data());
  for (int i = 0; i < 64; ++i) bytes[i] = static_cast<char>('A' + i % 26);
  nocopy::SharedArray b = nocopy::SharedArray::attach(a.name(), /*readonly=*/true);
  for (const View& v : {a.view(), b.view().slice(0, 10, std::nullopt)}) {  // creator, attacher
    auto r = FileReader::open_for(v);
    ASSERT_NE(r, nullptr);
    std::string out(4, '?');
    r->read(out.data(), 4, 2);
    EXPECT_EQ(out, std::string(static_cast<const char*>(v.data()) + 2, 4));
  }
  auto r = FileReader::open_for(a.view());
  bytes[5] = '!';  // a write through the mapping shows in the next read
  std::string out(1, '?');
  r->read(out.data(), 1, 5);
  EXPECT_EQ(out, "!");
}

TEST(FileReader, NoneForASharedArrayWhoseNameIsGoneOrReused) {
  nocopy::SharedArray a = nocopy::SharedArray::create(std::vector<int64_t>{16}, DType::UInt8);
  const View v = a.view();
  const std::string name = a.name();
  a.close();  // the creator removes the name; the view (and its mapping) stays valid
  EXPECT_EQ(FileReader::open_for(v), nullptr);
  nocopy::ShmCreateOptions same_name;
  same_name.name = name;
  nocopy::SharedArray other = nocopy::SharedArray::create(std::vector<int64_t>{16}, DType::UInt8,
                                                          same_name);  // another segment
  EXPECT_EQ(FileReader::open_for(v), nullptr);
  EXPECT_NE(FileReader::open_for(other.view()), nullptr);
}
