// Shared arrays in POSIX shared memory: segment header format, create/attach, and the
// list/remove/gc helpers behind `python -m nocopy shm`.
#include "nocopy/storage/shared_array.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>
#include <stdexcept>

#include "internal/checked_math.hpp"

static_assert(std::endian::native == std::endian::little,
              "the shared-array header is written in native (little-endian) byte order");

namespace nocopy {
namespace {

// Header layout (little-endian), all offsets in bytes:
//   0  magic "NOCOPYSA"        8  u32 version        12 u32 header bytes (80 + 8 * ndim)
//   16 u64 data offset         24 u64 data bytes     32 char[8] dtype typestr, NUL padded
//   40 u32 ndim                44 u32 flags (bit 0: persist)
//   48 i64 creator pid         56 u64 creator start time
//   64 u64 reserved (0)        72 u64 FNV-1a checksum of bytes [0, 72) and the shape
//   80 i64 shape[ndim]
constexpr std::array<char, 8> kMagic = {'N', 'O', 'C', 'O', 'P', 'Y', 'S', 'A'};
constexpr size_t kFixedBytes = 80;
constexpr size_t kChecksumAt = 72;
constexpr uint32_t kFlagPersist = 1;

[[noreturn]] void fail(const std::string& msg) {
  throw std::invalid_argument("invalid shared-array header: " + msg);
}

template <class T>
T load(std::span<const uint8_t> b, size_t at) {
  T v;
  std::memcpy(&v, b.data() + at, sizeof(T));
  return v;
}

template <class T>
void store(std::vector<uint8_t>& b, size_t at, T v) {
  std::memcpy(b.data() + at, &v, sizeof(T));
}

uint64_t checksum(std::span<const uint8_t> b, size_t header_bytes) {
  uint64_t h = 1469598103934665603ull;
  auto mix = [&](uint8_t c) {
    h ^= c;
    h *= 1099511628211ull;
  };
  for (size_t i = 0; i < kChecksumAt; ++i) mix(b[i]);
  for (size_t i = kFixedBytes; i < header_bytes; ++i) mix(b[i]);
  return h;
}

std::string errno_text(int err) {
  return std::string(std::strerror(err));
}

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
  throw std::runtime_error("not enough shared memory for shared array '" + name +
                           "': " + std::string(kShmDir) + " has " + human_bytes(shm_free_bytes()) +
                           " free, " + human_bytes(requested) +
                           " requested (in Docker, raise it with --shm-size)");
}

// Start time of a process in clock ticks after boot (field 22 of /proc/<pid>/stat), 0 if unknown.
uint64_t process_start_time(int64_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!f || !std::getline(f, line)) return 0;
  size_t close = line.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream rest(line.substr(close + 1));
  std::string field;
  for (int i = 3; i <= 22; ++i) {
    if (!(rest >> field)) return 0;
  }
  try {
    return std::stoull(field);
  } catch (...) {
    return 0;
  }
}

std::string random_name() {
  std::random_device rd;
  uint64_t r = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  char buf[64];
  std::snprintf(buf, sizeof(buf), "nocopy-%ld-%016llx", static_cast<long>(getpid()),
                static_cast<unsigned long long>(r));
  return buf;
}

size_t pread_some(int fd, uint8_t* buf, size_t n) {
  size_t done = 0;
  while (done < n) {
    ssize_t r = ::pread(fd, buf + done, n - done, static_cast<off_t>(done));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    done += static_cast<size_t>(r);
  }
  return done;
}

