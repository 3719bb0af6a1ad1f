// Tests of shared arrays: create/attach across fork(), lifetime and unlink rules, hand-off and
// adoption, permissions, a full /dev/shm, and names that are FIFOs.
#include "nocopy/storage/shared_array.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <system_error>
#include <vector>

#include "nocopy/core/errors.hpp"
#include "nocopy/storage/shm_housekeeping.hpp"
#include "shm_test_util.hpp"
#include "small_fs_test_util.hpp"

using nocopy::DType;
using nocopy::SharedArray;
using nocopy::ShmCreateOptions;
using nocopy::ShmHeader;
using nocopy::View;
using shm_test::in_child;
using shm_test::RawSegment;
using shm_test::segment_exists;
using Shape = std::vector<int64_t>;
TEST(SharedArray, CreateAttachShareMemory) {
  SharedArray a = SharedArray::create(Shape{4, 8}, DType::Float32);
  EXPECT_EQ(a.name().rfind("nocopy-" + std::to_string(getpid()) + "-", 0), 0u);
  EXPECT_TRUE(a.is_creator());
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a.view().data()) % 4096, 0u);
  EXPECT_EQ(a.view().data_as<float>()[31], 0.0f);  // starts zeroed
  a.view().data_as<float>()[5] = 3.5f;
  SharedArray b = SharedArray::attach(a.name());
  EXPECT_FALSE(b.is_creator());
  EXPECT_EQ(b.view().shape(), (Shape{4, 8}));
  EXPECT_EQ(b.view().dtype(), DType::Float32);
  EXPECT_EQ(b.view().data_as<float>()[5], 3.5f);
  b.view().data_as<float>()[6] = 7.0f;
  EXPECT_EQ(a.view().data_as<float>()[6], 7.0f);
  EXPECT_EQ(b.view().owner()->kind(), "shm");
  ASSERT_NE(nocopy::shm_mapping_of(b.view()), nullptr);
  EXPECT_EQ(nocopy::shm_mapping_of(b.view())->name(), a.name());
  EXPECT_EQ(nocopy::shm_mapping_of(View::empty(DType::Int8, {1})), nullptr);
  SharedArray ro = SharedArray::attach("/" + a.name(), true);
  EXPECT_TRUE(ro.view().readonly());
  EXPECT_EQ(ro.view().data_as<float>()[6], 7.0f);
  EXPECT_NO_THROW(nocopy::advise(ro.view(), nocopy::Advice::WillNeed));
}

TEST(SharedArray, CreatorCloseUnlinksButViewsStayValid) {
  SharedArray a = SharedArray::create(Shape{16}, DType::Int64);
  const std::string name = a.name();
  View v = a.view().slice(0, 4, 8);
  v.data_as<int64_t>()[0] = 42;
  SharedArray b = SharedArray::attach(name);
  b.close();  // attacher close: name stays
  EXPECT_TRUE(segment_exists(name));
  a.close();
  EXPECT_TRUE(a.closed());
  EXPECT_FALSE(segment_exists(name));
  EXPECT_EQ(v.data_as<int64_t>()[0], 42);  // still mapped
  EXPECT_THROW(a.view(), std::invalid_argument);
  EXPECT_THROW(SharedArray::attach(name), std::system_error);
  a.close();  // idempotent
}

TEST(SharedArray, LastCreatorViewUnlinksWhenHandleIsGone) {
  std::string name;
  View v;
  {
    SharedArray a = SharedArray::create(Shape{8}, DType::UInt8);
    name = a.name();
    v = a.view();
    SharedArray moved = std::move(a);  // the moved-from handle must not unlink
    EXPECT_TRUE(segment_exists(name));
    moved.close();
  }
  EXPECT_FALSE(segment_exists(name));
  SharedArray c = SharedArray::create(Shape{8}, DType::UInt8);
  name = c.name();
  v = c.view();
  { SharedArray gone = std::move(c); }
  EXPECT_FALSE(segment_exists(name));
}

