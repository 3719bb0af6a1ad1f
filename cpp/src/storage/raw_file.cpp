// Raw files: the layout checked against the file size, then one whole-file mapping as the owner.
#include "nocopy/storage/raw_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <limits>
#include <stdexcept>
#include <system_error>

#include "internal/checked_math.hpp"
#include "storage/posix_file.hpp"

namespace nocopy {
namespace {

std::string quoted(const std::string& path) {
  return "'" + path + "'";
}

}  // namespace

RawLayout raw_layout(const std::string& path, uint64_t file_size, DType dtype,
                     const std::optional<std::vector<int64_t>>& shape, uint64_t offset) {
  const auto item = static_cast<uint64_t>(itemsize(dtype));
  const std::string type(dtype_name(dtype));
  if (offset > file_size) {
    throw std::invalid_argument("offset " + std::to_string(offset) + " is past the end of " +
                                quoted(path) + " (" + std::to_string(file_size) + " bytes)");
  }
  if (offset % item != 0) {
    throw std::invalid_argument("offset " + std::to_string(offset) +
                                " is not a multiple of the item size " + std::to_string(item) +
                                " of " + type);
  }
  const uint64_t avail = file_size - offset;
  if (avail > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    throw std::overflow_error(quoted(path) + " is too large to map (" + std::to_string(file_size) +
                              " bytes)");
  }
  RawLayout out;
  if (!shape) {
    if (avail % item != 0) {
      throw std::invalid_argument(quoted(path) + " has " + std::to_string(avail) +
                                  " bytes after offset " + std::to_string(offset) +
                                  ", not a whole number of " + type + " elements (" +
                                  std::to_string(item) + " bytes each); pass shape=");
    }
    out.shape = {static_cast<int64_t>(avail / item)};
  } else {
    out.shape = *shape;
    int64_t known = 1;
    int inferred = -1;
    for (size_t i = 0; i < out.shape.size(); ++i) {
      const int64_t d = out.shape[i];
      if (d == -1 && inferred < 0) {
        inferred = static_cast<int>(i);
        continue;
      }
      if (d < 0) {
        throw std::invalid_argument("shape " + format_tuple(out.shape) +
                                    " has a negative extent (only one -1, inferred, is allowed)");
      }
      known = checked_mul(known, d, "raw file shape size");
    }
    if (inferred >= 0) {
      const int64_t per = checked_mul(known, static_cast<int64_t>(item), "raw file row bytes");
      if (per == 0 || static_cast<uint64_t>(avail) % static_cast<uint64_t>(per) != 0) {
        throw std::invalid_argument("shape " + format_tuple(out.shape) + " of " + type +
                                    " cannot be inferred from the " + std::to_string(avail) +
                                    " bytes of " + quoted(path) + " after offset " +
                                    std::to_string(offset));
      }
      out.shape[static_cast<size_t>(inferred)] =
          static_cast<int64_t>(avail / static_cast<uint64_t>(per));
    }
  }
  int64_t bytes = static_cast<int64_t>(item);
  for (int64_t d : out.shape) bytes = checked_mul(bytes, d, "raw file size in bytes");
  if (static_cast<uint64_t>(bytes) > avail) {
    throw std::invalid_argument("shape " + format_tuple(out.shape) + " of " + type + " needs " +
                                std::to_string(bytes) + " bytes but " + quoted(path) + " has " +
                                std::to_string(avail) + " after offset " + std::to_string(offset));
  }
  out.data_bytes = static_cast<uint64_t>(bytes);
  return out;
}

View open_raw_fd(int fd, const std::string& path, DType dtype,
                 const std::optional<std::vector<int64_t>>& shape, uint64_t offset, MapMode mode) {
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    throw std::system_error(errno, std::generic_category(), "cannot stat " + quoted(path));
  }
  require_regular_file(st, path, "cannot map");  // as open_npy: IsADirectoryError, ValueError
  const auto size = static_cast<uint64_t>(st.st_size);
  const RawLayout layout = raw_layout(path, size, dtype, shape, offset);
  auto mapping = MappedFile::map_fd(fd, static_cast<size_t>(size), mode, path);
  return View::c_contiguous(mapping->data() + offset, dtype, layout.shape, mapping,
                            mode == MapMode::ReadOnly);
}

View open_raw(const std::string& path, DType dtype,
              const std::optional<std::vector<int64_t>>& shape, uint64_t offset, MapMode mode) {
  if (path.find('\0') != std::string::npos) {
    throw std::invalid_argument("path " + quoted(path) + " contains a NUL byte");
  }
  const int flags = (mode == MapMode::ReadWrite ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NONBLOCK;
  const int fd = ::open(path.c_str(), flags);
  if (fd < 0)
    throw std::system_error(errno, std::generic_category(), "cannot open " + quoted(path));
  try {
    View v = open_raw_fd(fd, path, dtype, shape, offset, mode);
    ::close(fd);
    return v;
  } catch (...) {
    ::close(fd);
    throw;
  }
}

}  // namespace nocopy
