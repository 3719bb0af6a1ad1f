// Memory-mapped regions: files (and shared-memory segments) mapped with mmap, kept alive as view
// owners, and madvise access hints for the pages a view covers.
//
// A mapping is an Owner: views of it hold a shared_ptr, and the destructor munmaps, so closing
// the file handle never invalidates a view; the pages go away with the last view.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "nocopy/core/owner.hpp"
#include "nocopy/core/view.hpp"

namespace nocopy {

/// How a file is mapped: read-only, read-write (writes reach the file), or copy-on-write
/// (writes stay private to this process), like NumPy's mmap_mode "r", "r+", "c".
enum class MapMode { ReadOnly, ReadWrite, CopyOnWrite };

/// Parses "r", "r+" or "c"; std::invalid_argument naming the text otherwise.
MapMode map_mode_from_string(std::string_view mode);

/// A region mapped into memory; munmaps in its destructor. Base of file and shm mappings.
class MappedRegion : public Owner {
 public:
  ~MappedRegion() override;
  MappedRegion(const MappedRegion&) = delete;
  MappedRegion& operator=(const MappedRegion&) = delete;

  /// First byte of the mapping (page aligned).
  uint8_t* data() const { return data_; }
  /// Length of the mapping in bytes.
  size_t size() const { return size_; }
  /// How the region was mapped.
  MapMode mode() const { return mode_; }
  /// What was mapped (a path or a shm name), for messages.
  const std::string& source() const { return source_; }

 protected:
  /// Takes ownership of an existing mapping of `size` bytes at `data`.
  MappedRegion(uint8_t* data, size_t size, MapMode mode, std::string source)
      : data_(data), size_(size), mode_(mode), source_(std::move(source)) {}

 private:
  uint8_t* data_;
  size_t size_;
  MapMode mode_;
  std::string source_;
};

/// A whole regular file mapped into memory.
class MappedFile final : public MappedRegion {
 public:
  /// Opens and maps `path` whole. System errors (missing file, permissions, a directory) throw
  /// FileError with the errno and the path; an empty file, a FIFO or a device, or a path with a
  /// NUL byte, std::invalid_argument. The open never blocks (a FIFO is refused, not waited on).
  static std::shared_ptr<MappedFile> open(const std::string& path, MapMode mode);
  /// Maps the first `size` bytes of an open descriptor (the descriptor may be closed afterwards).
  static std::shared_ptr<MappedFile> map_fd(int fd, size_t size, MapMode mode, std::string path);
  std::string_view kind() const override { return "mmap"; }
  /// Device and inode of the mapped file (fstat when it was mapped), so a reader that reopens
  /// source() can tell whether the path still names this file.
  uint64_t device() const { return device_; }
  uint64_t inode() const { return inode_; }

 private:
  MappedFile(uint8_t* data, size_t size, MapMode mode, std::string source, uint64_t device,
             uint64_t inode)
      : MappedRegion(data, size, mode, std::move(source)), device_(device), inode_(inode) {}
  uint64_t device_, inode_;
};

/// Access hints for the pages of a mapped view (madvise).
enum class Advice { Normal, Sequential, Random, WillNeed, DontNeed };

/// Parses "normal", "sequential", "random", "willneed" or "dontneed".
Advice advice_from_string(std::string_view advice);

/// Gives the kernel an access hint for the pages `view` covers. The view's owner must be a
/// mapping (std::invalid_argument otherwise); "dontneed" is refused on copy-on-write mappings
/// because it would silently discard the private writes.
void advise(const View& view, Advice advice);

/// Calls mmap; FileError naming `what` (the path or segment name), the size and the errno.
uint8_t* map_or_throw(int fd, size_t size, MapMode mode, const std::string& what);

}  // namespace nocopy
