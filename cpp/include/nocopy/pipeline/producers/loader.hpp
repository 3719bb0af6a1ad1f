// Loader: batches of fused crop / mirror / normalize samples, produced ahead by worker threads
// into pooled buffers and delivered in order.
//
// The loader is a stream over epochs: next() returns batch `state().batch` of epoch
// `state().epoch`; after an epoch's last batch, the next call moves on to batch 0 of the next
// epoch (until then plan(b) still describes the epoch just delivered). What a batch holds is a
// pure function of (seed, epoch, batch index) (see Sampler), so a state saved with state() and
// restored with load_state() continues with identical bytes, whatever the thread count. Batch
// views own their buffer: a batch kept by the caller is never reused. Options: loader_options.hpp.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "nocopy/core/errors.hpp"
#include "nocopy/core/thread_pool.hpp"
#include "nocopy/core/view.hpp"
#include "nocopy/pipeline/engine/batch_pool.hpp"
#include "nocopy/pipeline/kernels/sample_transform.hpp"
#include "nocopy/pipeline/ops/loader_options.hpp"
#include "nocopy/pipeline/sampling/sampler.hpp"
#include "nocopy/pipeline/sources/image_source.hpp"

namespace nocopy {

/// Position of the stream: the next batch next() returns.
struct LoaderState {
  /// Epoch of the next batch.
  int64_t epoch = 0;
  /// Index of the next batch within its epoch, counted from `start`.
  int64_t batch = 0;
  /// Global position of the epoch's order where its batch 0 starts: 0, or where a state saved
  /// with another world size or batch size left off (elastic resume; see Sampler).
  int64_t start = 0;
};

/// One delivered batch; its views keep the batch buffer alive.
struct Batch {
  /// (n, C, h, w) or (n, h, w, C), C-contiguous, 64-byte aligned.
  View images;
  /// (n, ...) gathered labels, when the loader has labels.
  std::optional<View> labels;
  /// Which batch of which epoch this is.
  int64_t epoch = 0, index = 0;
};

/// Whether next() delivered a batch.
enum class NextStatus { Ready, Timeout };

/// The locks a loader shares with its worker threads. Heap-held, so that a loader destroyed in
/// a forked child can leave them untouched: a parent thread may have held them at the fork, and
/// destroying a condition variable the parent's threads waited on can block forever.
struct LoaderLocks {
  std::mutex consumer;  // serializes next / set_epoch / load_state (taken before state)
  std::mutex state;     // guards the position, the sampler and the jobs in flight
  std::condition_variable job_done;
};

/// The multithreaded, prefetching, deterministic batch loader.
class Loader {
 public:
  /// images: (N, H, W, C) on the CPU, any strides; labels: first axis N, any dtype, or none.
  /// Validates everything up front (resolve_loader_options, then the Sampler and SampleTransform
  /// checks: std::invalid_argument / BufferError with the value and the limit) and starts the
  /// worker threads; no work happens before the first next().
  Loader(View images, std::optional<View> labels, const LoaderOptions& options);
  /// The same over any image source: a uniform array or an ImageSet of different-size images
  /// (labels, when given, have first axis N; an ImageSet's own labels are not implied here).
  Loader(ImageSource images, std::optional<View> labels, const LoaderOptions& options);
  /// Stops the workers (queued work is dropped) and joins them; held batches stay valid. In a
  /// forked child (where the workers do not exist) it only releases memory, never waits.
  ~Loader();
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  /// Batches per (whole) epoch on this rank (>= 1).
  int64_t num_batches() const;
  /// Samples per (whole) epoch on this rank.
  int64_t samples_per_rank() const;
  /// Batches of the epoch state() is in, counted from its start (fewer than num_batches() in
  /// an epoch resumed at a global position).
  int64_t state_epoch_batches() const;
  /// Worker threads running.
  size_t num_threads() const { return workers_->size(); }
  /// The options as given.
  const LoaderOptions& options() const { return options_; }
  /// The options resolved against the images (what the sampler and transform were built from).
  const LoaderConfig& config() const { return config_; }

