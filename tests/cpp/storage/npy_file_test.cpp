// Tests of open_npy / create_npy on real files: sharing, modes, reserved or sparse creation (a
// full file system is ENOSPC), and safe replacement (a failed create destroys nothing; old
// mappings keep the old file).
#include "nocopy/storage/npy_file.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>
#include <system_error>
#include <vector>

#include "nocopy/core/errors.hpp"
#include "small_fs_test_util.hpp"

using nocopy::DType;
using nocopy::MapMode;
using nocopy::View;

namespace {

using Shape = std::vector<int64_t>;

// A temporary directory removed (with its files) at the end of the test.
struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/nocopy-npy-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { [[maybe_unused]] int rc = std::system(("rm -rf '" + path + "'").c_str()); }
  std::string file(const std::string& name) const { return path + "/" + name; }
};

void write_file(const std::string& path, const std::string& content) {
  std::ofstream f(path, std::ios::binary);
  f << content;
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST(NpyFile, CreateThenOpenSharesTheFile) {
  TempDir dir;
  const std::string path = dir.file("a.npy");
  {
    View v = nocopy::create_npy(path, Shape{4, 5}, DType::Int32);
    EXPECT_FALSE(v.readonly());
    EXPECT_EQ(reinterpret_cast<uintptr_t>(v.data()) % 64, 0u);
    for (int64_t i = 0; i < 20; ++i) v.data_as<int32_t>()[i] = static_cast<int32_t>(i * 3);
  }
  View r = nocopy::open_npy(path, MapMode::ReadOnly);
  EXPECT_TRUE(r.readonly());
  EXPECT_EQ(r.shape(), (Shape{4, 5}));
  EXPECT_EQ(r.strides(), (Shape{5, 1}));
  EXPECT_EQ(r.data_as<int32_t>()[19], 57);

  // copy-on-write: writes are private; read-write: writes reach the file.
  View c = nocopy::open_npy(path, MapMode::CopyOnWrite);
  c.data_as<int32_t>()[0] = -1;
  EXPECT_EQ(r.data_as<int32_t>()[0], 0);
  View w = nocopy::open_npy(path, MapMode::ReadWrite);
  w.data_as<int32_t>()[1] = 1234;
  EXPECT_EQ(r.data_as<int32_t>()[1], 1234);
  EXPECT_EQ(nocopy::open_npy(path).data_as<int32_t>()[1], 1234);
}

TEST(NpyFile, FortranOrderGivesColumnMajorStrides) {
  TempDir dir;
  const std::string path = dir.file("f.npy");
  std::string body(2 * 3 * 8, '\0');
  write_file(path, nocopy::make_npy_header(DType::Float64, Shape{2, 3}, true) + body);
  View v = nocopy::open_npy(path);
  EXPECT_EQ(v.strides(), (Shape{1, 2}));
  EXPECT_TRUE(v.is_f_contiguous());
}

TEST(NpyFile, OpenErrorsNameThePath) {
  TempDir dir;
  try {
    nocopy::open_npy(dir.file("missing.npy"));
    ADD_FAILURE();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("missing.npy"), std::string::npos);
  }
  write_file(dir.file("short.npy"), nocopy::make_npy_header(DType::Float32, Shape{100}) + "abc");
  try {
    nocopy::open_npy(dir.file("short.npy"));
    ADD_FAILURE();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("short.npy"), std::string::npos);
  }
  write_file(dir.file("empty.npy"), "");
  EXPECT_THROW(nocopy::open_npy(dir.file("empty.npy")), std::invalid_argument);
  EXPECT_THROW(nocopy::open_npy(dir.path), std::exception);
}

TEST(NpyFile, CreateIsSparseAndRejectsOverflow) {
  TempDir dir;
  const std::string path = dir.file("big.npy");
  {
    View v = nocopy::create_npy(path, Shape{1 << 20, 1024}, DType::UInt8,  // 1 GiB
                                nocopy::NpySpace::Sparse);
    v.data_as<uint8_t>()[v.size() - 1] = 7;
  }
  View r = nocopy::open_npy(path);
  EXPECT_EQ(r.data_as<uint8_t>()[r.size() - 1], 7);
  EXPECT_EQ(r.data_as<uint8_t>()[12345], 0);
  EXPECT_THROW(nocopy::create_npy(path, Shape{INT64_MAX, 2}, DType::Float32), std::overflow_error);
  EXPECT_THROW(nocopy::create_npy(path, Shape{-1}, DType::Float32), std::invalid_argument);
  EXPECT_THROW(nocopy::create_npy(path, Shape{1}, DType::BFloat16), std::invalid_argument);
  EXPECT_THROW(nocopy::create_npy(dir.file("no/such/dir.npy"), Shape{1}, DType::Float32),
               std::runtime_error);
}

TEST(NpyFile, CreateReservesTheSpaceUnlessSparse) {
  TempDir dir;
  struct stat st {};
  nocopy::create_npy(dir.file("r.npy"), Shape{1 << 20}, DType::UInt8);
  ASSERT_EQ(::stat(dir.file("r.npy").c_str(), &st), 0);
  EXPECT_GE(st.st_blocks * 512, 1 << 20) << "the data's blocks are allocated";
  nocopy::create_npy(dir.file("s.npy"), Shape{1 << 20}, DType::UInt8, nocopy::NpySpace::Sparse);
  ASSERT_EQ(::stat(dir.file("s.npy").c_str(), &st), 0);
  EXPECT_GT(st.st_size, 1 << 20);
  EXPECT_LT(st.st_blocks * 512, 1 << 18) << "a sparse file takes no blocks until written";
}

