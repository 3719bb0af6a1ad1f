// SequenceLoader: batches of windows of token streams or time series, gathered and converted by
// worker threads into pooled 64-byte aligned buffers and delivered in order.
//
// A stream over epochs like Loader: next() returns batch `state().batch` of epoch
// `state().epoch`; what it holds is a pure function of (seed, epoch, batch index) (see
// SequenceSampler), so a saved state resumes with identical bytes whatever the thread count.
// Each batch is one buffer holding x and then y; its views own it, so a kept batch is never
// reused. Memory-mapped sources (open_raw, open_npy, SharedArray) get MADV_RANDOM. Up to 256 MiB
// of them in all are read through the mapping and stay resident (bounded by their size). Beyond
// that, contiguous sources that map a file (a SharedArray's segment is one, in /dev/shm) are
// read with pread from the file (POSIX_FADV_RANDOM), so no page of the mapping becomes
// resident, and the others (strided views, a file or segment whose name now refers to another)
// through the mapping, the pages read unmapped again every 32 MiB of reads (MADV_DONTNEED; the
// file keeps them in its page cache; not for copy-on-write mappings). So the resident memory stays
// bounded however large the file. Windows read through a mapping are prefetched a few windows ahead
// (random windows are bound by memory latency).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "nocopy/core/thread_pool.hpp"
#include "nocopy/core/view.hpp"
#include "nocopy/pipeline/engine/batch_pool.hpp"
#include "nocopy/pipeline/ops/sequence_options.hpp"
#include "nocopy/pipeline/producers/loader.hpp"
#include "nocopy/pipeline/sampling/sequence_sampler.hpp"
#include "nocopy/storage/file_reader.hpp"

namespace nocopy {

/// One delivered batch of windows; its views keep the batch buffer alive.
struct SequenceBatch {
  /// (n, seq_len) for 1-D sources, (n, seq_len, F) for (T, F) ones; C-contiguous, aligned.
  View x;
  /// (n, seq_len[, F]) next-step targets or (n, horizon[, F]); none with SequenceTargets::None.
  std::optional<View> y;
  /// Which batch of which epoch this is.
  int64_t epoch = 0, index = 0;
};

/// The multithreaded, prefetching, deterministic loader of sequence windows.
class SequenceLoader {
 public:
  /// sources: 1-D arrays (tokens) or 2-D (T, F) arrays (series) of one dtype, on the CPU, any
  /// strides; a window never crosses from one source to the next. Validates the options and
  /// the data (std::invalid_argument / std::overflow_error / BufferError naming the value and
  /// the limit) and starts the threads; no work happens before the first next().
  SequenceLoader(std::vector<View> sources, const SequenceOptions& options);
  /// Stops the workers (queued work is dropped) and joins them; held batches stay valid.
  ~SequenceLoader();
  SequenceLoader(const SequenceLoader&) = delete;
  SequenceLoader& operator=(const SequenceLoader&) = delete;

  /// Batches per (whole) epoch on this rank.
  int64_t num_batches() const { return sampler_.epoch_batches(); }
  /// Windows per (whole) epoch on this rank.
  int64_t samples_per_rank() const { return sampler_.epoch_samples_per_rank(); }
  /// Batches of the epoch state() is in, counted from its start (fewer than num_batches() in an
  /// epoch resumed at a global position).
  int64_t state_epoch_batches() const;
  /// Windows per epoch over all ranks.
  int64_t windows_per_epoch() const { return sampler_.windows_per_epoch(); }
  /// Worker threads running.
  size_t num_threads() const { return workers_->size(); }
  const SequenceOptions& options() const { return options_; }

  /// Current position (epoch, next batch index, global position of the epoch's batch 0).
  LoaderState state() const;
  /// Global position of the next batch: all ranks together have consumed the windows at
  /// positions [0, global_position()) of state().epoch.
  int64_t global_position() const;
  /// Moves to a saved position: batch `batch` of epoch `epoch` started at global position
  /// `start` (elastic resume: a position saved with another world size or batch size, batch 0);
  /// batch == the batches from `start` means the start of the next epoch. Drops batches in
  /// flight. std::invalid_argument when out of range.
  void load_state(LoaderState state);
  /// Moves to batch 0 of `epoch` (>= 0).
  void set_epoch(int64_t epoch);
  /// The windows of batch `b` of the current epoch (std::out_of_range outside the epoch).
  SequencePlan plan(int64_t b) const;

  /// Delivers the next batch in order, waiting up to `timeout` (forever when absent). Rethrows
  /// a worker's error (std::overflow_error for a token that does not fit the output type; the
  /// position stays at that batch); std::out_of_range when an epoch has no batches.
  NextStatus next(SequenceBatch& out,
                  std::optional<std::chrono::nanoseconds> timeout = std::nullopt);

  /// Buffers the loader's pool holds now (in flight, held by users, or spare).
  size_t buffers_allocated() const { return buffers_->allocated(); }
  /// Bytes of one batch buffer: x and y of the largest batch that can occur.
  size_t buffer_bytes() const { return buffers_->buffer_bytes(); }

 private:
  struct Job;
  void fill_locked();
  void cancel_locked();
  /// Moves to the next epoch after its last batch was delivered (throws at kMaxEpoch).
  void advance_epoch_locked();
  void run_chunk(const std::shared_ptr<Job>& job, int64_t begin, int64_t end);
  void gather_window(size_t source, int64_t start, char* x, char* y,
                     std::unique_ptr<char[]>& scratch) const;
  void release_pages(int64_t batch_windows);
  /// Starts loading the window at `start` of source `source` into the cache (mapped reads).
  void prefetch_window(size_t source, int64_t start) const noexcept;

  SequenceOptions options_;
  std::vector<View> sources_;
  std::vector<int64_t> lengths_;
  std::vector<int64_t> sample_tail_;  // () for 1-D sources, (F) for 2-D ones
  bool check_range_ = false;
  std::vector<uint8_t> mapped_;  // 1 for sources whose pages may be released (shared mappings)
  std::vector<std::unique_ptr<FileReader>> readers_;  // pread readers of file / shm sources
  size_t scratch_bytes_ = 0;  // a window's source bytes (x and y steps), for pread + convert
  size_t x_slot_bytes_ = 0, y_slot_bytes_ = 0, y_offset_ = 0;
  int64_t window_cost_ = 0;       // resident bytes a window may map (its pages + fault-around)
  int64_t unreleased_bytes_ = 0;  // guarded by LoaderLocks::consumer
  std::shared_ptr<BatchPool> buffers_;

  int creator_pid_ = 0;  // the process whose threads these are
  std::unique_ptr<LoaderLocks> sync_;
  SequenceSampler sampler_;  // guarded by LoaderLocks::state, as are the two below
  int64_t next_batch_ = 0;
  std::deque<std::shared_ptr<Job>> inflight_;

  std::unique_ptr<ThreadPool> workers_;  // last member: destroyed (joined) first
};

}  // namespace nocopy
