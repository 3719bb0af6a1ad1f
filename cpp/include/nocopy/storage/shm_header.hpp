// The shared-array segment header: a self-describing, checksummed record at the start of every
// segment (magic, format version, dtype, shape, creator pid, persist flag, data offset). The
// data starts at a 4096-byte aligned offset. Layout in shm_header.cpp.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "nocopy/core/dtype.hpp"

namespace nocopy {

/// Offset of the data in a segment: one page, so the data is page (and 64-byte) aligned.
inline constexpr uint64_t kShmDataOffset = 4096;
/// Version of the segment header format this build writes and reads.
inline constexpr uint32_t kShmFormatVersion = 1;

/// What a shared-array segment header says.
struct ShmHeader {
  /// Header format version (kShmFormatVersion).
  uint32_t version = kShmFormatVersion;
  /// Element type of the array.
  DType dtype = DType::UInt8;
  /// Extent of each axis (C order).
  std::vector<int64_t> shape;
  /// Process id of the creator (in the creator's PID namespace; informational: liveness is
  /// decided by the creator's lock, see shm_housekeeping.hpp).
  int64_t creator_pid = 0;
  /// Start time of the creator process (clock ticks after boot; 0 when unknown), so a reused
  /// pid is not mistaken for the creator.
  uint64_t creator_start = 0;
  /// The name survives the creator (no unlink on close).
  bool persist = false;
  /// Byte offset of the data from the start of the segment.
  uint64_t data_offset = kShmDataOffset;
  /// prod(shape) * itemsize.
  uint64_t data_bytes = 0;
};

/// Serializes a header (the data offset and size are computed from dtype and shape). The result
/// is shorter than kShmDataOffset.
std::vector<uint8_t> make_shm_header(const ShmHeader& header);

/// Parses and validates a segment header: `bytes` are the first bytes of the segment (more than
/// the header is fine), `segment_size` the segment's size. A truncated, foreign or corrupt
/// header throws std::invalid_argument saying which check failed; never reads past `bytes`.
ShmHeader parse_shm_header(std::span<const uint8_t> bytes, uint64_t segment_size);

/// True when `bytes` start with the segment magic: a nocopy segment, valid or not.
bool has_shm_magic(std::span<const uint8_t> bytes);

/// Size in bytes of the magic, which a creator writes last (an attacher racing with creation
/// sees "no magic", never a half-written header).
inline constexpr size_t kShmMagicBytes = 8;

/// Bytes a segment needs for an array: data offset + data size (overflow-checked).
uint64_t shm_segment_size(DType dtype, std::span<const int64_t> shape);

}  // namespace nocopy
