// Housekeeping of the shared arrays in /dev/shm, behind `python -m nocopy shm list|rm|gc`:
// listing nocopy segments with their owner's liveness, removing one by name, and reclaiming the
// segments whose owner is dead (exit, SIGTERM, os._exit, kill -9; any PID namespace).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "nocopy/storage/shared_array.hpp"
#include "nocopy/storage/shm_header.hpp"

namespace nocopy {

/// One nocopy segment found in /dev/shm.
struct ShmSegmentInfo {
  /// Segment name (the raw bytes of the directory entry; may hold any byte but '/' and NUL).
  std::string name;
  /// Segment size in bytes.
  uint64_t size = 0;
  /// The parsed header (default values when `problem` is set).
  ShmHeader header;
  /// True while an owner process holds the segment's lock, or (for segments written without
  /// one) a process with the creator's pid and start time runs.
  bool creator_alive = false;
  /// Why the header is invalid (the segment has nocopy's magic but fails validation); "" if ok.
  std::string problem;
};

/// Lists the nocopy segments in `dir` (other files are skipped; unreadable ones too).
std::vector<ShmSegmentInfo> list_segments(const std::string& dir = kShmDir);
/// Removes the named segment after checking it is a nocopy segment (std::invalid_argument
/// otherwise, a FIFO or device included; FileError when it does not exist). Never blocks.
void remove_segment(const std::string& name);
/// Removes every nocopy segment whose owner is dead: non-persistent valid ones, and truncated
/// or invalid ones. The check and the unlink happen under the segment's exclusive lock, so a
/// segment being adopted is never removed. Returns the names removed.
std::vector<std::string> gc_segments(const std::string& dir = kShmDir);

}  // namespace nocopy