// Reads the header bytes of an open segment (never maps it, so a short file cannot SIGBUS).
std::vector<uint8_t> read_header_bytes(int fd, uint64_t size) {
  std::vector<uint8_t> buf(static_cast<size_t>(std::min<uint64_t>(size, kShmDataOffset)));
  buf.resize(pread_some(fd, buf.data(), buf.size()));
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

// --- header --------------------------------------------------------------------------------

uint64_t shm_segment_size(DType dtype, std::span<const int64_t> shape) {
  if (static_cast<int64_t>(shape.size()) > kMaxDims) {
    throw std::invalid_argument("shape has " + std::to_string(shape.size()) +
                                " dimensions; the limit is " + std::to_string(kMaxDims));
  }
  int64_t bytes = static_cast<int64_t>(itemsize(dtype));
  for (int64_t n : shape) {
    if (n < 0) throw std::invalid_argument("negative dimension in shape " + format_tuple(shape));
    bytes = checked_mul(bytes, n, "shared array size in bytes");
  }
  return static_cast<uint64_t>(
      checked_add(bytes, static_cast<int64_t>(kShmDataOffset), "shared segment size"));
}

std::vector<uint8_t> make_shm_header(const ShmHeader& h) {
  const uint64_t total = shm_segment_size(h.dtype, h.shape);
  const size_t header_bytes = kFixedBytes + 8 * h.shape.size();
  std::vector<uint8_t> b(header_bytes, 0);
  std::memcpy(b.data(), kMagic.data(), kMagic.size());
  store<uint32_t>(b, 8, kShmFormatVersion);
  store<uint32_t>(b, 12, static_cast<uint32_t>(header_bytes));
  store<uint64_t>(b, 16, kShmDataOffset);
  store<uint64_t>(b, 24, total - kShmDataOffset);
  std::string_view ts = dtype_typestr(h.dtype);
  std::memcpy(b.data() + 32, ts.data(), std::min<size_t>(ts.size(), 8));
  store<uint32_t>(b, 40, static_cast<uint32_t>(h.shape.size()));
  store<uint32_t>(b, 44, h.persist ? kFlagPersist : 0);
  store<int64_t>(b, 48, h.creator_pid);
  store<uint64_t>(b, 56, h.creator_start);
  for (size_t i = 0; i < h.shape.size(); ++i) store<int64_t>(b, kFixedBytes + 8 * i, h.shape[i]);
  store<uint64_t>(b, kChecksumAt, checksum(b, header_bytes));
  return b;
}

ShmHeader parse_shm_header(std::span<const uint8_t> b, uint64_t segment_size) {
  if (b.size() > segment_size) fail("more header bytes than the segment holds");
  if (b.size() < kMagic.size() ||
      !std::equal(kMagic.begin(), kMagic.end(), reinterpret_cast<const char*>(b.data()))) {
    fail("no NOCOPYSA magic (not a nocopy shared array, or not initialized yet)");
  }
  if (b.size() < kFixedBytes) {
    fail("segment is truncated: " + std::to_string(segment_size) + " bytes, the header needs " +
         std::to_string(kFixedBytes));
  }
  ShmHeader h;
  h.version = load<uint32_t>(b, 8);
  if (h.version != kShmFormatVersion) {
    fail("format version " + std::to_string(h.version) + " (this build reads version " +
         std::to_string(kShmFormatVersion) + ")");
  }
  const uint32_t header_bytes = load<uint32_t>(b, 12);
  const uint32_t ndim = load<uint32_t>(b, 40);
  if (ndim > kMaxDims) {
    fail("ndim " + std::to_string(ndim) + " exceeds the limit of " + std::to_string(kMaxDims));
  }
  if (header_bytes != kFixedBytes + 8 * ndim) {
    fail("header size " + std::to_string(header_bytes) + " does not match ndim " +
         std::to_string(ndim));
  }
  if (b.size() < header_bytes) {
    fail("segment is truncated: " + std::to_string(segment_size) + " bytes, the header needs " +
         std::to_string(header_bytes));
  }
  if (load<uint64_t>(b, kChecksumAt) != checksum(b, header_bytes))
    fail("checksum mismatch (corrupt)");
  const char* ts = reinterpret_cast<const char*>(b.data() + 32);
  std::string typestr(ts, strnlen(ts, 8));
  bool found = false;
  for (int i = 0; i < kDTypeCount; ++i) {
    if (dtype_typestr(static_cast<DType>(i)) == typestr) {
      h.dtype = static_cast<DType>(i);
      found = true;
    }
  }
  if (!found) fail("unknown dtype '" + typestr + "'");
  const uint32_t flags = load<uint32_t>(b, 44);
  if ((flags & ~kFlagPersist) != 0) fail("unknown flags " + std::to_string(flags));
  h.persist = (flags & kFlagPersist) != 0;
  h.creator_pid = load<int64_t>(b, 48);
  h.creator_start = load<uint64_t>(b, 56);
  h.shape.resize(ndim);
  int64_t bytes = static_cast<int64_t>(itemsize(h.dtype));
  for (uint32_t i = 0; i < ndim; ++i) {
    h.shape[i] = load<int64_t>(b, kFixedBytes + 8 * i);
    if (h.shape[i] < 0) fail("negative dimension in shape " + format_tuple(h.shape));
    if (__builtin_mul_overflow(bytes, h.shape[i], &bytes)) fail("shape size overflows int64");
  }
  h.data_offset = load<uint64_t>(b, 16);
  h.data_bytes = load<uint64_t>(b, 24);
  if (h.data_offset != kShmDataOffset) {
    fail("data offset " + std::to_string(h.data_offset) + " (expected " +
         std::to_string(kShmDataOffset) + ")");
  }
  if (h.data_bytes != static_cast<uint64_t>(bytes)) {
    fail("data size " + std::to_string(h.data_bytes) + " does not match shape " +
         format_tuple(h.shape) + " of " + std::string(dtype_name(h.dtype)));
  }
  if (h.data_bytes > segment_size - std::min(segment_size, h.data_offset) ||
      segment_size < h.data_offset) {
    fail("segment is truncated: " + std::to_string(segment_size) + " bytes, shape " +
         format_tuple(h.shape) + " of " + std::string(dtype_name(h.dtype)) + " needs " +
         std::to_string(h.data_offset + h.data_bytes));
  }
  return h;
}

// --- names and processes ----------------------------------------------------------------------

std::string normalize_shm_name(const std::string& name) {
  std::string n = (!name.empty() && name[0] == '/') ? name.substr(1) : name;
  if (n.empty()) throw std::invalid_argument("shared array name is empty");
  if (n.size() > 250) {
    throw std::invalid_argument("shared array name has " + std::to_string(n.size()) +
                                " characters; the limit is 250");
  }
  if (n.find('/') != std::string::npos || n.find('\0') != std::string::npos || n == "." ||
      n == "..") {
    throw std::invalid_argument("shared array name '" + name +
                                "' may not contain '/' (except a leading one) or NUL");
  }
  return n;
}

bool process_alive(int64_t pid, uint64_t start) {
  if (pid <= 0 || pid > INT32_MAX) return false;
  if (kill(static_cast<pid_t>(pid), 0) != 0 && errno != EPERM) return false;
  if (start == 0) return true;
  const uint64_t actual = process_start_time(pid);
  return actual == 0 || actual == start;
}

// --- mapping and handle -----------------------------------------------------------------------

bool ShmMapping::is_creator() const {
  return owner_pid_ != 0 && owner_pid_ == getpid();
}

void ShmMapping::unlink_if_owner() const {
  if (!is_creator() || header_.persist) return;
  if (unlinked_.exchange(true)) return;
  ::shm_unlink(("/" + name()).c_str());
}

ShmMapping::~ShmMapping() {
  unlink_if_owner();
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
  int fd = -1;
  for (int attempt = 0; fd < 0; ++attempt) {
    fd = ::shm_open(("/" + name).c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, options.mode);
    if (fd >= 0) break;
    const int err = errno;
    if (err == EEXIST && generated && attempt < 8) {
      name = random_name();
      continue;
    }
    if (err == EEXIST) {
      throw std::invalid_argument("shared array name '" + name +
                                  "' already exists; attach to it or choose another name");
    }
    throw std::runtime_error("cannot create shared array '" + name + "': " + errno_text(err));
  }
  const std::string path = "/" + name;
  try {
    if (fchmod(fd, options.mode) != 0) {  // shm_open applies the umask; set the bits asked for
      throw std::runtime_error("cannot set mode of shared array '" + name +
                               "': " + errno_text(errno));
    }
    int err;
    do {
      err = posix_fallocate(fd, 0, static_cast<off_t>(size));
    } while (err == EINTR);
    if (err == ENOSPC) throw_no_space(name, size);
    if (err != 0) {
      throw std::runtime_error("cannot reserve " + human_bytes(size) + " for shared array '" +
                               name + "': " + errno_text(err));
    }
    ShmHeader h;
    h.dtype = dtype;
    h.shape.assign(shape.begin(), shape.end());
    h.creator_pid = getpid();
    h.creator_start = process_start_time(getpid());
    h.persist = options.persist;
    h.data_bytes = size - kShmDataOffset;
    std::vector<uint8_t> bytes = make_shm_header(h);
    uint8_t* base = map_or_throw(fd, static_cast<size_t>(size), MapMode::ReadWrite,
                                 "shared array '" + name + "'");
    // Everything but the magic first, then the magic: an attacher racing with creation sees
    // "not initialized" rather than a half-written header.
    std::memcpy(base + kMagic.size(), bytes.data() + kMagic.size(), bytes.size() - kMagic.size());
    std::atomic_thread_fence(std::memory_order_release);
    std::memcpy(base, bytes.data(), kMagic.size());
    ::close(fd);
    fd = -1;
    auto mapping = std::shared_ptr<ShmMapping>(
        new ShmMapping(base, static_cast<size_t>(size), MapMode::ReadWrite, name, h, getpid()));
    register_created(mapping);
    View v = View::c_contiguous(base + kShmDataOffset, dtype, h.shape, mapping);
    return SharedArray(name, std::move(mapping), std::move(v), true);
  } catch (...) {
    if (fd >= 0) ::close(fd);
    ::shm_unlink(path.c_str());
    throw;
  }
}

SharedArray SharedArray::attach(const std::string& raw_name, bool readonly) {
  const std::string name = normalize_shm_name(raw_name);
  int fd = ::shm_open(("/" + name).c_str(), (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC, 0);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT) {
      throw std::invalid_argument("no shared array named '" + name +
                                  "' (never created, or its creator closed it)");
    }
    throw std::runtime_error("cannot attach to shared array '" + name + "': " + errno_text(err) +
                             (err == EACCES && !readonly ? " (try readonly=True)" : ""));
  }
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    throw std::runtime_error("cannot stat shared array '" + name + "': " + errno_text(errno));
  }
  const auto size = static_cast<uint64_t>(st.st_size);
  std::vector<uint8_t> bytes = read_header_bytes(fd, size);
  ShmHeader h;
  try {
    h = parse_shm_header(bytes, size);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument("shared array '" + name + "': " + e.what());
  }
  const auto length = static_cast<size_t>(h.data_offset + h.data_bytes);
  const MapMode mode = readonly ? MapMode::ReadOnly : MapMode::ReadWrite;
  uint8_t* base = map_or_throw(fd, length, mode, "shared array '" + name + "'");
  auto mapping = std::shared_ptr<ShmMapping>(new ShmMapping(base, length, mode, name, h, 0));
  View v = View::c_contiguous(base + h.data_offset, h.dtype, h.shape, mapping, readonly);
  return SharedArray(name, std::move(mapping), std::move(v), false);
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

