// POSIX file plumbing shared by the storage modules: an owning descriptor, the NUL-byte check
// every path goes through, opening a regular file without blocking on a FIFO, and full reads.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

namespace nocopy {

/// Owns a file descriptor (-1 when empty) and closes it on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  /// Takes ownership of `fd`.
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    reset(std::exchange(other.fd_, -1));
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  /// The descriptor (-1 when empty).
  int get() const { return fd_; }
  /// Gives up ownership and returns the descriptor.
  int release() { return std::exchange(fd_, -1); }
  /// Closes the current descriptor (if any) and owns `fd` instead.
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

/// std::invalid_argument when `path` holds a NUL byte: the system would silently cut the path
/// there and use another file (Python's open() refuses it the same way). The message shows the
/// NUL as \x00 after `what` ("cannot open .npy file").
void check_path(const std::string& path, const std::string& what);

/// Requires the file `st` describes to be a regular file: FileError(EISDIR) for a directory,
/// std::invalid_argument for a FIFO, device or socket (naming `what` and `path`).
void require_regular_file(const struct stat& st, const std::string& path, const std::string& what);

/// An open regular file: its descriptor and its stat.
struct OpenFile {
  /// The descriptor (O_CLOEXEC, blocking mode).
  UniqueFd fd;
  /// fstat of the descriptor.
  struct stat st {};
};

/// Finishes a non-blocking open: takes ownership of `fd` (from open or shm_open with
/// O_NONBLOCK; -1 when that failed, errno still set), fstats it, requires a regular file and
/// returns the descriptor to blocking mode. Errors as for open_regular_file.
OpenFile finish_open(int fd, const std::string& path, const std::string& what);

/// Opens `path` (`flags` such as O_RDONLY or O_RDWR) and requires a regular file. The open is
/// non-blocking, so a FIFO under the name is refused instead of hanging; system errors are
/// FileError naming `what` ("cannot open .npy file") and the path.
OpenFile open_regular_file(const std::string& path, int flags, const std::string& what);

/// Reads up to `n` bytes at `offset` into `buf`, fewer only at end of file (EINTR retried);
/// FileError naming `path` on a read error.
size_t pread_full(int fd, uint8_t* buf, size_t n, uint64_t offset, const std::string& path);

}  // namespace nocopy
