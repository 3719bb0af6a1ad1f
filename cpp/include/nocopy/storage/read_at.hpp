// The storage read seam: how a loader reads the bytes of a source it does not touch through a
// pointer. ReadAt is one positional-read interface (its backends: FileReader, pread of the file
// or shared-memory segment behind a mapping; later, object stores); storage_of() says what backs
// a view, so a reader chooses between touching the mapping and reading by position without
// knowing the storage classes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "nocopy/core/view.hpp"

namespace nocopy {

/// Positional reads of a byte range that starts at a view's first byte.
class ReadAt {
 public:
  virtual ~ReadAt() = default;
  /// Copies the `n` bytes that start `offset` bytes after the view's first byte into `dst`.
  /// FileError with the errno and path on a read error; std::runtime_error when the data ends
  /// first.
  virtual void read(void* dst, size_t n, int64_t offset) const = 0;
  /// What is read, for messages (a path, a segment name, a URL).
  virtual const std::string& source() const = 0;
};

/// What backs a view's memory, as readers of it need to know.
struct ViewStorage {
  /// The view lies in a memory mapping (a file, a shared-memory segment): its pages can be
  /// advised (random access) and, unless copy-on-write, released after reading.
  bool mapped = false;
  /// The mapping is copy-on-write: releasing its pages would drop this process's writes.
  bool copy_on_write = false;
};

/// What backs `view` (a plain heap or foreign buffer is neither mapped nor copy-on-write).
ViewStorage storage_of(const View& view);

/// A positional reader of the file behind `view` (pread, POSIX_FADV_RANDOM), or nullptr when
/// there is none to use: the view is not a mapping of a regular file or of a shared array's
/// segment, the mapping is copy-on-write, or its path no longer names the mapped file. Never
/// throws for those: the caller then reads the memory.
std::unique_ptr<ReadAt> positional_reader(const View& view);

}  // namespace nocopy
