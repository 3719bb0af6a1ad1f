// Tests of shared arrays: header format and its validation, create/attach across fork(),
// lifetime and unlink rules, permissions, a full /dev/shm, and the list/remove/gc helpers.
#include "nocopy/storage/shared_array.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

using nocopy::DType;
using nocopy::SharedArray;
using nocopy::ShmCreateOptions;
using nocopy::ShmHeader;
using nocopy::View;

namespace {

using Shape = std::vector<int64_t>;

bool segment_exists(const std::string& name) {
  struct stat st {};
  return ::stat((std::string(nocopy::kShmDir) + "/" + name).c_str(), &st) == 0;
}

// Runs `body` in a forked child and returns its exit status (the child never returns).
template <class F>
int in_child(F body) {
  pid_t pid = fork();
  if (pid == 0) {
    int rc = 1;
    try {
      rc = body();
    } catch (...) {
      rc = 99;
    }
    _exit(rc);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// A raw (non-nocopy) shm segment with the given bytes, unlinked at scope exit.
struct RawSegment {
  std::string name;
  explicit RawSegment(const std::vector<uint8_t>& bytes, size_t size = 0) {
    name = "nocopy-test-raw-" + std::to_string(getpid()) + "-" + std::to_string(counter++);
    int fd = shm_open(("/" + name).c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd < 0) throw std::runtime_error("shm_open failed");
    if (ftruncate(fd, static_cast<off_t>(size ? size : bytes.size())) != 0 ||
        (!bytes.empty() && pwrite(fd, bytes.data(), bytes.size(), 0) < 0)) {
      ::close(fd);
      throw std::runtime_error("raw segment write failed");
    }
    ::close(fd);
  }
  ~RawSegment() { shm_unlink(("/" + name).c_str()); }
  static inline int counter = 0;
};

ShmHeader header_for(Shape shape, DType t) {
  ShmHeader h;
  h.shape = std::move(shape);
  h.dtype = t;
  h.creator_pid = 1234;
  return h;
}

}  // namespace

TEST(ShmHeader, RoundTrips) {
  for (const Shape& s : {Shape{}, Shape{0}, Shape{3, 4, 5}, Shape(64, 1)}) {
    ShmHeader h = header_for(s, DType::Float16);
    h.persist = true;
    h.creator_start = 99;
    auto b = nocopy::make_shm_header(h);
    ASSERT_LT(b.size(), nocopy::kShmDataOffset);
    uint64_t size = nocopy::shm_segment_size(h.dtype, h.shape);
    ShmHeader p = nocopy::parse_shm_header(b, size);
    EXPECT_EQ(p.shape, s);
    EXPECT_EQ(p.dtype, DType::Float16);
    EXPECT_TRUE(p.persist);
    EXPECT_EQ(p.creator_pid, 1234);
    EXPECT_EQ(p.creator_start, 99u);
    EXPECT_EQ(p.data_offset, nocopy::kShmDataOffset);
    EXPECT_EQ(p.data_offset + p.data_bytes, size);
  }
}

// Every corruption is a clear std::invalid_argument containing the fragment.
TEST(ShmHeader, CorruptHeadersRaiseClearErrors) {
  const ShmHeader base = header_for({10, 20}, DType::Int32);
  const auto good = nocopy::make_shm_header(base);
  const uint64_t size = nocopy::shm_segment_size(base.dtype, base.shape);
  struct Case {
    const char* what;
    std::vector<uint8_t> bytes;
    uint64_t size;
    const char* fragment;
  };
  auto with = [&](size_t at, std::vector<uint8_t> patch) {
    auto b = good;
    std::memcpy(b.data() + at, patch.data(), patch.size());
    return b;
  };
  auto le32 = [](uint32_t v) {
    std::vector<uint8_t> o(4);
    std::memcpy(o.data(), &v, 4);
    return o;
  };
  std::vector<Case> cases = {
      {"empty", {}, 0, "magic"},
      {"foreign", std::vector<uint8_t>(200, 'A'), 8192, "magic"},
      {"magic only", std::vector<uint8_t>(good.begin(), good.begin() + 8), 8, "truncated"},
      {"cut header", std::vector<uint8_t>(good.begin(), good.begin() + 60), 60, "truncated"},
      {"cut shape", std::vector<uint8_t>(good.begin(), good.end() - 4), good.size() - 4,
       "truncated"},
      {"version", with(8, le32(7)), size, "version 7"},
      {"ndim huge", with(40, le32(1000)), size, "ndim 1000"},
      {"header size", with(12, le32(500)), size, "header size"},
      {"checksum", with(60, {0xAB}), size, "checksum"},
      {"shape flipped", with(80, {0xFF}), size, "checksum"},
      {"data truncated", good, size - 1, "truncated"},
      {"data truncated to header", good, nocopy::kShmDataOffset - 100, "truncated"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    try {
      std::span<const uint8_t> bytes(c.bytes.data(), std::min<size_t>(c.bytes.size(), c.size));
      nocopy::parse_shm_header(bytes, c.size);
      ADD_FAILURE() << "no exception";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(c.fragment), std::string::npos) << e.what();
    }
  }
}

// Fields that the checksum covers but whose values are wrong: rebuilt with a valid checksum.
TEST(ShmHeader, InconsistentFieldsWithValidChecksum) {
  struct Case {
    const char* what;
    size_t at;
    std::vector<uint8_t> patch;
    const char* fragment;
  };
  const std::vector<Case> cases = {
      {"dtype", 32, {'<', 'x', '9', 0}, "unknown dtype"}, {"flags", 44, {0x02}, "unknown flags"},
      {"offset", 16, {0x00, 0x20}, "data offset"},        {"data bytes", 24, {0x01}, "data size"},
      {"negative dim", 87, {0x80}, "negative dimension"},
  };
  const ShmHeader base = header_for({10, 20}, DType::Int32);
  const uint64_t size = nocopy::shm_segment_size(base.dtype, base.shape);
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    auto b = nocopy::make_shm_header(base);
    std::memcpy(b.data() + c.at, c.patch.data(), c.patch.size());
    // Recompute the checksum the way the writer does (FNV-1a over [0,72) and the shape).
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < b.size(); ++i) {
      if (i >= 72 && i < 80) continue;
      h ^= b[i];
      h *= 1099511628211ull;
    }
    std::memcpy(b.data() + 72, &h, 8);
    try {
      nocopy::parse_shm_header(b, size);
      ADD_FAILURE() << "no exception";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(c.fragment), std::string::npos) << e.what();
    }
  }
}

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
  EXPECT_THROW(SharedArray::attach(name), std::invalid_argument);
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

TEST(SharedArray, PersistKeepsNameUntilRemoved) {
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

TEST(SharedArray, NamesModesAndErrors) {
  ShmCreateOptions opt;
  opt.name = "nocopy-test-mode-" + std::to_string(getpid());
  {
    SharedArray a = SharedArray::create(Shape{2}, DType::UInt8, opt);
    struct stat st {};
    ASSERT_EQ(::stat((std::string(nocopy::kShmDir) + "/" + a.name()).c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_THROW(SharedArray::create(Shape{2}, DType::UInt8, opt), std::invalid_argument);
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
  EXPECT_THROW(SharedArray::attach("nocopy-test-does-not-exist"), std::invalid_argument);
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
  ShmHeader h = header_for({1000, 1000}, DType::Float64);
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

TEST(SharedArray, GcRemovesOnlyDeadCreatorsSegments) {
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
