// Files written under a temporary name and renamed into place on success (see staged_file.hpp).
#include "storage/staged_file.hpp"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>

#include <cerrno>
#include <cstdio>
#include <limits>
#include <memory>
#include <random>
#include <stdexcept>

#include "nocopy/core/errors.hpp"

namespace nocopy {
namespace {

// Longest part of the target's file name kept in the temporary name (NAME_MAX is 255).
constexpr size_t kMaxBaseInTempName = 200;

std::string random_suffix() {
  std::random_device rd;
  const uint64_t r = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%012llx",
                static_cast<unsigned long long>(r & 0xFFFFFFFFFFFFull));
  return buf;
}

}  // namespace

StagedFile StagedFile::create(const std::string& path, const std::string& what) {
  check_path(path, what);
  const std::string action = "cannot create " + what;
  std::string target = path;
  bool exists = false;
  struct stat st {};
  struct stat link {};
  if (::lstat(path.c_str(), &link) == 0) {
    if (S_ISLNK(link.st_mode)) {
      // Replace the file the link points to, keeping the link.
      std::unique_ptr<char, decltype(&::free)> real(::realpath(path.c_str(), nullptr), &::free);
      if (real == nullptr) throw FileError(errno, path, action + " through the symbolic link");
      target = real.get();
    }
    if (::stat(target.c_str(), &st) != 0) throw FileError(errno, path, action);
    require_regular_file(st, path, action);
    exists = true;
  } else if (errno != ENOENT) {
    throw FileError(errno, path, action);
  }
  const size_t slash = target.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : target.substr(0, slash + 1);
  const std::string base = slash == std::string::npos ? target : target.substr(slash + 1);
  const mode_t mode = exists ? (st.st_mode & 07777) : 0644;
  for (int attempt = 0;; ++attempt) {
    std::string temp = (slash == std::string::npos ? std::string() : dir) + "." +
                       base.substr(0, kMaxBaseInTempName) + ".tmp-" + random_suffix();
    UniqueFd fd(::open(temp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode));
    if (fd.get() < 0) {
      if (errno == EEXIST && attempt < 16) continue;
      throw FileError(errno, path, action);
    }
    StagedFile staged(target, std::move(temp), std::move(fd), what);
    // The umask applied to a new file; an existing file's bits are kept exactly.
    if (exists && ::fchmod(staged.fd(), mode) != 0) throw FileError(errno, path, action);
    return staged;
  }
}

StagedFile::StagedFile(StagedFile&& other) noexcept
    : target_(std::move(other.target_)),
      temp_(std::exchange(other.temp_, std::string())),
      fd_(std::move(other.fd_)),
      what_(std::move(other.what_)) {}

StagedFile::~StagedFile() {
  if (!temp_.empty()) ::unlink(temp_.c_str());
}

void StagedFile::reserve(uint64_t bytes) {
  if (bytes == 0) return;
  if (bytes > static_cast<uint64_t>(std::numeric_limits<off_t>::max())) {
    throw std::overflow_error(what_ + " '" + target_ + "' of " + std::to_string(bytes) +
                              " bytes is larger than a file can be");
  }
  int err;
  do {
    err = ::posix_fallocate(fd_.get(), 0, static_cast<off_t>(bytes));
  } while (err == EINTR);
  if (err != 0) {
    throw FileError(err, target_,
                    "cannot reserve " + std::to_string(bytes) + " bytes on disk for " + what_);
  }
}

void StagedFile::commit() {
  if (::rename(temp_.c_str(), target_.c_str()) != 0) {
    throw FileError(errno, target_, "cannot replace " + what_);
  }
  temp_.clear();
}

}  // namespace nocopy
