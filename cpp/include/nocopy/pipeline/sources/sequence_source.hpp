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
//
// The sequences are either all given up front or opened on demand (LazySequences: the shards of
// a remote token dataset). Opened on demand, each sequence's length is known before it is open,
// so windows are planned without any; a sequence is opened through its provider when a worker
// first reads a window of it (one opening per sequence however many workers ask; the others wait
// for it), `max_open` of them stay open (least recently used closed first), and will_read hints
// the provider about the sequences the batches ahead read. The choice above is then made per
// sequence as it opens, "256 MiB in all" counted over the lengths the layout gives.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "nocopy/core/dtype.hpp"
#include "nocopy/core/view.hpp"
#include "nocopy/pipeline/sources/sample_source.hpp"
#include "nocopy/storage/read_at.hpp"
#include "nocopy/storage/shard_provider.hpp"

namespace nocopy {

/// One part of a window a slot needs: `rows` rows from row `first` of the window, converted
/// into `dst`.
struct WindowPart {
  int64_t first = 0, rows = 0;
  char* dst = nullptr;
};

/// Where sequences opened on demand come from: open(k) returns sequence k as a View.
using SequenceShardProvider = ShardProvider<View>;

/// What is known of sequences opened on demand before any is open.
struct SequenceShardsLayout {
  /// Rows (steps) of each sequence, in order (each >= 0; at least one sequence).
  std::vector<int64_t> lengths;
  /// () for 1-D sequences (tokens), (F) for (T, F) series: the shape of one row.
  std::vector<int64_t> row_shape;
  /// Element type of every sequence.
  DType dtype = DType::UInt16;
  /// Sequences kept open at most (>= 1); the least recently used beyond it are closed.
  int64_t max_open = 16;
};

/// Sequences opened on demand: the provider that opens them and what is known before.
struct LazySequences {
  /// Opens sequence k (blocking; throws naming it when it cannot be had) and hints ahead.
  std::shared_ptr<const SequenceShardProvider> provider;
  /// Their lengths, row shape, dtype and how many stay open.
  SequenceShardsLayout layout;
};

/// A sequence opened for reading: its view and how its windows are read (sequence_source.cpp).
class OpenSequence;
/// The state of sequences opened on demand (sequence_source.cpp).
struct LazySequenceState;

/// A producer's sequences and their reads.
class SequenceSource final : public SampleSource {
 public:
  /// Checks the sequences: on the CPU, 1-D or 2-D with the same feature count and dtype, a
  /// supported dtype, at least one feature (std::invalid_argument / BufferError naming the
  /// sequence). `window_rows` (>= 1) is how many rows each read window spans: it decides how
  /// each sequence is read (see the file comment).
  SequenceSource(std::vector<View> sequences, int64_t window_rows);
  /// Sequences opened on demand: checks the layout as above (std::invalid_argument); each
  /// sequence is checked against it when it opens (std::runtime_error naming it).
  SequenceSource(LazySequences sequences, int64_t window_rows);

  /// Sequences.
  int64_t size() const override { return static_cast<int64_t>(lengths_.size()); }
  /// The memory of sequences given up front (none for sequences opened on demand: mapped
  /// files, opened later).
  std::vector<ByteRange> extents() const override;
  /// Rows (steps) of each sequence.
  const std::vector<int64_t>& lengths() const { return lengths_; }
  /// () for 1-D sequences, (F) for (T, F) ones: the shape of one row.
  const std::vector<int64_t>& row_shape() const { return row_shape_; }
  /// Element type of every sequence.
  DType dtype() const { return dtype_; }
  /// True when some sequence is (or, opened on demand, is expected to be) read by position
  /// (pread), not through memory.
  bool reads_by_position() const { return reads_by_position_; }
  /// True when the sequences are opened on demand.
  bool lazy() const { return lazy_ != nullptr; }

  /// Reads the window of window_rows rows at row `start` of sequence `s` and writes each part
  /// converted to `out` (its values range-checked when `check_range`: std::overflow_error naming
  /// the value and where it is). Opens the sequence first when it is opened on demand (its
  /// provider's error, naming it, when it cannot be had). Called by worker threads,
  /// concurrently.
  void read_window(size_t s, int64_t start, std::span<const WindowPart> parts, DType out,
                   bool check_range) const;
  /// Starts loading the window at `start` of sequence `s` (a hint for windows read through a
  /// mapping, of a sequence opened already when they are opened on demand; must not throw).
  void prefetch_window(size_t s, int64_t start) const noexcept;
  /// Windows a reader should tell prefetch_window about ahead of reading them.
  static constexpr int64_t kPrefetchWindows = 8;
  /// Tells the provider of sequences opened on demand that `sequences` will be read soon: each
  /// one neither open nor being opened nor hinted already is hinted once (nothing for
  /// sequences given up front; never throws).
  void will_read(std::span<const int64_t> sequences) const noexcept;
  /// Records that `windows` more windows were read, and releases the pages read from large
  /// mappings every 32 MiB of them (called by one thread: the consumer).
  void after_windows(int64_t windows);

 private:
  /// Sequence s opened (for sequences opened on demand, through the provider).
  std::shared_ptr<const OpenSequence> sequence(size_t s) const;
  /// The window sizes that follow from the row shape and dtype.
  void size_windows(int64_t window_rows);

  std::vector<int64_t> lengths_;
  std::vector<int64_t> row_shape_;
  DType dtype_ = DType::UInt8;
  bool large_ = false;  // beyond the resident limit (see the file comment)
  std::vector<std::shared_ptr<const OpenSequence>> open_;  // sequences given up front
  std::shared_ptr<LazySequenceState> lazy_;                // sequences opened on demand
  bool reads_by_position_ = false;
  size_t scratch_bytes_ = 0;  // a window's source bytes, for a positional read + convert
  int64_t window_rows_ = 1;
  int64_t window_cost_ = 0;       // resident bytes a window may map (its pages + fault-around)
  int64_t unreleased_bytes_ = 0;  // touched by after_windows only
};

}  // namespace nocopy
