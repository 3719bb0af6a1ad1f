// File mappings (mmap/munmap) and madvise hints for mapped views.
#include "nocopy/storage/mapped_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <string>

#include "nocopy/core/errors.hpp"
#include "storage/posix_file.hpp"

namespace nocopy {

MapMode map_mode_from_string(std::string_view mode) {
  if (mode == "r") return MapMode::ReadOnly;
  if (mode == "r+") return MapMode::ReadWrite;
  if (mode == "c") return MapMode::CopyOnWrite;
  throw std::invalid_argument("mode '" + std::string(mode) +
                              "' is not one of 'r' (read-only), 'r+' (read-write), "
                              "'c' (copy-on-write)");
}

MappedRegion::~MappedRegion() {
  if (data_ != nullptr) munmap(data_, size_);
}

uint8_t* map_or_throw(int fd, size_t size, MapMode mode, const std::string& what) {
  int prot = PROT_READ;
  int flags = MAP_SHARED;
  if (mode == MapMode::ReadWrite) prot |= PROT_WRITE;
  if (mode == MapMode::CopyOnWrite) {
    prot |= PROT_WRITE;
    flags = MAP_PRIVATE;
  }
  void* p = mmap(nullptr, size, prot, flags, fd, 0);
  if (p == MAP_FAILED)
    throw FileError(errno, what, "cannot map " + std::to_string(size) + " bytes of");
  return static_cast<uint8_t*>(p);
}

std::shared_ptr<MappedFile> MappedFile::map_fd(int fd, size_t size, MapMode mode,
                                               std::string path) {
  if (size == 0) throw std::invalid_argument("cannot map '" + path + "': it is empty");
  struct stat st {};
  if (fstat(fd, &st) != 0) throw FileError(errno, path, "cannot stat file to map");
  uint8_t* p = map_or_throw(fd, size, mode, path);
  return std::shared_ptr<MappedFile>(new MappedFile(p, size, mode, std::move(path),
                                                    static_cast<uint64_t>(st.st_dev),
                                                    static_cast<uint64_t>(st.st_ino)));
}

std::shared_ptr<MappedFile> MappedFile::open(const std::string& path, MapMode mode) {
  OpenFile f = open_regular_file(path, mode == MapMode::ReadWrite ? O_RDWR : O_RDONLY,
                                 "cannot open file to map");
  return map_fd(f.fd.get(), static_cast<size_t>(f.st.st_size), mode, path);
}

Advice advice_from_string(std::string_view advice) {
  if (advice == "normal") return Advice::Normal;
  if (advice == "sequential") return Advice::Sequential;
  if (advice == "random") return Advice::Random;
  if (advice == "willneed") return Advice::WillNeed;
  if (advice == "dontneed") return Advice::DontNeed;
  throw std::invalid_argument("advice '" + std::string(advice) +
                              "' is not one of 'normal', 'sequential', 'random', 'willneed', "
                              "'dontneed'");
}

void advise(const View& view, Advice advice) {
  const auto* region = dynamic_cast<const MappedRegion*>(view.owner().get());
  if (region == nullptr) {
    std::string kind = view.owner() ? std::string(view.owner()->kind()) : std::string("none");
    throw std::invalid_argument(
        "advise needs a view of a memory-mapped file or shared array; "
        "this view's memory is held by '" +
        kind + "'");
  }
  if (advice == Advice::DontNeed && region->mode() == MapMode::CopyOnWrite) {
    throw std::invalid_argument("advise('dontneed') on the copy-on-write mapping of '" +
                                region->source() +
                                "' would discard this process's private writes; refused");
  }
  ByteRange r = view.byte_extent();
  if (r.begin == r.end) return;
  const auto base = reinterpret_cast<uintptr_t>(region->data());
  const uintptr_t limit = base + region->size();
  if (r.begin < base || r.end > limit) {
    throw std::invalid_argument("view is not inside the mapping of '" + region->source() + "'");
  }
  const auto page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  uintptr_t begin = r.begin / page * page;
  int native = MADV_NORMAL;
  switch (advice) {
    case Advice::Normal:
      native = MADV_NORMAL;
      break;
    case Advice::Sequential:
      native = MADV_SEQUENTIAL;
      break;
    case Advice::Random:
      native = MADV_RANDOM;
      break;
    case Advice::WillNeed:
      native = MADV_WILLNEED;
      break;
    case Advice::DontNeed:
      native = MADV_DONTNEED;
      break;
  }
  if (madvise(reinterpret_cast<void*>(begin), r.end - begin, native) != 0) {
    throw FileError(errno, region->source(), "madvise failed on the mapping of");
  }
}

}  // namespace nocopy
