// Tests of file mappings as view owners and of madvise hints.
#include "nocopy/storage/mapped_file.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "nocopy/storage/npy_file.hpp"

using nocopy::Advice;
using nocopy::MapMode;
using nocopy::MappedFile;
using nocopy::View;

namespace {

struct TempFile {
  std::string path;
  explicit TempFile(const std::string& content) {
    char tmpl[] = "/tmp/nocopy-map-XXXXXX";
    int fd = mkstemp(tmpl);
    path = tmpl;
    ::close(fd);
    std::ofstream(path, std::ios::binary) << content;
  }
  ~TempFile() { ::unlink(path.c_str()); }
};

std::string read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST(MappedFile, ModesParseAndMapWholeFile) {
  EXPECT_EQ(nocopy::map_mode_from_string("r"), MapMode::ReadOnly);
  EXPECT_EQ(nocopy::map_mode_from_string("r+"), MapMode::ReadWrite);
  EXPECT_EQ(nocopy::map_mode_from_string("c"), MapMode::CopyOnWrite);
  EXPECT_THROW(nocopy::map_mode_from_string("w"), std::invalid_argument);

  TempFile f("hello world");
  auto m = MappedFile::open(f.path, MapMode::ReadOnly);
  EXPECT_EQ(m->size(), 11u);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(m->data()), 5), "hello");
  EXPECT_EQ(m->kind(), "mmap");
  EXPECT_EQ(m->source(), f.path);
}

TEST(MappedFile, ReadWriteReachesFileCopyOnWriteDoesNot) {
  TempFile f("abcdef");
  {
    auto c = MappedFile::open(f.path, MapMode::CopyOnWrite);
    c->data()[0] = 'X';
    EXPECT_EQ(c->data()[0], 'X');
  }
  EXPECT_EQ(read_all(f.path), "abcdef");
  {
    auto w = MappedFile::open(f.path, MapMode::ReadWrite);
    w->data()[0] = 'Y';
  }
  EXPECT_EQ(read_all(f.path), "Ybcdef");
}

TEST(MappedFile, ErrorsNameThePath) {
  try {
    MappedFile::open("/nonexistent/x.bin", MapMode::ReadOnly);
    ADD_FAILURE();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/x.bin"), std::string::npos);
  }
  TempFile empty("");
  EXPECT_THROW(MappedFile::open(empty.path, MapMode::ReadOnly), std::invalid_argument);
  EXPECT_THROW(MappedFile::open("/tmp", MapMode::ReadOnly), std::exception);
}

TEST(MappedFile, ViewKeepsMappingAliveAfterHandleDropped) {
  TempFile f(std::string(4096 * 3, 'q'));
  std::weak_ptr<MappedFile> weak;
  View v;
  {
    auto m = MappedFile::open(f.path, MapMode::ReadOnly);
    weak = m;
    v = View::c_contiguous(m->data() + 100, nocopy::DType::UInt8, {200}, m, true);
  }
  EXPECT_FALSE(weak.expired());
  EXPECT_EQ(v.data_as<uint8_t>()[199], 'q');
  v = View();
  EXPECT_TRUE(weak.expired());
}

TEST(MappedFile, AdviseOnMappedViewsOnly) {
  TempFile f(std::string(4096 * 4, 'z'));
  auto m = MappedFile::open(f.path, MapMode::ReadOnly);
  View v = View::c_contiguous(m->data(), nocopy::DType::UInt8, {4096 * 4}, m, true);
  for (const char* a : {"normal", "sequential", "random", "willneed", "dontneed"}) {
    EXPECT_NO_THROW(nocopy::advise(v.slice(0, 5000, 9000), nocopy::advice_from_string(a))) << a;
  }
  EXPECT_EQ(v.data_as<uint8_t>()[5000], 'z');  // dontneed on a shared file mapping keeps data
  EXPECT_NO_THROW(nocopy::advise(v.slice(0, 3, 3), Advice::WillNeed));  // empty: no-op
  EXPECT_THROW(nocopy::advice_from_string("fast"), std::invalid_argument);

  View heap = View::empty(nocopy::DType::Float32, {10});
  try {
    nocopy::advise(heap, Advice::Random);
    ADD_FAILURE();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("heap"), std::string::npos);
  }
  auto c = MappedFile::open(f.path, MapMode::CopyOnWrite);
  View cv = View::c_contiguous(c->data(), nocopy::DType::UInt8, {10}, c);
  EXPECT_NO_THROW(nocopy::advise(cv, Advice::Sequential));
  EXPECT_THROW(nocopy::advise(cv, Advice::DontNeed), std::invalid_argument);
}
