// Shared arrays in POSIX shared memory: creating, attaching, adopting and closing segments, and
// the owner's duty to unlink (the header format is in shm_header.cpp, housekeeping in
// shm_housekeeping.cpp).
#include "nocopy/storage/shared_array.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <random>
#include <stdexcept>

#include "nocopy/core/errors.hpp"
#include "storage/posix_file.hpp"
#include "storage/shm_liveness.hpp"
#include "storage/shm_segment.hpp"

namespace nocopy {
namespace {

std::string human_bytes(uint64_t n) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.1f %s (%llu bytes)", v, units[u],
                static_cast<unsigned long long>(n));
  return buf;
}

uint64_t shm_free_bytes() {
  struct statvfs s {};
  if (statvfs(kShmDir, &s) != 0) return 0;
  return static_cast<uint64_t>(s.f_bavail) * s.f_frsize;
}

[[noreturn]] void throw_no_space(const std::string& name, uint64_t requested) {
  throw FileError(ENOSPC, name,
                  "not enough shared memory: " + std::string(kShmDir) + " has " +
                      human_bytes(shm_free_bytes()) + " free, " + human_bytes(requested) +
                      " requested (in Docker, raise it with --shm-size) for shared array");
}

std::string random_name() {
  std::random_device rd;
  uint64_t r = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  char buf[64];
  std::snprintf(buf, sizeof(buf), "nocopy-%ld-%016llx", static_cast<long>(getpid()),
                static_cast<unsigned long long>(r));
  return buf;
}

// Segments created by this process, for unlink_created_segments().
std::mutex& created_mutex() {
  static std::mutex m;
  return m;
}
std::vector<std::weak_ptr<const ShmMapping>>& created_registry() {
  static auto* r = new std::vector<std::weak_ptr<const ShmMapping>>();  // never destroyed
  return *r;
}

void register_created(const std::shared_ptr<const ShmMapping>& m) {
  std::lock_guard<std::mutex> lock(created_mutex());
  auto& r = created_registry();
  std::erase_if(r, [](const auto& w) { return w.expired(); });
  r.push_back(m);
}

}  // namespace

// --- names ------------------------------------------------------------------------------------

std::string normalize_shm_name(const std::string& name) {
  check_path(name, "shared array name");
  std::string n = (!name.empty() && name[0] == '/') ? name.substr(1) : name;
  if (n.empty()) throw std::invalid_argument("shared array name is empty");
  if (n.size() > 250) {
    throw std::invalid_argument("shared array name has " + std::to_string(n.size()) +
                                " characters; the limit is 250");
  }
  if (n.find('/') != std::string::npos || n == "." || n == "..") {
    throw std::invalid_argument("shared array name '" + name +
                                "' may not contain '/' (except a leading one) or be '.' or '..'");
  }
  return n;
}

// --- mapping and handle -----------------------------------------------------------------------

bool ShmMapping::is_creator() const {
  return owner_pid_ != 0 && owner_pid_ == getpid();
}

bool ShmMapping::owns_name() const {
  return is_creator() && !header_.persist && !handed_off_ && !unlinked_;
}

bool ShmMapping::name_refers_to_this() const {
  return segment_name_refers_to(name(), device_, inode_);
}

void ShmMapping::unlink_if_owner() const {
  if (!is_creator() || header_.persist || handed_off_) return;
  if (unlinked_.exchange(true)) return;
  if (segment_name_refers_to(name(), lock_fd_)) ::shm_unlink(("/" + name()).c_str());
}

ShmMapping::~ShmMapping() {
  unlink_if_owner();
  if (lock_fd_ >= 0) ::close(lock_fd_);  // drops the owner lock (with this process's last copy)
}

