// .npy files as zero-copy views: an existing file mapped into memory, or a new file created
// safely (under a temporary name, renamed over the target only when complete) and mapped.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "nocopy/core/dtype.hpp"
#include "nocopy/core/view.hpp"
#include "nocopy/storage/mapped_file.hpp"
#include "nocopy/storage/npy_header.hpp"

namespace nocopy {

/// Maps a .npy file and returns a view of its data (F-ordered strides when fortran_order).
/// mode: ReadOnly (read-only view), ReadWrite (writes reach the file), CopyOnWrite (private).
/// The open never blocks (a FIFO is refused); system errors are FileError with the path.
View open_npy(const std::string& path, MapMode mode = MapMode::ReadOnly);

/// How create_npy provides the disk space of the data.
enum class NpySpace {
  /// Allocated up front (posix_fallocate): a full file system is FileError(ENOSPC) at creation,
  /// and writes through the view never fault. Instant on ext4, XFS, btrfs and tmpfs (where it
  /// takes the memory); file systems without fallocate are written with zeros.
  Reserve,
  /// Sized only (ftruncate): instant and takes no disk until written, but a write through the
  /// view when the file system is full raises SIGBUS, which no library can turn into an error.
  Sparse,
};

/// Creates `path` as a .npy file of the given shape and dtype (reading as zeros), its space
/// reserved or sparse as `space` says, and returns a writable C-ordered view of it. The file is
/// written under a temporary name in the same directory and renamed over `path` only when it
/// is complete, so a failure leaves an existing file untouched, and views of the old file (from
/// open_npy) keep reading the old data. A target that is not a regular file (directory, FIFO,
/// device) is refused before anything is touched.
View create_npy(const std::string& path, std::span<const int64_t> shape, DType dtype,
                NpySpace space = NpySpace::Reserve);

}  // namespace nocopy
