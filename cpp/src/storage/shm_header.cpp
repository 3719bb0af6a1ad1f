// The shared-array segment header: layout, writer and validating parser.
#include "nocopy/storage/shm_header.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <stdexcept>
#include <string>

#include "internal/checked_math.hpp"
#include "nocopy/core/view.hpp"

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
constexpr std::array<char, kShmMagicBytes> kMagic = {'N', 'O', 'C', 'O', 'P', 'Y', 'S', 'A'};
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

}  // namespace

bool has_shm_magic(std::span<const uint8_t> b) {
  return b.size() >= kMagic.size() &&
         std::equal(kMagic.begin(), kMagic.end(), reinterpret_cast<const char*>(b.data()));
}

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
  if (!has_shm_magic(b)) {
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

}  // namespace nocopy