  /// Position of the next batch next() returns: after an epoch's last batch, batch 0 of the next
  /// epoch.
  LoaderState state() const;
  /// Global position in the epoch order of the next batch: all ranks together have consumed
  /// the samples at positions [0, global_position()) of state().epoch (at most num_samples).
  int64_t global_position() const;
  /// Moves to a saved position; batch == the number of batches from `start` means the start of
  /// the next epoch. Drops batches in flight. std::invalid_argument when out of range.
  void load_state(LoaderState state);
  /// Moves to batch 0 of `epoch` (in [0, kMaxEpoch]); drops batches in flight.
  void set_epoch(int64_t epoch);
  /// The plan of batch `b` of the current epoch: the one being delivered, or just delivered
  /// when its last batch was the latest (std::out_of_range outside [0, num_batches())).
  BatchPlan plan(int64_t b) const;
  /// The plan of batch `b` of any epoch in [0, kMaxEpoch].
  BatchPlan plan(int64_t b, int64_t epoch) const;

  /// Delivers the next batch in order, waiting for it up to `timeout` (forever when absent).
  /// When a worker failed on one of its samples: with on_error Raise, throws LoaderError naming
  /// the first failing sample of the batch (the position stays at that batch); with Skip, each
  /// failing slot k gets a copy of the image and label of the first slot after k (cyclically,
  /// in plan order) whose sample did not fail, and LoaderError only when every sample failed.
  NextStatus next(Batch& out, std::optional<std::chrono::nanoseconds> timeout = std::nullopt);

  /// Samples replaced by a substitute (on_error Skip) in the batches delivered so far.
  int64_t num_skipped() const;
  /// The distinct dataset indices of those samples, ascending.
  std::vector<int64_t> skipped_samples() const;

  /// Buffers the loader's pool holds now (in flight, held by users, or spare).
  size_t buffers_allocated() const { return buffers_->allocated(); }
  /// Bytes of one batch buffer: the largest batch that can occur.
  size_t buffer_bytes() const { return buffers_->buffer_bytes(); }

 private:
  struct Job;
  friend void inject_loader_fault_for_testing(Loader& loader, int64_t sample);

  void fill_locked();
  void cancel_locked();
  void run_chunk(const std::shared_ptr<Job>& job, int64_t begin, int64_t end);
  void gather_label(int64_t sample, char* dst) const;
  /// on_error Skip: fills each failed slot of a finished job from its substitute slot.
  void substitute_failed_locked(Job& job);
  /// Writes plan entry k through the resampling kernel (resizing modes, ImageSets).
  void resample_sample(const BatchPlan& p, int64_t k, void* out) const;

  LoaderOptions options_;
  LoaderConfig config_;
  ImageSource images_;
  std::optional<View> labels_;
  Sampler sampler_;
  SampleTransform transform_;
  std::vector<int64_t> label_shape_;  // one label (labels shape without the first axis)
  size_t label_bytes_ = 0;
  std::shared_ptr<BatchPool> buffers_;
  int creator_pid_ = 0;                    // the process whose threads these are
  std::atomic<int64_t> fault_sample_{-1};  // test seam: a worker fails on this dataset index

  std::unique_ptr<LoaderLocks> sync_;
  int64_t next_batch_ = 0;  // in [0, num_batches()]; num_batches() once an epoch is delivered
  std::deque<std::shared_ptr<Job>> inflight_;
  int64_t num_skipped_ = 0;               // guarded by LoaderLocks::state
  std::vector<int64_t> skipped_samples_;  // sorted, distinct; guarded by LoaderLocks::state

  std::unique_ptr<ThreadPool> workers_;  // last member: destroyed (joined) first
};

/// Test-only seam (not an option): workers of `loader` fail with a std::runtime_error when they
/// reach dataset index `sample` (-1: never), so tests can check how failures are delivered.
void inject_loader_fault_for_testing(Loader& loader, int64_t sample);

}  // namespace nocopy
