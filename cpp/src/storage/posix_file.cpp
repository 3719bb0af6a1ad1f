// POSIX file plumbing shared by the storage modules (see posix_file.hpp).
#include "storage/posix_file.hpp"

#include <fcntl.h>

#include <cerrno>
#include <stdexcept>

#include "nocopy/core/errors.hpp"

namespace nocopy {
namespace {

// The path as it can be shown in a message: NUL bytes written as \x00.
std::string shown(const std::string& path) {
  std::string out;
  for (char c : path) out += c == '\0' ? std::string("\\x00") : std::string(1, c);
  return out;
}

const char* file_kind(mode_t mode) {
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

}  // namespace

void check_path(const std::string& path, const std::string& what) {
  if (path.find('\0') != std::string::npos) {
    throw std::invalid_argument(what + " '" + shown(path) +
                                "': it contains a NUL byte (embedded null byte)");
  }
}

void require_regular_file(const struct stat& st, const std::string& path, const std::string& what) {
  if (S_ISREG(st.st_mode)) return;
  if (S_ISDIR(st.st_mode)) throw FileError(EISDIR, path, what);
  throw std::invalid_argument(what + " '" + path + "': it is " + file_kind(st.st_mode) +
                              ", not a regular file");
}

OpenFile finish_open(int fd, const std::string& path, const std::string& what) {
  OpenFile f;
  f.fd.reset(fd);
  if (f.fd.get() < 0) throw FileError(errno, path, what);
  if (::fstat(f.fd.get(), &f.st) != 0) throw FileError(errno, path, what);
  require_regular_file(f.st, path, what);
  // Back to blocking mode (no effect on regular files today, but reads should never see EAGAIN).
  const int fl = ::fcntl(f.fd.get(), F_GETFL);
  if (fl >= 0) ::fcntl(f.fd.get(), F_SETFL, fl & ~O_NONBLOCK);
  return f;
}

OpenFile open_regular_file(const std::string& path, int flags, const std::string& what) {
  check_path(path, what);
  return finish_open(::open(path.c_str(), flags | O_CLOEXEC | O_NONBLOCK), path, what);
}

size_t pread_full(int fd, uint8_t* buf, size_t n, uint64_t offset, const std::string& path) {
  size_t done = 0;
  while (done < n) {
    const ssize_t r = ::pread(fd, buf + done, n - done, static_cast<off_t>(offset + done));
    if (r < 0) {
      if (errno == EINTR) continue;
      throw FileError(errno, path, "cannot read");
    }
    if (r == 0) break;
    done += static_cast<size_t>(r);
  }
  return done;
}

}  // namespace nocopy