SharedArray SharedArray::create(std::span<const int64_t> shape, DType dtype,
                                const ShmCreateOptions& options) {
  const uint64_t size = shm_segment_size(dtype, shape);
  const bool generated = options.name.empty();
  std::string name = generated ? random_name() : normalize_shm_name(options.name);
  if ((options.mode & ~static_cast<mode_t>(0777)) != 0) {
    throw std::invalid_argument("mode " + std::to_string(options.mode) + " has bits outside 0o777");
  }
  if (size > shm_free_bytes()) throw_no_space(name, size);
  UniqueFd fd;
  for (int attempt = 0;; ++attempt) {
    fd.reset(::shm_open(("/" + name).c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, options.mode));
    if (fd.get() >= 0) break;
    const int err = errno;
    if (err == EEXIST && generated && attempt < 8) {
      name = random_name();
      continue;
    }
    if (err == EEXIST) {
      throw FileError(EEXIST, name,
                      "cannot create shared array (the name already exists; attach to it or "
                      "choose another name)");
    }
    throw FileError(err, name, "cannot create shared array");
  }
  // From here on the segment is ours: remove it on any failure.
  struct Unlinker {
    const std::string& name;
    bool armed = true;
    ~Unlinker() {
      if (armed) ::shm_unlink(("/" + name).c_str());
    }
  } unlinker{name};
  // The owner lock first: the magic (written last) is never visible without a live owner.
  hold_owner_lock(fd.get(), name);
  if (fchmod(fd.get(), options.mode) != 0) {  // shm_open applies the umask; set the bits asked
    throw FileError(errno, name, "cannot set the mode of shared array");
  }
  int err;
  do {
    err = posix_fallocate(fd.get(), 0, static_cast<off_t>(size));
  } while (err == EINTR);
  if (err == ENOSPC) throw_no_space(name, size);
  if (err != 0)
    throw FileError(err, name, "cannot reserve " + human_bytes(size) + " for shared array");
  ShmHeader h;
  h.dtype = dtype;
  h.shape.assign(shape.begin(), shape.end());
  h.creator_pid = getpid();
  h.creator_start = process_start_time(getpid());
  h.persist = options.persist;
  h.data_bytes = size - kShmDataOffset;
  std::vector<uint8_t> bytes = make_shm_header(h);
  struct stat st {};
  if (fstat(fd.get(), &st) != 0) throw FileError(errno, name, "cannot stat shared array");
  uint8_t* base = map_or_throw(fd.get(), static_cast<size_t>(size), MapMode::ReadWrite, name);
  // Everything but the magic first, then the magic: an attacher racing with creation sees
  // "not initialized" rather than a half-written header.
  std::memcpy(base + kShmMagicBytes, bytes.data() + kShmMagicBytes, bytes.size() - kShmMagicBytes);
  std::atomic_thread_fence(std::memory_order_release);
  std::memcpy(base, bytes.data(), kShmMagicBytes);
  auto mapping = std::shared_ptr<ShmMapping>(new ShmMapping(
      base, static_cast<size_t>(size), MapMode::ReadWrite, name, h, getpid(), fd.release(), st));
  unlinker.armed = false;
  register_created(mapping);
  View v = View::c_contiguous(base + kShmDataOffset, dtype, h.shape, mapping);
  return SharedArray(name, std::move(mapping), std::move(v), true);
}

SharedArray SharedArray::attach(const std::string& name, bool readonly) {
  return open_existing(name, readonly, false);
}

SharedArray SharedArray::adopt(const std::string& name, bool readonly) {
  return open_existing(name, readonly, true);
}

SharedArray SharedArray::open_existing(const std::string& raw_name, bool readonly, bool adopt) {
  const std::string name = normalize_shm_name(raw_name);
  const std::string verb = adopt ? "adopt" : "attach to";
  OpenFile f;
  try {
    f = open_segment(name, readonly ? O_RDONLY : O_RDWR, "cannot " + verb + " shared array");
  } catch (const FileError& e) {
    if (e.code().value() == ENOENT) {
      throw FileError(ENOENT, name,
                      "no shared array (never created, or already removed by its owner) named");
    }
    if (e.code().value() == EACCES && !readonly) {
      throw FileError(EACCES, name, "cannot " + verb + " (try readonly=True) shared array");
    }
    throw;
  }
  const auto size = static_cast<uint64_t>(f.st.st_size);
  if (adopt) {
    hold_owner_lock(f.fd.get(), name);
    // A gc that found no owner may have removed the name while we waited for the lock.
    if (!segment_name_refers_to(name, f.fd.get())) {
      throw FileError(ENOENT, name, "cannot adopt shared array (it was removed meanwhile)");
    }
  }
  std::vector<uint8_t> bytes = read_segment_header(f.fd.get(), size, name);
  ShmHeader h;
  try {
    h = parse_shm_header(bytes, size);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument("shared array '" + name + "': " + e.what());
  }
  const auto length = static_cast<size_t>(h.data_offset + h.data_bytes);
  const MapMode mode = readonly ? MapMode::ReadOnly : MapMode::ReadWrite;
  uint8_t* base = map_or_throw(f.fd.get(), length, mode, name);
  const pid_t owner = adopt ? getpid() : 0;
  const int lock_fd = adopt ? f.fd.release() : -1;
  auto mapping = std::shared_ptr<ShmMapping>(
      new ShmMapping(base, length, mode, name, h, owner, lock_fd, f.st));
  if (adopt) register_created(mapping);
  View v = View::c_contiguous(base + h.data_offset, h.dtype, h.shape, mapping, readonly);
  return SharedArray(name, std::move(mapping), std::move(v), adopt);
}

