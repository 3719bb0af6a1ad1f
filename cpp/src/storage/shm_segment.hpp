// Opening shared-array segments by name, the way every storage module needs it: non-blocking
// (a FIFO under the name cannot hang), regular files only, errors that name the segment; and
// reading a segment's header bytes without mapping it (a short segment cannot SIGBUS).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "storage/posix_file.hpp"

namespace nocopy {

/// Opens the segment `name` (normalized, no leading '/') with shm_open `flags` (O_RDONLY,
/// O_RDWR, ...; O_CLOEXEC and O_NONBLOCK are added) and requires a regular file. shm_open
/// errors are FileError naming `action` and the segment; a FIFO or device std::invalid_argument.
OpenFile open_segment(const std::string& name, int flags, const std::string& action);

/// The first bytes of an open segment of `size` bytes (at most the data offset).
std::vector<uint8_t> read_segment_header(int fd, uint64_t size, const std::string& name);

/// True when `fd` is the file currently linked under the segment's name (same device and inode),
/// so an unlink never removes a segment someone else created under a reused name.
bool segment_name_refers_to(const std::string& name, int fd);
/// True when the file currently linked under the segment's name has this device and inode.
bool segment_name_refers_to(const std::string& name, uint64_t device, uint64_t inode);

}  // namespace nocopy
