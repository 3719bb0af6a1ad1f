// SequenceSource: the sequences a sequence producer reads (1-D token streams or (T, F) series,
// one dtype and feature count) and how windows of them are read, the one place that decides it
// through the storage read seam (storage/read_at.hpp):
//
// Memory-mapped sequences get MADV_RANDOM. Up to 256 MiB of them in all are read through the
// mapping and stay resident (bounded by their size). Beyond that, contiguous sequences that map a
// file (a SharedArray's segment is one, in /dev/shm) are read by position (pread,
// POSIX_FADV_RANDOM), so no page of the mapping becomes resident, and the others (strided views,
// a file or segment whose name now refers to another) through the mapping, the pages read
// unmapped again every 32 MiB of reads (MADV_DONTNEED; the file keeps them in its page cache;
// not for copy-on-write mappings). So the resident memory stays bounded however large the file.
// Windows read through a mapping are prefetched a few windows ahead (random windows are bound
// by memory latency).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "nocopy/core/dtype.hpp"
#include "nocopy/core/view.hpp"
#include "nocopy/pipeline/sources/sample_source.hpp"
#include "nocopy/storage/read_at.hpp"

namespace nocopy {

/// One part of a window a slot needs: `rows` rows from row `first` of the window, converted
/// into `dst`.
struct WindowPart {
  int64_t first = 0, rows = 0;
  char* dst = nullptr;
};

/// A producer's sequences and their reads.
class SequenceSource final : public SampleSource {
 public:
  /// Checks the sequences: on the CPU, 1-D or 2-D with the same feature count and dtype, a
  /// supported dtype, at least one feature (std::invalid_argument / BufferError naming the
  /// sequence). `window_rows` (>= 1) is how many rows each read window spans: it decides how
  /// each sequence is read (see the file comment).
  SequenceSource(std::vector<View> sequences, int64_t window_rows);

  /// Sequences.
  int64_t size() const override { return static_cast<int64_t>(sequences_.size()); }
  std::vector<ByteRange> extents() const override;
  /// Rows (steps) of each sequence.
  const std::vector<int64_t>& lengths() const { return lengths_; }
  /// () for 1-D sequences, (F) for (T, F) ones: the shape of one row.
  const std::vector<int64_t>& row_shape() const { return row_shape_; }
  /// Element type of every sequence.
  DType dtype() const { return sequences_.front().dtype(); }
  /// True when some sequence is read by position (pread), not through memory.
  bool reads_by_position() const { return reads_by_position_; }

  /// Reads the window of window_rows rows at row `start` of sequence `s` and writes each part
  /// converted to `out` (its values range-checked when `check_range`: std::overflow_error naming
  /// the value and where it is). Called by worker threads, concurrently.
  void read_window(size_t s, int64_t start, std::span<const WindowPart> parts, DType out,
                   bool check_range) const;
  /// Starts loading the window at `start` of sequence `s` (a hint for windows read through a
  /// mapping; must not throw).
  void prefetch_window(size_t s, int64_t start) const noexcept;
  /// Windows a reader should tell prefetch_window about ahead of reading them.
  static constexpr int64_t kPrefetchWindows = 8;
  /// Records that `windows` more windows were read, and releases the pages read from large
  /// mappings every 32 MiB of them (called by one thread: the consumer).
  void after_windows(int64_t windows);

 private:
  std::vector<View> sequences_;
  std::vector<int64_t> lengths_;
  std::vector<int64_t> row_shape_;
  int64_t window_rows_ = 1;
  std::vector<uint8_t> release_;                  // 1 for sequences whose read pages are released
  std::vector<std::unique_ptr<ReadAt>> readers_;  // positional readers of file / shm sequences
  bool reads_by_position_ = false;
  size_t scratch_bytes_ = 0;      // a window's source bytes, for a positional read + convert
  int64_t window_cost_ = 0;       // resident bytes a window may map (its pages + fault-around)
  int64_t unreleased_bytes_ = 0;  // touched by after_windows only
};

}  // namespace nocopy
