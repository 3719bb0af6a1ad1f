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

/// Creates `path` as a .npy file of the given shape and dtype, preallocated sparsely (no data
/// is written; it reads as zeros), and returns a writable C-ordered view of it. The file is
/// written under a temporary name in the same directory and renamed over `path` only when it
/// is complete, so a failure leaves an existing file untouched, and views of the old file (from
/// open_npy) keep reading the old data. A target that is not a regular file (directory, FIFO,
/// device) is refused before anything is touched.
View create_npy(const std::string& path, std::span<const int64_t> shape, DType dtype);

}  // namespace nocopy
