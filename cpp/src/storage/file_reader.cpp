// FileReader: reopen a mapped file (or a shared array's segment) by its path, check it is the
// same file, pread ranges of it; and the read seam's storage_of / positional_reader.
#include "nocopy/storage/file_reader.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <optional>
#include <stdexcept>

#include "nocopy/storage/mapped_file.hpp"
#include "nocopy/storage/shared_array.hpp"
#include "storage/posix_file.hpp"

namespace nocopy {

namespace {

/// The file a mapping maps from its first byte, and that file's identity when it was mapped.
struct MappedFileIdentity {
  std::string path;
  uint64_t device = 0, inode = 0;
};

/// A regular file's mapping (by its path) or a shared array's segment (by its name under
/// kShmDir, a tmpfs file); none for other owners.
std::optional<MappedFileIdentity> identity_of(const MappedRegion& region) {
  if (const auto* file = dynamic_cast<const MappedFile*>(&region)) {
    return MappedFileIdentity{file->source(), file->device(), file->inode()};
  }
  if (const auto* shm = dynamic_cast<const ShmMapping*>(&region)) {
    return MappedFileIdentity{std::string(kShmDir) + "/" + shm->name(), shm->device(),
                              shm->inode()};
  }
  return std::nullopt;
}

}  // namespace

std::unique_ptr<FileReader> FileReader::open_for(const View& view) {
  const auto* region = dynamic_cast<const MappedRegion*>(view.owner().get());
  if (region == nullptr || region->mode() == MapMode::CopyOnWrite) return nullptr;
  const std::optional<MappedFileIdentity> file = identity_of(*region);
  if (!file) return nullptr;
  const auto* first = static_cast<const uint8_t*>(view.data());
  if (first < region->data() || first > region->data() + region->size()) return nullptr;
  const std::string& path = file->path;
  if (path.find('\0') != std::string::npos) return nullptr;
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (fd.get() < 0) return nullptr;
  struct stat st {};
  if (fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) ||
      static_cast<uint64_t>(st.st_dev) != file->device ||
      static_cast<uint64_t>(st.st_ino) != file->inode) {
    return nullptr;
  }
  // Regular files ignore O_NONBLOCK for reads; it only kept a FIFO from blocking the open.
  (void)posix_fadvise(fd.get(), 0, 0, POSIX_FADV_RANDOM);
  const auto base = static_cast<int64_t>(first - region->data());
  return std::unique_ptr<FileReader>(new FileReader(fd.release(), base, path));
}

ViewStorage storage_of(const View& view) {
  const auto* region = dynamic_cast<const MappedRegion*>(view.owner().get());
  if (region == nullptr) return {};
  return {true, region->mode() == MapMode::CopyOnWrite};
}

std::unique_ptr<ReadAt> positional_reader(const View& view) {
  return FileReader::open_for(view);
}

FileReader::~FileReader() {
  ::close(fd_);
}

void FileReader::read(void* dst, size_t n, int64_t offset) const {
  const auto at = static_cast<uint64_t>(base_ + offset);
  if (pread_full(fd_, static_cast<uint8_t*>(dst), n, at, path_) != n) {
    throw std::runtime_error("'" + path_ + "' ends before byte " + std::to_string(at + n) +
                             ": it was truncated after it was mapped");
  }
}

}  // namespace nocopy
