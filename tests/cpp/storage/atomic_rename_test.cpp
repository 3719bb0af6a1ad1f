// Tests of the renames that never replace: a move onto a free name, refused on every kind of
// taken name (file, empty directory, dangling link) with both sides intact, by renameat2 and by
// the fallback that claims the name first; and atomic swaps.
#include "nocopy/storage/atomic_rename.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <string>

#include "nocopy/core/errors.hpp"
#include "storage/claimed_rename.hpp"

namespace {

// A temporary directory removed (with its contents) at the end of the test.
struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/nocopy-rename-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { [[maybe_unused]] int rc = std::system(("rm -rf '" + path + "'").c_str()); }
  std::string at(const std::string& name) const { return path + "/" + name; }
};

void write_file(const std::string& path, const std::string& content) {
  std::ofstream f(path, std::ios::binary);
  f << content;
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

bool is_dir(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// The errno of the FileError `f` throws (0 when it throws nothing).
template <class F>
int error_of(F f) {
  try {
    f();
  } catch (const nocopy::FileError& e) {
    return e.code().value();
  }
  return 0;
}

using Move = void (*)(const std::string&, const std::string&);

// The move of each test: renameat2's, and the fallback for file systems without it.
class MoveOntoAFreeName : public ::testing::TestWithParam<Move> {};

}  // namespace

INSTANTIATE_TEST_SUITE_P(AtomicRename, MoveOntoAFreeName,
                         ::testing::Values(&nocopy::rename_no_replace,
                                           &nocopy::rename_claiming_the_name),
                         [](const ::testing::TestParamInfo<Move>& param) {
                           return std::string(param.index == 0 ? "Renameat2" : "ClaimingTheName");
                         });

TEST_P(MoveOntoAFreeName, MovesFilesAndDirectories) {
  const Move move = GetParam();
  TempDir dir;
  write_file(dir.at("f"), "file");
  move(dir.at("f"), dir.at("g"));
  EXPECT_EQ(read_file(dir.at("g")), "file");
  EXPECT_NE(::access(dir.at("f").c_str(), F_OK), 0);
  ASSERT_EQ(::mkdir(dir.at("d").c_str(), 0755), 0);
  write_file(dir.at("d/inside"), "x");
  move(dir.at("d"), dir.at("e"));
  EXPECT_EQ(read_file(dir.at("e/inside")), "x");
}

TEST_P(MoveOntoAFreeName, NeverReplacesATakenName) {
  const Move move = GetParam();
  TempDir dir;
  ASSERT_EQ(::mkdir(dir.at("new").c_str(), 0755), 0);
  write_file(dir.at("new/data"), "new");
  write_file(dir.at("file"), "mine");
  ASSERT_EQ(::mkdir(dir.at("empty").c_str(), 0755), 0);
  ASSERT_EQ(::symlink("nowhere", dir.at("dangling").c_str()), 0);
  write_file(dir.at("single"), "single");
  for (const char* from : {"new", "single"}) {
    for (const char* taken : {"file", "empty", "dangling"}) {
      try {
        move(dir.at(from), dir.at(taken));
        ADD_FAILURE() << taken << " was replaced by " << from;
      } catch (const nocopy::FileError& e) {
        EXPECT_EQ(e.code().value(), EEXIST) << taken;
        EXPECT_EQ(e.path(), dir.at(taken));
      }
    }
  }
  EXPECT_EQ(read_file(dir.at("file")), "mine");
  EXPECT_TRUE(is_dir(dir.at("empty")));
  char target[16] = {};
  EXPECT_EQ(::readlink(dir.at("dangling").c_str(), target, sizeof(target) - 1), 7);
  EXPECT_EQ(read_file(dir.at("new/data")), "new");  // the sources stay where they were
  EXPECT_EQ(read_file(dir.at("single")), "single");
  EXPECT_EQ(error_of([&] { move(dir.at("missing"), dir.at("x")); }), ENOENT);
  EXPECT_NE(::access(dir.at("x").c_str(), F_OK), 0);
}

TEST(AtomicRename, ExchangeSwapsTwoNames) {
  TempDir dir;
  ASSERT_EQ(::mkdir(dir.at("d").c_str(), 0755), 0);
  write_file(dir.at("d/inside"), "dir");
  write_file(dir.at("f"), "file");
  nocopy::exchange_paths(dir.at("d"), dir.at("f"));
  EXPECT_EQ(read_file(dir.at("d")), "file");
  EXPECT_EQ(read_file(dir.at("f/inside")), "dir");
  EXPECT_EQ(error_of([&] { nocopy::exchange_paths(dir.at("d"), dir.at("missing")); }), ENOENT);
  EXPECT_EQ(read_file(dir.at("d")), "file");
}

TEST(AtomicRename, PathsWithNulBytesAreRefused) {
  TempDir dir;
  const std::string bad = dir.at("a") + std::string(1, '\0') + "b";
  EXPECT_THROW(nocopy::rename_no_replace(bad, dir.at("c")), std::invalid_argument);
  EXPECT_THROW(nocopy::exchange_paths(dir.at("c"), bad), std::invalid_argument);
}
