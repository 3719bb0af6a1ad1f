// Positional reads (pread) of the file behind a mapped view, a ReadAt backend: the copying
// alternative to touching the mapping, for readers of small random ranges (the sequence loader's
// windows) that should neither fault the mapping's pages in nor leave them resident.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "nocopy/core/view.hpp"
#include "nocopy/storage/read_at.hpp"

namespace nocopy {

/// A descriptor on the file a view maps, opened again by the mapping's path, with
/// POSIX_FADV_RANDOM (no read-ahead around each read). Writes through any shared mapping of the
/// file are visible to its reads (both go through the page cache).
class FileReader final : public ReadAt {
 public:
  /// A reader of the file `view` maps (a regular file, or a shared array's segment under
  /// kShmDir), or nullptr when there is none to use: the view's owner is neither, the mapping
  /// is copy-on-write (pread would miss this process's private writes), or the path no longer
  /// names the mapped file (same device and inode) or cannot be opened. Never throws for those:
  /// the caller then reads the mapping.
  static std::unique_ptr<FileReader> open_for(const View& view);
  ~FileReader() override;
  FileReader(const FileReader&) = delete;
  FileReader& operator=(const FileReader&) = delete;

  /// Reads the `n` bytes that start `offset` bytes after view.data() into `dst`. FileError with
  /// the errno and path on a read error; std::runtime_error when the file ends first (it was
  /// truncated after it was mapped, where reading the mapping would raise SIGBUS).
  void read(void* dst, size_t n, int64_t offset) const override;
  /// The file's path.
  const std::string& source() const override { return path_; }

 private:
  FileReader(int fd, int64_t base, std::string path)
      : fd_(fd), base_(base), path_(std::move(path)) {}
  int fd_;            // owned, O_RDONLY | O_CLOEXEC
  int64_t base_;      // file offset of view.data()
  std::string path_;  // for messages
};

}  // namespace nocopy