TEST(SharedArray, NamesModesAndErrors) {
  ShmCreateOptions opt;
  opt.name = "nocopy-test-mode-" + std::to_string(getpid());
  {
    SharedArray a = SharedArray::create(Shape{2}, DType::UInt8, opt);
    struct stat st {};
    ASSERT_EQ(::stat((std::string(nocopy::kShmDir) + "/" + a.name()).c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_THROW(SharedArray::create(Shape{2}, DType::UInt8, opt), std::system_error);
  }
  opt.mode = 0640;
  {
    SharedArray a = SharedArray::create(Shape{2}, DType::UInt8, opt);
    struct stat st {};
    ASSERT_EQ(::stat((std::string(nocopy::kShmDir) + "/" + a.name()).c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0640u);
  }
  EXPECT_THROW(nocopy::normalize_shm_name(""), std::invalid_argument);
  EXPECT_THROW(nocopy::normalize_shm_name("/"), std::invalid_argument);
  EXPECT_THROW(nocopy::normalize_shm_name("a/b"), std::invalid_argument);
  EXPECT_THROW(nocopy::normalize_shm_name(std::string(300, 'x')), std::invalid_argument);
  EXPECT_THROW(SharedArray::create(Shape{-1}, DType::UInt8), std::invalid_argument);
  EXPECT_THROW(SharedArray::create(Shape{INT64_MAX, 4}, DType::UInt8), std::overflow_error);
  try {
    SharedArray::attach("nocopy-test-does-not-exist");
    ADD_FAILURE();
  } catch (const nocopy::FileError& e) {
    EXPECT_EQ(e.code().value(), ENOENT);
    EXPECT_EQ(e.path(), "nocopy-test-does-not-exist");
  }
}

TEST(SharedArray, FullShmIsAClearErrorNotSigbus) {
  // Far more than /dev/shm can hold: refused up front with the free space and the size asked.
  try {
    SharedArray::create(Shape{int64_t{1} << 50}, DType::UInt8);
    ADD_FAILURE();
  } catch (const std::runtime_error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("/dev/shm"), std::string::npos) << m;
    EXPECT_NE(m.find("free"), std::string::npos) << m;
    EXPECT_NE(m.find(std::to_string((int64_t{1} << 50) + 4096)), std::string::npos) << m;
  }
}

// On a real /dev/shm of 1 MiB (a private mount in a forked child): an array larger than the
// free space is ENOSPC at creation, one that fits is written to its last byte without SIGBUS,
// and a failed create leaves no segment behind.
TEST(SharedArray, SmallDevShmIsEnospcAtCreationNeverSigbus) {
  const auto r = small_fs_test::on_small_tmpfs(nocopy::kShmDir, "1m", []() {
    try {
      SharedArray::create(Shape{4 << 20}, DType::UInt8);
      return 2;
    } catch (const nocopy::FileError& e) {
      if (e.code().value() != ENOSPC) return 3;
    }
    SharedArray a = SharedArray::create(Shape{600 << 10}, DType::UInt8);
    std::memset(a.view().data(), 1, static_cast<size_t>(a.view().size()));
    try {
      SharedArray::create(Shape{600 << 10}, DType::UInt8);  // fits the size, not the free space
      return 4;
    } catch (const nocopy::FileError& e) {
      if (e.code().value() != ENOSPC) return 5;
    }
    const std::string only = "test \"$(ls -A " + std::string(nocopy::kShmDir) + ")\" = " + a.name();
    return std::system(only.c_str()) == 0 ? 0 : 6;
  });
  if (r.skipped) GTEST_SKIP() << "cannot mount a tmpfs in a private mount namespace here";
  EXPECT_TRUE(r.ok) << "child: " << r.status
                    << " (2, 4: no error, 3, 5: not ENOSPC, 6: a segment left behind)";
}

TEST(SharedArray, AttachRejectsForeignAndTruncatedSegments) {
  RawSegment foreign(std::vector<uint8_t>(64, 'A'), 8192);
  try {
    SharedArray::attach(foreign.name);
    ADD_FAILURE();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("magic"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find(foreign.name), std::string::npos);
  }
  RawSegment empty({}, 0);
  EXPECT_THROW(SharedArray::attach(empty.name), std::invalid_argument);
  // A valid header whose segment is shorter than the data: refused, never mapped past the end.
  ShmHeader h = shm_test::header_for({1000, 1000}, DType::Float64);
  RawSegment cut(nocopy::make_shm_header(h), 4096 + 100);
  try {
    SharedArray::attach(cut.name);
    ADD_FAILURE();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos) << e.what();
  }
  EXPECT_THROW(nocopy::remove_segment(foreign.name), std::invalid_argument);
}

TEST(SharedArray, ForkedChildrenWriteDisjointSlices) {
  constexpr int kChildren = 4;
  constexpr int64_t kRows = 1000;
  SharedArray a = SharedArray::create(Shape{kChildren, kRows}, DType::Int32);
  const std::string name = a.name();
  std::vector<pid_t> pids;
  for (int c = 0; c < kChildren; ++c) {
    pid_t pid = fork();
    if (pid == 0) {
      int rc = 0;
      try {
        SharedArray b = SharedArray::attach(name);
        View row = b.view().slice(0, c, c + 1);
        for (int64_t i = 0; i < kRows; ++i)
          row.data_as<int32_t>()[i] = c * 10000 + static_cast<int32_t>(i);
      } catch (...) {
        rc = 3;
      }
      _exit(rc);
    }
    pids.push_back(pid);
  }
  for (pid_t p : pids) {
    int status = 0;
    waitpid(p, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  for (int c = 0; c < kChildren; ++c) {
    for (int64_t i = 0; i < kRows; i += 97) {
      EXPECT_EQ(a.view().data_as<int32_t>()[c * kRows + i], c * 10000 + i);
    }
  }
  EXPECT_TRUE(segment_exists(name));  // children exiting never unlink
}

TEST(SharedArray, ForkedCopyOfCreatorHandleDoesNotUnlink) {
  SharedArray a = SharedArray::create(Shape{4}, DType::UInt8);
  const std::string name = a.name();
  // The child inherits the creator's handle and destroys it: only the creating pid unlinks.
  EXPECT_EQ(in_child([&] {
              a.close();
              return 0;
            }),
            0);
  EXPECT_TRUE(segment_exists(name));
  a.close();
  EXPECT_FALSE(segment_exists(name));
}

TEST(SharedArray, KilledAttacherLeavesSegmentIntact) {
  SharedArray a = SharedArray::create(Shape{8}, DType::Int32);
  const std::string name = a.name();
  int pipefd[2];
  ASSERT_EQ(pipe(pipefd), 0);
  pid_t pid = fork();
  if (pid == 0) {
    SharedArray b = SharedArray::attach(name);
    b.view().data_as<int32_t>()[3] = 77;
    char ok = 1;
    [[maybe_unused]] ssize_t w = write(pipefd[1], &ok, 1);
    for (;;) pause();
  }
  char buf = 0;
  ASSERT_EQ(read(pipefd[0], &buf, 1), 1);
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFSIGNALED(status));
  ::close(pipefd[0]);
  ::close(pipefd[1]);
  EXPECT_TRUE(segment_exists(name));
  EXPECT_EQ(SharedArray::attach(name).view().data_as<int32_t>()[3], 77);
}

TEST(SharedArray, ViewAtChecksBoundsAndUnlinkCreated) {
  SharedArray a = SharedArray::create(Shape{10, 10}, DType::Float32);
  View s = a.view().slice(0, 2, 5).slice(1, 1, 9, 2);
  const int64_t off = nocopy::shm_data_offset_of(s);
  EXPECT_EQ(off, (2 * 10 + 1) * 4);
  SharedArray b = SharedArray::attach(a.name());
  View r = b.view_at(off, DType::Float32, s.shape(), s.strides(), false);
  r.data_as<float>()[0] = 9.0f;
  EXPECT_EQ(s.data_as<float>()[0], 9.0f);
  EXPECT_EQ(r.byte_extent().end - r.byte_extent().begin,
            s.byte_extent().end - s.byte_extent().begin);
  // Hostile references: outside the data area, negative offsets, overflowing geometry.
  EXPECT_THROW(b.view_at(-4, DType::Float32, {1}, {1}, true), std::invalid_argument);
  EXPECT_THROW(b.view_at(400, DType::Float32, {1}, {1}, true), std::invalid_argument);
  EXPECT_THROW(b.view_at(0, DType::Float32, {101}, {1}, true), std::invalid_argument);
  EXPECT_THROW(b.view_at(40, DType::Float32, {2}, {-20}, true), std::invalid_argument);
  EXPECT_THROW(b.view_at(0, DType::Float32, {INT64_MAX}, {INT64_MAX}, true), std::exception);
  EXPECT_NO_THROW(b.view_at(400, DType::Float32, {0}, {1}, true));
  SharedArray ro = SharedArray::attach(a.name(), true);
  EXPECT_THROW(ro.view_at(0, DType::Float32, {1}, {1}, false), std::invalid_argument);
  EXPECT_THROW(nocopy::shm_data_offset_of(View::empty(DType::Int8, {1})), std::invalid_argument);
  // unlink_created_segments removes the name while views keep the memory.
  const std::string name = a.name();
  nocopy::unlink_created_segments();
  EXPECT_FALSE(segment_exists(name));
  EXPECT_EQ(s.data_as<float>()[0], 9.0f);
}

TEST(SharedArray, HandOffLeavesTheNameForTheAdopter) {
  int pipefd[2];
  ASSERT_EQ(pipe(pipefd), 0);
  // A child creates an array, hands it off and closes it normally: the name survives.
  const int rc = in_child([&] {
    SharedArray a = SharedArray::create(Shape{3}, DType::Int32);
    a.view().data_as<int32_t>()[1] = 41;
    a.hand_off();
    EXPECT_FALSE(a.mapping()->owns_name());
    [[maybe_unused]] ssize_t w = write(pipefd[1], a.name().c_str(), a.name().size());
    a.close();
    return segment_exists(a.name()) ? 0 : 5;
  });
  ASSERT_EQ(rc, 0);
  char buf[256] = {};
  const ssize_t n = read(pipefd[0], buf, sizeof(buf) - 1);
  ::close(pipefd[0]);
  ::close(pipefd[1]);
  ASSERT_GT(n, 0);
  const std::string name(buf, static_cast<size_t>(n));
  SharedArray b = SharedArray::adopt(name);
  EXPECT_TRUE(b.is_creator());
  EXPECT_TRUE(b.mapping()->owns_name());
  EXPECT_EQ(b.view().data_as<int32_t>()[1], 41);
  b.close();  // the adopter removes the name, as the creator would have
  EXPECT_FALSE(segment_exists(name));
  SharedArray attached = SharedArray::create(Shape{1}, DType::UInt8);
  EXPECT_THROW(SharedArray::attach(attached.name()).hand_off(), std::invalid_argument);
}

TEST(SharedArray, UnlinkNeverRemovesASegmentThatReplacedTheName) {
  SharedArray a = SharedArray::create(Shape{2}, DType::UInt8);
  const std::string name = a.name();
  ASSERT_EQ(shm_unlink(("/" + name).c_str()), 0);  // removed by someone else
  ShmCreateOptions opt;
  opt.name = name;
  SharedArray b = SharedArray::create(Shape{2}, DType::UInt8, opt);  // same name, new segment
  a.close();
  EXPECT_TRUE(segment_exists(name));  // a's close left b's segment alone
}

TEST(SharedArray, FifoUnderTheNameIsRefusedWithoutBlocking) {
  const std::string name = "nocopy-test-fifo-" + std::to_string(getpid());
  const std::string path = std::string(nocopy::kShmDir) + "/" + name;
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  EXPECT_THROW(SharedArray::attach(name, true), std::invalid_argument);
  EXPECT_THROW(SharedArray::attach(name, false), std::invalid_argument);
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0);
  ::unlink(path.c_str());
}
