// libFuzzer target for the shared-array segment header parser. The last 8 bytes of the input
// choose the segment size (at least the bytes given) and, in their lowest bit, whether the
// checksum is fixed up first (so mutations reach the field checks behind it). Any input must
// parse or raise a standard exception, and whatever parses must fit the segment and survive a
// write -> parse round trip.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <stdexcept>
#include <vector>

#include "nocopy/storage/shm_header.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 8) return 0;
  uint64_t segment_size = 0;
  std::memcpy(&segment_size, data + size - 8, 8);
  const size_t n = size - 8;
  const bool fix_checksum = (segment_size & 1) != 0;
  segment_size = n + (segment_size >> 1) % (uint64_t{1} << 44);
  std::vector<uint8_t> bytes(data, data + n);
  if (fix_checksum && n >= 80) {
    // FNV-1a over [0, 72) and the shape, as the header format defines it.
    uint32_t ndim = 0;
    std::memcpy(&ndim, bytes.data() + 40, 4);
    const size_t end = 80 + 8 * static_cast<size_t>(ndim % 65);
    if (end <= n) {
      uint64_t h = 1469598103934665603ull;
      for (size_t i = 0; i < end; ++i) {
        if (i >= 72 && i < 80) continue;
        h ^= bytes[i];
        h *= 1099511628211ull;
      }
      std::memcpy(bytes.data() + 72, &h, 8);
    }
  }
  nocopy::ShmHeader h;
  try {
    h = nocopy::parse_shm_header(bytes, segment_size);
  } catch (const std::exception&) {
    return 0;
  }
  if (h.data_offset + h.data_bytes > segment_size) std::abort();
  auto again = nocopy::make_shm_header(h);
  nocopy::ShmHeader r = nocopy::parse_shm_header(again, nocopy::shm_segment_size(h.dtype, h.shape));
  if (r.dtype != h.dtype || r.shape != h.shape || r.persist != h.persist ||
      r.creator_pid != h.creator_pid || r.creator_start != h.creator_start ||
      r.data_bytes != h.data_bytes) {
    std::abort();
  }
  return 0;
}
