// libFuzzer target for the shared-array segment header parser. The last 8 bytes of the input
// choose the segment size (at least the bytes given); any input must parse or raise a standard
// exception, and whatever parses must fit the segment and survive a write -> parse round trip.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <stdexcept>

#include "nocopy/shared_array.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 8) return 0;
  uint64_t segment_size = 0;
  std::memcpy(&segment_size, data + size - 8, 8);
  const size_t n = size - 8;
  segment_size = n + segment_size % (uint64_t{1} << 44);
  nocopy::ShmHeader h;
  try {
    h = nocopy::parse_shm_header(std::span<const uint8_t>(data, n), segment_size);
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