// A full file system is an ENOSPC error at creation, never a SIGBUS when the view is written,
// and no temporary file is left behind.
TEST(NpyFile, FullFileSystemIsEnospcAndLeavesNothing) {
  TempDir dir;
  const std::string path = dir.file("big.npy");
  const auto r = small_fs_test::on_small_tmpfs(dir.path, "1m", [&]() {
    try {
      View v = nocopy::create_npy(path, Shape{4 << 20}, DType::UInt8);
      for (int64_t i = 0; i < v.size(); i += 4096) v.data_as<uint8_t>()[i] = 1;  // SIGBUS
      return 2;  // created a file larger than the file system
    } catch (const nocopy::FileError& e) {
      if (e.code().value() != ENOSPC) return 3;
      if (e.path() != path) return 4;
    }
    // Only the file system's own entries remain (a tmpfs root is empty).
    return std::system(("test -z \"$(ls -A '" + dir.path + "')\"").c_str()) == 0 ? 0 : 5;
  });
  if (r.skipped) GTEST_SKIP() << "cannot mount a tmpfs in a private mount namespace here";
  EXPECT_TRUE(r.ok) << "child: " << r.status
                    << " (2: no error, 3: not ENOSPC, 4: wrong path, 5: temporary left)";
}

TEST(NpyFile, ViewOutlivesTheFileName) {
  TempDir dir;
  const std::string path = dir.file("gone.npy");
  View v = nocopy::create_npy(path, Shape{16}, DType::Float32);
  v.data_as<float>()[3] = 2.5f;
  ::unlink(path.c_str());
  View s = v.slice(0, 2, 5);
  EXPECT_EQ(s.data_as<float>()[1], 2.5f);
  EXPECT_EQ(read_file(path), "");
}

TEST(NpyFile, FailedCreateLeavesTheExistingFileAndNoTemporary) {
  TempDir dir;
  const std::string path = dir.file("x.npy");
  write_file(path, "data");
  // 2**60 bytes: sizing or mapping fails, and the file that was there is untouched.
  EXPECT_THROW(nocopy::create_npy(path, Shape{int64_t{1} << 40, int64_t{1} << 20}, DType::UInt8),
               std::system_error);
  EXPECT_EQ(read_file(path), "data");
  EXPECT_EQ(std::system(("test $(ls -A '" + dir.path + "' | wc -l) -eq 1").c_str()), 0)
      << "a temporary file was left behind";
}

TEST(NpyFile, RefusesTargetsThatAreNotRegularFiles) {
  TempDir dir;
  const std::string fifo = dir.file("pipe.npy");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_THROW(nocopy::create_npy(fifo, Shape{4}, DType::UInt8), std::invalid_argument);
  EXPECT_THROW(nocopy::open_npy(fifo), std::invalid_argument);  // never blocks on the FIFO
  struct stat st {};
  ASSERT_EQ(::stat(fifo.c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  EXPECT_THROW(nocopy::create_npy("/dev/null", Shape{4}, DType::UInt8), std::invalid_argument);
  ASSERT_EQ(::stat("/dev/null", &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  try {
    nocopy::create_npy(dir.path, Shape{4}, DType::UInt8);
    ADD_FAILURE();
  } catch (const nocopy::FileError& e) {
    EXPECT_EQ(e.code().value(), EISDIR);
    EXPECT_EQ(e.path(), dir.path);
  }
  EXPECT_THROW(nocopy::create_npy(dir.file(std::string("a\0b.npy", 7)), Shape{4}, DType::UInt8),
               std::invalid_argument);
  EXPECT_NE(::access(dir.file("a").c_str(), F_OK), 0);
}

TEST(NpyFile, ReplacingAMappedFileKeepsOldViewsOnTheOldData) {
  TempDir dir;
  const std::string path = dir.file("r.npy");
  {
    View v = nocopy::create_npy(path, Shape{1024}, DType::Int32);
    for (int64_t i = 0; i < 1024; ++i) v.data_as<int32_t>()[i] = static_cast<int32_t>(i);
  }
  ::chmod(path.c_str(), 0640);
  View old = nocopy::open_npy(path);
  View fresh = nocopy::create_npy(path, Shape{2}, DType::Float64);
  for (int64_t i = 0; i < 1024; ++i) ASSERT_EQ(old.data_as<int32_t>()[i], i);
  EXPECT_EQ(nocopy::open_npy(path).shape(), (Shape{2}));
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);  // the replaced file's permission bits are kept
}

TEST(NpyFile, OpenErrorsCarryTheErrno) {
  TempDir dir;
  try {
    nocopy::open_npy(dir.file("missing.npy"));
    ADD_FAILURE();
  } catch (const nocopy::FileError& e) {
    EXPECT_EQ(e.code().value(), ENOENT);
    EXPECT_EQ(e.path(), dir.file("missing.npy"));
  }
  try {
    nocopy::open_npy(dir.path);
    ADD_FAILURE();
  } catch (const nocopy::FileError& e) {
    EXPECT_EQ(e.code().value(), EISDIR);
  }
}
