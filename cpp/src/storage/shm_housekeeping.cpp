// Listing, removing and reclaiming nocopy segments in /dev/shm (see shm_housekeeping.hpp).
#include "nocopy/storage/shm_housekeeping.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <stdexcept>

#include "nocopy/core/errors.hpp"
#include "storage/posix_file.hpp"
#include "storage/shm_liveness.hpp"
#include "storage/shm_segment.hpp"

namespace nocopy {
namespace {

// A nocopy segment found in a directory, with its descriptor. When the segment has no live
// owner, `fd` holds the exclusive lock (until it closes), so nobody adopts it meanwhile.
struct Inspected {
  ShmSegmentInfo info;
  UniqueFd fd;
};

std::optional<Inspected> inspect(const std::string& dir, const std::string& entry) {
  const std::string path = dir + "/" + entry;
  Inspected s;
  // Non-blocking and no links followed: a FIFO or a link under /dev/shm cannot hang or redirect.
  s.fd.reset(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
  if (s.fd.get() < 0) return std::nullopt;
  struct stat st {};
  if (::fstat(s.fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  const auto size = static_cast<uint64_t>(st.st_size);
  std::vector<uint8_t> bytes;
  try {
    bytes = read_segment_header(s.fd.get(), size, entry);
  } catch (const FileError&) {
    return std::nullopt;
  }
  if (!has_shm_magic(bytes)) return std::nullopt;
  s.info.name = entry;
  s.info.size = size;
  const bool unlocked = try_exclusive_lock(s.fd.get());
  try {
    s.info.header = parse_shm_header(bytes, size);
    s.info.creator_alive =
        !unlocked || process_alive(s.info.header.creator_pid, s.info.header.creator_start);
  } catch (const std::exception& ex) {
    s.info.problem = ex.what();
    s.info.creator_alive = !unlocked;
  }
  return s;
}

// Every nocopy segment of `dir`, sorted by name; `f(Inspected&)` sees each while its descriptor
// (and lock, if taken) is open.
template <class F>
void for_each_segment(const std::string& dir, F f) {
  std::vector<std::string> entries;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      std::string entry = e->d_name;
      if (entry != "." && entry != "..") entries.push_back(std::move(entry));
    }
    closedir(d);
  }
  std::sort(entries.begin(), entries.end());
  for (const std::string& entry : entries) {
    if (std::optional<Inspected> s = inspect(dir, entry)) f(*s);
  }
}

}  // namespace

std::vector<ShmSegmentInfo> list_segments(const std::string& dir) {
  std::vector<ShmSegmentInfo> out;
  for_each_segment(dir, [&](Inspected& s) { out.push_back(std::move(s.info)); });
  return out;
}

void remove_segment(const std::string& raw_name) {
  const std::string name = normalize_shm_name(raw_name);
  OpenFile f = open_segment(name, O_RDONLY, "cannot remove shared array");
  if (!has_shm_magic(read_segment_header(f.fd.get(), static_cast<uint64_t>(f.st.st_size), name))) {
    throw std::invalid_argument("'" + name + "' is not a nocopy shared array; not removing it");
  }
  if (::shm_unlink(("/" + name).c_str()) != 0) {
    throw FileError(errno, name, "cannot remove shared array");
  }
}

std::vector<std::string> gc_segments(const std::string& dir) {
  std::vector<std::string> removed;
  for_each_segment(dir, [&](Inspected& s) {
    if (s.info.creator_alive) return;
    if (s.info.problem.empty() && s.info.header.persist) return;
    if (::unlink((dir + "/" + s.info.name).c_str()) == 0) removed.push_back(s.info.name);
  });
  return removed;
}

}  // namespace nocopy