void SharedArray::hand_off() const {
  if (mapping_ == nullptr) throw std::invalid_argument("shared array '" + name_ + "' is closed");
  if (!creator_ || !mapping_->is_creator()) {
    throw std::invalid_argument("shared array '" + name_ +
                                "' is not owned by this process (only its creator or adopter "
                                "can hand it off)");
  }
  mapping_->hand_off();
}

SharedArray& SharedArray::operator=(SharedArray&& other) noexcept {
  if (this != &other) {
    close();
    name_ = std::move(other.name_);
    mapping_ = std::move(other.mapping_);
    view_ = std::move(other.view_);
    creator_ = other.creator_;
  }
  return *this;
}

SharedArray::~SharedArray() {
  close();
}

const View& SharedArray::view() const {
  if (mapping_ == nullptr) throw std::invalid_argument("shared array '" + name_ + "' is closed");
  return view_;
}

void SharedArray::close() {
  if (mapping_ == nullptr) return;
  if (creator_) mapping_->unlink_if_owner();
  view_ = View();
  mapping_.reset();
}

const ShmMapping* shm_mapping_of(const View& view) {
  return dynamic_cast<const ShmMapping*>(view.owner().get());
}

int64_t shm_data_offset_of(const View& view) {
  const ShmMapping* m = shm_mapping_of(view);
  if (m == nullptr) throw std::invalid_argument("view is not of a shared array");
  return static_cast<int64_t>(reinterpret_cast<uintptr_t>(view.data()) -
                              reinterpret_cast<uintptr_t>(m->data() + m->header().data_offset));
}

void unlink_created_segments() {
  std::vector<std::shared_ptr<const ShmMapping>> live;
  {
    std::lock_guard<std::mutex> lock(created_mutex());
    for (const auto& w : created_registry()) {
      if (auto m = w.lock()) live.push_back(std::move(m));
    }
  }
  for (const auto& m : live) m->unlink_if_owner();
}

View SharedArray::view_at(int64_t byte_offset, DType dtype, std::vector<int64_t> shape,
                          std::vector<int64_t> strides, bool readonly) const {
  const View& whole = view();
  const auto data_bytes = static_cast<int64_t>(mapping_->header().data_bytes);
  if (byte_offset < 0 || byte_offset > data_bytes) {
    throw std::invalid_argument("offset " + std::to_string(byte_offset) +
                                " is outside shared array '" + name_ + "' of " +
                                std::to_string(data_bytes) + " bytes");
  }
  if (!readonly && whole.readonly()) {
    throw std::invalid_argument("shared array '" + name_ + "' is attached read-only");
  }
  auto* first = static_cast<uint8_t*>(whole.data()) + byte_offset;
  View v(first, dtype, std::move(shape), std::move(strides), mapping_, readonly);
  ByteRange r = v.byte_extent();
  const auto lo = reinterpret_cast<uintptr_t>(whole.data());
  const uintptr_t hi = lo + static_cast<uintptr_t>(data_bytes);
  if (v.size() > 0 && (r.begin < lo || r.end > hi)) {
    throw std::invalid_argument("view " + v.describe() + " at offset " +
                                std::to_string(byte_offset) + " reaches outside shared array '" +
                                name_ + "' of " + std::to_string(data_bytes) + " bytes");
  }
  return v;
}

}  // namespace nocopy