// --- listing and cleanup ----------------------------------------------------------------------

std::vector<ShmSegmentInfo> list_segments(const std::string& dir) {
  std::vector<ShmSegmentInfo> out;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = readdir(d)) {
    std::string entry = e->d_name;
    if (entry == "." || entry == "..") continue;
    int fd = ::open((dir + "/" + entry).c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) continue;
    struct stat st {};
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      continue;
    }
    const auto size = static_cast<uint64_t>(st.st_size);
    std::vector<uint8_t> bytes = read_header_bytes(fd, size);
    ::close(fd);
    if (bytes.size() < kMagic.size() ||
        !std::equal(kMagic.begin(), kMagic.end(), reinterpret_cast<const char*>(bytes.data()))) {
      continue;
    }
    ShmSegmentInfo info;
    info.name = entry;
    info.size = size;
    try {
      info.header = parse_shm_header(bytes, size);
      info.creator_alive = process_alive(info.header.creator_pid, info.header.creator_start);
    } catch (const std::exception& ex) {
      info.problem = ex.what();
    }
    out.push_back(std::move(info));
  }
  closedir(d);
  std::sort(out.begin(), out.end(),
            [](const ShmSegmentInfo& a, const ShmSegmentInfo& b) { return a.name < b.name; });
  return out;
}

