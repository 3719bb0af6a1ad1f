// Helpers of the shared-array tests: segment existence, forked children, raw segments.
#pragma once

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "nocopy/storage/shared_array.hpp"
#include "nocopy/storage/shm_header.hpp"

namespace shm_test {

using nocopy::DType;
using nocopy::ShmHeader;


using Shape = std::vector<int64_t>;

inline bool segment_exists(const std::string& name) {
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

inline ShmHeader header_for(Shape shape, DType t) {
  ShmHeader h;
  h.shape = std::move(shape);
  h.dtype = t;
  h.creator_pid = 1234;
  return h;
}

}  // namespace shm_test
