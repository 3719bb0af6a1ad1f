// Shared arrays: N-d arrays in POSIX shared memory that any process can attach to by name.
//
// A segment starts with a self-describing header (magic, format version, dtype, shape, creator
// pid, persist flag, data offset) and holds the data from a 4096-byte aligned offset. The creator
// owns the name: it is unlinked when the creator closes its handle, or when the creator's last
// view goes away, unless the array is persistent. Attachers never unlink. The mapping itself
// lives as long as any view of it, so close() never invalidates a view.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "nocopy/core/dtype.hpp"
#include "nocopy/core/view.hpp"
#include "nocopy/storage/mapped_file.hpp"

namespace nocopy {

/// Directory where Linux keeps POSIX shared memory (used for listing and for error messages).
inline constexpr const char* kShmDir = "/dev/shm";
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
  /// Process id of the creator.
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

/// Bytes a segment needs for an array: data offset + data size (overflow-checked).
uint64_t shm_segment_size(DType dtype, std::span<const int64_t> shape);

/// The mapping of a shared-array segment; unlinks the name in its destructor when this process
/// created it and it is not persistent (and close() has not already done so).
class ShmMapping final : public MappedRegion {
 public:
  ~ShmMapping() override;
  std::string_view kind() const override { return "shm"; }
  /// Segment name without the leading '/'.
  const std::string& name() const { return source(); }
  /// True in the process (pid) that created the segment.
  bool is_creator() const;
  /// The segment's parsed header.
  const ShmHeader& header() const { return header_; }
  /// Removes the name now if this process is the non-persistent creator (idempotent).
  void unlink_if_owner() const;

 private:
  friend class SharedArray;
  ShmMapping(uint8_t* data, size_t size, MapMode mode, std::string name, ShmHeader header,
             pid_t owner_pid)
      : MappedRegion(data, size, mode, std::move(name)),
        header_(std::move(header)),
        owner_pid_(owner_pid) {}
  ShmHeader header_;
  pid_t owner_pid_;  // creator's pid when this mapping owns the name, else 0
  mutable std::atomic<bool> unlinked_{false};
};

/// Options for SharedArray::create.
struct ShmCreateOptions {
  /// Segment name (with or without a leading '/'); empty generates "nocopy-<pid>-<random>".
  std::string name;
  /// Permission bits of the segment (0600: only this user).
  mode_t mode = 0600;
  /// Keep the segment after the creator closes or exits (remove it with remove_segment).
  bool persist = false;
};

/// A handle on a shared-array segment: the creator's or an attacher's.
class SharedArray {
 public:
  /// Creates a new segment (O_EXCL: an existing name is an error), reserves its pages up front
  /// (a full /dev/shm is an error naming its free space and the size asked, never a SIGBUS
  /// later), writes the header and returns the handle. The data starts zeroed.
  static SharedArray create(std::span<const int64_t> shape, DType dtype,
                            const ShmCreateOptions& options = {});
  /// Attaches to an existing segment by name, validating its header against the segment size.
  /// O(1) in the array size. Read-only attachers get a read-only view.
  static SharedArray attach(const std::string& name, bool readonly = false);

  SharedArray(SharedArray&&) noexcept = default;
  SharedArray& operator=(SharedArray&&) noexcept;
  SharedArray(const SharedArray&) = delete;
  SharedArray& operator=(const SharedArray&) = delete;
  /// Same as close().
  ~SharedArray();

  /// Segment name without the leading '/'.
  const std::string& name() const { return name_; }
  /// The whole array (std::invalid_argument after close()).
  const View& view() const;
  /// True when this handle created the segment.
  bool is_creator() const { return creator_; }
  /// True after close().
  bool closed() const { return mapping_ == nullptr; }
  /// The mapping (owner of every view of this array); null after close().
  const std::shared_ptr<const ShmMapping>& mapping() const { return mapping_; }
  /// Drops this handle. The creator unlinks the name (unless persistent); views already taken
  /// stay valid until they are released.
  void close();
  /// A view of this array's memory with the given geometry (element strides), e.g. rebuilt
  /// from a pickled reference. Every element it reaches must lie inside the data area
  /// (std::invalid_argument otherwise), so a hostile reference cannot reach outside it.
  View view_at(int64_t byte_offset, DType dtype, std::vector<int64_t> shape,
               std::vector<int64_t> strides, bool readonly) const;

 private:
  SharedArray(std::string name, std::shared_ptr<const ShmMapping> mapping, View view, bool creator)
      : name_(std::move(name)),
        mapping_(std::move(mapping)),
        view_(std::move(view)),
        creator_(creator) {}
  std::string name_;
  std::shared_ptr<const ShmMapping> mapping_;
  View view_;
  bool creator_ = false;
};

/// The shm mapping that holds a view's memory, or null when the view is not of a shared array.
const ShmMapping* shm_mapping_of(const View& view);

/// Byte offset of a shm view's first element from the start of its array's data.
int64_t shm_data_offset_of(const View& view);

/// Unlinks the name of every segment this process created that is still linked and not
/// persistent (for interpreter exit, when objects holding views may never be destroyed).
void unlink_created_segments();

/// One nocopy segment found in /dev/shm.
struct ShmSegmentInfo {
  std::string name;
  /// Segment size in bytes.
  uint64_t size = 0;
  ShmHeader header;
  /// True when the creator process still runs.
  bool creator_alive = false;
  /// Why the header is invalid (the segment has nocopy's magic but fails validation); "" if ok.
  std::string problem;
};

/// Lists the nocopy segments in `dir` (other files are skipped; unreadable ones too).
std::vector<ShmSegmentInfo> list_segments(const std::string& dir = kShmDir);
/// Removes the named segment after checking it is a nocopy segment (std::invalid_argument
/// otherwise; std::runtime_error when it does not exist).
void remove_segment(const std::string& name);
/// Removes every non-persistent nocopy segment whose creator is dead; returns their names.
std::vector<std::string> gc_segments(const std::string& dir = kShmDir);
/// True when process `pid` runs and (when `start` is not 0) started at `start` clock ticks.
bool process_alive(int64_t pid, uint64_t start);
/// Normalizes a user-given segment name ("/x" or "x" -> "x"); std::invalid_argument when empty,
/// longer than 250 characters or containing '/' or a NUL.
std::string normalize_shm_name(const std::string& name);

}  // namespace nocopy
