// .npy files opened (mmap of an existing file) or created (staged, then renamed) as views.
#include "nocopy/storage/npy_file.hpp"

#include <fcntl.h>

#include <algorithm>
#include <cerrno>
#include <stdexcept>
#include <string>
#include <vector>

#include "internal/checked_math.hpp"
#include "nocopy/core/errors.hpp"
#include "storage/posix_file.hpp"
#include "storage/staged_file.hpp"

namespace nocopy {

View open_npy(const std::string& path, MapMode mode) {
  OpenFile f = open_regular_file(path, mode == MapMode::ReadWrite ? O_RDWR : O_RDONLY,
                                 "cannot open .npy file");
  const int fd = f.fd.get();
  const auto file_size = static_cast<uint64_t>(f.st.st_size);
  // Read the preamble, then exactly the header it announces (bounded by the parser's limit).
  std::vector<uint8_t> prefix(static_cast<size_t>(std::min<uint64_t>(file_size, 4096)));
  prefix.resize(pread_full(fd, prefix.data(), prefix.size(), 0, path));
  const uint64_t need = npy_header_bytes(prefix);
  if (need > prefix.size() && need <= file_size && need <= kMaxNpyHeaderBytes + 12) {
    prefix.resize(static_cast<size_t>(need));
    prefix.resize(pread_full(fd, prefix.data(), prefix.size(), 0, path));
  }
  NpyHeader h;
  try {
    h = parse_npy_header(prefix, file_size);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument("'" + path + "': " + e.what());
  }
  auto mapping = MappedFile::map_fd(fd, static_cast<size_t>(file_size), mode, path);
  std::vector<int64_t> strides = contiguous_strides(h.shape, h.fortran_order);
  return View(mapping->data() + h.data_offset, h.dtype, h.shape, std::move(strides), mapping,
              mode == MapMode::ReadOnly);
}

View create_npy(const std::string& path, std::span<const int64_t> shape, DType dtype,
                NpySpace space) {
  const std::string header = make_npy_header(dtype, shape);
  int64_t bytes = static_cast<int64_t>(itemsize(dtype));
  for (int64_t n : shape) bytes = checked_mul(bytes, n, ".npy data size");
  const int64_t total = checked_add(static_cast<int64_t>(header.size()), bytes, ".npy file size");
  StagedFile staged = StagedFile::create(path, ".npy file");
  // The header first, then the whole file's space reserved (a full disk is an error here, not
  // a SIGBUS at the first write through the mapping) or only its size set (sparse).
  size_t done = 0;
  while (done < header.size()) {
    const ssize_t w =
        ::pwrite(staged.fd(), header.data() + done, header.size() - done, static_cast<off_t>(done));
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) throw FileError(errno, path, "cannot write the header of .npy file");
    done += static_cast<size_t>(w);
  }
  if (space == NpySpace::Reserve) {
    staged.reserve(static_cast<uint64_t>(total));
  } else if (::ftruncate(staged.fd(), static_cast<off_t>(total)) != 0) {
    throw FileError(errno, path, "cannot size to " + std::to_string(total) + " bytes .npy file");
  }
  auto mapping =
      MappedFile::map_fd(staged.fd(), static_cast<size_t>(total), MapMode::ReadWrite, path);
  staged.commit();
  std::vector<int64_t> shp(shape.begin(), shape.end());
  return View::c_contiguous(mapping->data() + header.size(), dtype, std::move(shp), mapping);
}

}  // namespace nocopy
