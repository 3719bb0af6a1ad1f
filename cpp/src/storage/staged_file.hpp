// A file written under a temporary name beside its target and renamed over the target only when
// complete, so a failed write never destroys what was there, and processes that mapped the old
// file keep reading the old file's pages.
#pragma once

#include <cstdint>
#include <string>

#include "storage/posix_file.hpp"

namespace nocopy {

/// A new file being written for `target`; unlinked on destruction unless committed.
class StagedFile {
 public:
  /// Checks the target and creates an empty temporary file (O_EXCL) in its directory. The
  /// target must be missing or a regular file (a symbolic link is followed to its file); a
  /// directory is FileError(EISDIR), a FIFO, device or socket std::invalid_argument, all before
  /// anything is created. The new file gets the target's permission bits when it exists, else
  /// 0644 less the umask. `what` names the file in messages (".npy file").
  static StagedFile create(const std::string& target, const std::string& what);

  StagedFile(StagedFile&& other) noexcept;
  StagedFile& operator=(StagedFile&&) = delete;
  StagedFile(const StagedFile&) = delete;
  StagedFile& operator=(const StagedFile&) = delete;
  /// Unlinks the temporary file unless commit() succeeded.
  ~StagedFile();

  /// Descriptor of the temporary file (read-write).
  int fd() const { return fd_.get(); }
  /// Allocates `bytes` of disk space for the temporary file (posix_fallocate; the file grows to
  /// at least that size), so writes through a mapping of it cannot fault (SIGBUS) on a full file
  /// system. FileError(ENOSPC) naming the target when the space is not there.
  void reserve(uint64_t bytes);
  /// Renames the temporary file over the target (atomic); FileError naming the target on failure.
  void commit();

 private:
  StagedFile(std::string target, std::string temp, UniqueFd fd, std::string what)
      : target_(std::move(target)),
        temp_(std::move(temp)),
        fd_(std::move(fd)),
        what_(std::move(what)) {}
  std::string target_;  // the path the file replaces (symbolic links resolved)
  std::string temp_;    // the temporary name; empty once committed or moved from
  UniqueFd fd_;
  std::string what_;
};

}  // namespace nocopy
