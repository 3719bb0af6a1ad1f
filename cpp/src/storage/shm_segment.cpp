// Opening shared-array segments by name and reading their header bytes (see shm_segment.hpp).
#include "storage/shm_segment.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>

#include "nocopy/core/errors.hpp"
#include "nocopy/storage/shared_array.hpp"
#include "nocopy/storage/shm_header.hpp"

namespace nocopy {
namespace {

/// Where the segment `name` is linked in the file system.
std::string segment_path(const std::string& name) {
  return std::string(kShmDir) + "/" + name;
}

}  // namespace

OpenFile open_segment(const std::string& name, int flags, const std::string& action) {
  const int fd = ::shm_open(("/" + name).c_str(), flags | O_CLOEXEC | O_NONBLOCK, 0);
  if (fd < 0 && errno == EINVAL) {
    // glibc reports a directory under the name as EINVAL: say what it is (IsADirectoryError,
    // as a read-only attach, which opens it, does).
    struct stat st {};
    const bool directory = ::stat(segment_path(name).c_str(), &st) == 0 && S_ISDIR(st.st_mode);
    errno = directory ? EISDIR : EINVAL;
  }
  return finish_open(fd, name, action);
}

std::vector<uint8_t> read_segment_header(int fd, uint64_t size, const std::string& name) {
  std::vector<uint8_t> buf(static_cast<size_t>(std::min<uint64_t>(size, kShmDataOffset)));
  buf.resize(pread_full(fd, buf.data(), buf.size(), 0, name));
  return buf;
}

bool segment_name_refers_to(const std::string& name, int fd) {
  struct stat mine {};
  if (::fstat(fd, &mine) != 0) return false;
  return segment_name_refers_to(name, static_cast<uint64_t>(mine.st_dev),
                                static_cast<uint64_t>(mine.st_ino));
}

bool segment_name_refers_to(const std::string& name, uint64_t device, uint64_t inode) {
  struct stat linked {};
  if (::stat(segment_path(name).c_str(), &linked) != 0) return false;
  return static_cast<uint64_t>(linked.st_dev) == device &&
         static_cast<uint64_t>(linked.st_ino) == inode;
}

}  // namespace nocopy