void remove_segment(const std::string& raw_name) {
  const std::string name = normalize_shm_name(raw_name);
  int fd = ::shm_open(("/" + name).c_str(), O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) {
    const int err = errno;
    throw std::runtime_error("cannot open shared memory '" + name + "': " + errno_text(err));
  }
  struct stat st {};
  std::vector<uint8_t> bytes;
  if (fstat(fd, &st) == 0) bytes = read_header_bytes(fd, static_cast<uint64_t>(st.st_size));
  ::close(fd);
  if (bytes.size() < kMagic.size() ||
      !std::equal(kMagic.begin(), kMagic.end(), reinterpret_cast<const char*>(bytes.data()))) {
    throw std::invalid_argument("'" + name + "' is not a nocopy shared array; not removing it");
  }
  if (::shm_unlink(("/" + name).c_str()) != 0) {
    const int err = errno;
    throw std::runtime_error("cannot remove shared array '" + name + "': " + errno_text(err));
  }
}

std::vector<std::string> gc_segments(const std::string& dir) {
  std::vector<std::string> removed;
  for (const ShmSegmentInfo& s : list_segments(dir)) {
    if (!s.problem.empty() || s.header.persist || s.creator_alive) continue;
    if (::unlink((dir + "/" + s.name).c_str()) == 0) removed.push_back(s.name);
  }
  return removed;
}

}  // namespace nocopy
