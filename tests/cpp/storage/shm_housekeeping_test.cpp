// Tests of /dev/shm housekeeping: listing, removing by name, and gc of the segments whose owner
// is dead, with liveness decided by the owner's lock (whatever pid the header records).
#include "nocopy/storage/shm_housekeeping.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <system_error>
#include <vector>

#include "shm_test_util.hpp"
#include "storage/shm_liveness.hpp"

using nocopy::DType;
using nocopy::SharedArray;
using nocopy::ShmCreateOptions;
using nocopy::ShmHeader;
using shm_test::RawSegment;
using shm_test::segment_exists;
using Shape = std::vector<int64_t>;

namespace {

const nocopy::ShmSegmentInfo* find_segment(const std::vector<nocopy::ShmSegmentInfo>& all,
                                           const std::string& name) {
  for (const auto& s : all) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

bool removed(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

}  // namespace

TEST(ShmHousekeeping, PersistKeepsNameUntilRemoved) {
  ShmCreateOptions opt;
  opt.persist = true;
  opt.name = "/nocopy-test-persist-" + std::to_string(getpid());
  std::string name;
  {
    SharedArray a = SharedArray::create(Shape{3}, DType::Int16, opt);
    name = a.name();
    EXPECT_EQ(name, opt.name.substr(1));
    a.view().data_as<int16_t>()[2] = -5;
  }
  ASSERT_TRUE(segment_exists(name));
  {
    SharedArray b = SharedArray::attach(name);
    EXPECT_EQ(b.view().data_as<int16_t>()[2], -5);
  }
  bool listed = false;
  for (const auto& s : nocopy::list_segments()) {
    if (s.name == name) {
      listed = true;
      EXPECT_TRUE(s.header.persist);
      EXPECT_TRUE(s.creator_alive);
      EXPECT_EQ(s.header.shape, (Shape{3}));
    }
  }
  EXPECT_TRUE(listed);
  nocopy::remove_segment(name);
  EXPECT_FALSE(segment_exists(name));
  EXPECT_THROW(nocopy::remove_segment(name), std::runtime_error);
}

TEST(ShmHousekeeping, GcRemovesOnlyDeadCreatorsSegments) {
  // A child creates a segment and dies without cleaning up (kill -9 equivalent: _exit).
  int pipefd[2];
  ASSERT_EQ(pipe(pipefd), 0);
  pid_t pid = fork();
  if (pid == 0) {
    try {
      SharedArray* leaked = new SharedArray(SharedArray::create(Shape{5}, DType::UInt8));
      [[maybe_unused]] ssize_t w = write(pipefd[1], leaked->name().c_str(), leaked->name().size());
    } catch (...) {
    }
    _exit(0);
  }
  char buf[256] = {};
  ssize_t n = read(pipefd[0], buf, sizeof(buf) - 1);
  waitpid(pid, nullptr, 0);
  ::close(pipefd[0]);
  ::close(pipefd[1]);
  ASSERT_GT(n, 0);
  const std::string dead_name(buf, static_cast<size_t>(n));
  ASSERT_TRUE(segment_exists(dead_name));
  SharedArray mine = SharedArray::create(Shape{5}, DType::UInt8);
  bool saw_dead = false;
  for (const auto& s : nocopy::list_segments()) {
    if (s.name == dead_name) {
      saw_dead = true;
      EXPECT_FALSE(s.creator_alive);
      EXPECT_EQ(s.header.creator_pid, pid);
    }
    if (s.name == mine.name()) {
      EXPECT_TRUE(s.creator_alive);
    }
  }
  EXPECT_TRUE(saw_dead);
  auto removed = nocopy::gc_segments();
  EXPECT_NE(std::find(removed.begin(), removed.end(), dead_name), removed.end());
  EXPECT_EQ(std::find(removed.begin(), removed.end(), mine.name()), removed.end());
  EXPECT_FALSE(segment_exists(dead_name));
  EXPECT_TRUE(segment_exists(mine.name()));
  EXPECT_FALSE(nocopy::process_alive(-1, 0));
  EXPECT_TRUE(nocopy::process_alive(getpid(), 0));
}

TEST(ShmHousekeeping, TheOwnersLockDecidesLivenessWhateverThePid) {
  // A valid segment whose header names a pid that is not its owner (as from another PID
  // namespace): alive while a descriptor holds the owner lock, reclaimed once it is released.
  ShmHeader h = shm_test::header_for({4}, DType::UInt8);
  h.creator_pid = 1;  // "pid 1" of some container
  h.creator_start = 1;
  RawSegment seg(nocopy::make_shm_header(h), 4096 + 4);
  const int fd = shm_open(("/" + seg.name).c_str(), O_RDONLY, 0);
  ASSERT_GE(fd, 0);
  nocopy::hold_owner_lock(fd, seg.name);
  const auto listed = nocopy::list_segments();  // find_segment points into it
  const auto* info = find_segment(listed, seg.name);
  ASSERT_NE(info, nullptr);
  EXPECT_TRUE(info->creator_alive);
  EXPECT_FALSE(removed(nocopy::gc_segments(), seg.name));
  EXPECT_TRUE(segment_exists(seg.name));
  ::close(fd);  // the owner dies
  EXPECT_FALSE(find_segment(nocopy::list_segments(), seg.name)->creator_alive);
  EXPECT_TRUE(removed(nocopy::gc_segments(), seg.name));
  EXPECT_FALSE(segment_exists(seg.name));
}

TEST(ShmHousekeeping, GcReclaimsKilledCreatorsAndInvalidSegments) {
  int pipefd[2];
  ASSERT_EQ(pipe(pipefd), 0);
  const pid_t pid = fork();
  if (pid == 0) {
    SharedArray* kept = new SharedArray(SharedArray::create(Shape{5}, DType::UInt8));
    [[maybe_unused]] ssize_t w = write(pipefd[1], kept->name().c_str(), kept->name().size());
    for (;;) pause();
  }
  char buf[256] = {};
  const ssize_t n = read(pipefd[0], buf, sizeof(buf) - 1);
  ::close(pipefd[0]);
  ::close(pipefd[1]);
  ASSERT_GT(n, 0);
  const std::string killed(buf, static_cast<size_t>(n));
  EXPECT_TRUE(find_segment(nocopy::list_segments(), killed)->creator_alive);
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  // Truncated and corrupt segments with nobody holding them are reclaimed too.
  RawSegment truncated(std::vector<uint8_t>{'N', 'O', 'C', 'O', 'P', 'Y', 'S', 'A', 1}, 9);
  std::vector<uint8_t> corrupt = nocopy::make_shm_header(shm_test::header_for({4}, DType::UInt8));
  corrupt[60] ^= 1;
  RawSegment bad(corrupt, 4096 + 4);
  RawSegment foreign(std::vector<uint8_t>(64, 'A'), 4096);
  auto gone = nocopy::gc_segments();
  EXPECT_TRUE(removed(gone, killed));
  EXPECT_TRUE(removed(gone, truncated.name));
  EXPECT_TRUE(removed(gone, bad.name));
  EXPECT_FALSE(removed(gone, foreign.name));  // not a nocopy segment: never touched
  EXPECT_TRUE(segment_exists(foreign.name));
}

TEST(ShmHousekeeping, RemoveRefusesFifosWithoutBlocking) {
  const std::string name = "nocopy-test-rmfifo-" + std::to_string(getpid());
  const std::string path = std::string(nocopy::kShmDir) + "/" + name;
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  EXPECT_THROW(nocopy::remove_segment(name), std::invalid_argument);
  EXPECT_EQ(find_segment(nocopy::list_segments(), name), nullptr);
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0);
  ::unlink(path.c_str());
}
