// Raw files: a headerless binary file of one element type (nanoGPT's train.bin, a dump written
// with ndarray.tofile) mapped as a zero-copy view, the shape inferred from the size when absent.
//
// Like np.memmap(path, dtype, mode, offset, shape): the file is mapped whole and the view starts
// `offset` bytes in; it lives as long as any view of it (the mapping is the owner).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "nocopy/core/dtype.hpp"
#include "nocopy/core/view.hpp"
#include "nocopy/storage/mapped_file.hpp"

namespace nocopy {

/// Where the data of a raw file lies and what shape it has, checked against the file size.
struct RawLayout {
  /// Extent of each axis (C order).
  std::vector<int64_t> shape;
  /// Bytes the data takes (prod(shape) * itemsize).
  uint64_t data_bytes = 0;
};

/// The layout of `dtype` elements from byte `offset` of a file of `file_size` bytes: `shape`
/// (one axis may be -1, inferred) must fit in the bytes after the offset; without a shape the
/// rest of the file is one axis and must be a whole number of elements. `offset` is a multiple
/// of the item size. std::invalid_argument (std::overflow_error for huge shapes) names the path,
/// the sizes and the limit otherwise.
RawLayout raw_layout(const std::string& path, uint64_t file_size, DType dtype,
                     const std::optional<std::vector<int64_t>>& shape, uint64_t offset);

/// Maps an open descriptor of a regular file (std::invalid_argument for anything else) and
/// returns the view raw_layout describes: read-only for MapMode::ReadOnly. The descriptor may be
/// closed afterwards; `path` names the file in messages.
View open_raw_fd(int fd, const std::string& path, DType dtype,
                 const std::optional<std::vector<int64_t>>& shape, uint64_t offset, MapMode mode);

/// Opens `path` (non-blocking, so a FIFO cannot hang the call; std::system_error with errno
/// when it cannot be opened) and maps it with open_raw_fd.
View open_raw(const std::string& path, DType dtype,
              const std::optional<std::vector<int64_t>>& shape = std::nullopt, uint64_t offset = 0,
              MapMode mode = MapMode::ReadOnly);

}  // namespace nocopy
