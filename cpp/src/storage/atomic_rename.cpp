// Renames that never replace what is at the destination (see atomic_rename.hpp).
#include "nocopy/storage/atomic_rename.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "nocopy/core/errors.hpp"
#include "storage/claimed_rename.hpp"
#include "storage/posix_file.hpp"

// The flags of renameat2(2) (linux/fs.h), for C libraries that do not declare them.
#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

namespace nocopy {
namespace {

// The action of the FileError(EEXIST) for a destination that is taken.
constexpr const char* kTaken = "cannot rename onto a name that is taken";

// renameat2 through the system call (glibc declares it only from 2.28); -1 with errno set.
int renameat2_paths(const std::string& from, const std::string& to, unsigned flags) {
#ifdef SYS_renameat2
  return static_cast<int>(
      ::syscall(SYS_renameat2, AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), flags));
#else
  (void)from;
  (void)to;
  (void)flags;
  errno = ENOSYS;
  return -1;
#endif
}

// True when renameat2 failed because the file system or kernel lacks the flag.
bool flag_unsupported(int err) {
  return err == EINVAL || err == ENOSYS || err == EOPNOTSUPP;
}

}  // namespace

// RENAME_NOREPLACE where the file system lacks it: the destination name is claimed by an
// operation that fails when it is taken, so nothing another process put there is replaced.
void rename_claiming_the_name(const std::string& from, const std::string& to) {
  const std::string action = "cannot rename to '" + to + "'";
  struct stat st {};
  if (::lstat(from.c_str(), &st) != 0) throw FileError(errno, from, action);
  if (!S_ISDIR(st.st_mode)) {
    if (::link(from.c_str(), to.c_str()) != 0) {
      if (errno == EEXIST) throw FileError(EEXIST, to, kTaken);
      throw FileError(errno, from, action);
    }
    ::unlink(from.c_str());
    return;
  }
  if (::mkdir(to.c_str(), 0700) != 0) {
    if (errno == EEXIST) throw FileError(EEXIST, to, kTaken);
    throw FileError(errno, from, action);
  }
  // Replaces only the empty directory just made (a non-empty one makes rename fail).
  if (::rename(from.c_str(), to.c_str()) != 0) {
    const int err = errno;
    ::rmdir(to.c_str());  // removes it only while it is still empty
    throw FileError(err, from, action);
  }
}

void rename_no_replace(const std::string& from, const std::string& to) {
  check_path(from, "cannot rename");
  check_path(to, "cannot rename to");
  if (renameat2_paths(from, to, RENAME_NOREPLACE) == 0) return;
  const int err = errno;
  if (err == EEXIST) throw FileError(EEXIST, to, kTaken);
  if (flag_unsupported(err)) return rename_claiming_the_name(from, to);
  throw FileError(err, from, "cannot rename to '" + to + "'");
}

void exchange_paths(const std::string& a, const std::string& b) {
  check_path(a, "cannot exchange");
  check_path(b, "cannot exchange");
  if (renameat2_paths(a, b, RENAME_EXCHANGE) != 0) {
    throw FileError(errno, b, "cannot exchange with '" + a + "'");
  }
}

}  // namespace nocopy
