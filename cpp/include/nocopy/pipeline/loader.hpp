// Loader: batches of fused crop / mirror / normalize samples, produced ahead by worker threads
// into pooled buffers and delivered in order.
//
// The loader is a stream over epochs: next() returns batch `state().batch` of epoch
// `state().epoch`, and after an epoch's last batch moves on to batch 0 of the next epoch. What a
// batch holds is a pure function of (seed, epoch, batch index) (see Sampler), so a state saved
// with state() and restored with load_state() continues with identical bytes, whatever the
// thread count. Batch views own their buffer: a batch kept by the caller is never reused.
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
#include "nocopy/pipeline/batch_pool.hpp"
#include "nocopy/pipeline/sample_transform.hpp"
#include "nocopy/pipeline/sampler.hpp"

namespace nocopy {

/// Every knob of the loader (the Python nc.Loader arguments); validated by Loader's constructor.
struct LoaderOptions {
  /// Samples per batch (>= 1).
  int64_t batch_size = 32;
  /// Crop window (rows, columns); with CropMode::None it must equal the image size.
  int64_t crop_h = 256, crop_w = 256;
  CropMode crop_mode = CropMode::Random;
  /// Probability of a horizontal mirror per sample, in [0, 1].
  double mirror = 0.5;
  /// Normalization (see TransformSpec): out = (x * scale - mean[c]) / std[c].
  std::vector<double> mean, std;
  double scale = 1.0 / 255.0;
  Layout layout = Layout::CHW;
  /// float32, float16, bfloat16 or uint8 (uint8: source bytes unchanged).
  DType dtype = DType::Float32;
  bool shuffle = true;
  uint64_t seed = 0;
  /// Trim to equal shards and drop the last partial batch.
  bool drop_last = false;
  /// Worker threads; 0 means the cores this process may use.
  size_t num_threads = 0;
  /// Batches produced ahead of the consumer (>= 1).
  int64_t prefetch = 2;
  /// Shard of this process and number of shards (DistributedSampler semantics).
  int64_t rank = 0, world_size = 1;
  /// Testing hook: a worker throws when it reaches this dataset index (-1: never).
  int64_t fault_sample = -1;
};

/// Position of the stream: the next batch next() returns.
struct LoaderState {
  int64_t epoch = 0;
  int64_t batch = 0;
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

/// The multithreaded, prefetching, deterministic batch loader.
class Loader {
 public:
  /// images: (N, H, W, C) on the CPU, any strides; labels: first axis N, any dtype, or none.
  /// Validates everything up front (std::invalid_argument / BufferError with the value and
  /// the limit) and starts the worker threads; no work happens before the first next().
  Loader(View images, std::optional<View> labels, const LoaderOptions& options);
  /// Stops the workers (queued work is dropped) and joins them; held batches stay valid.
  ~Loader();
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  /// Batches per epoch on this rank.
  int64_t num_batches() const;
  /// Samples per epoch on this rank.
  int64_t samples_per_rank() const;
  /// Worker threads running.
  size_t num_threads() const { return pool_.size(); }
  const LoaderOptions& options() const { return options_; }

  /// Current position (epoch, next batch index).
  LoaderState state() const;
  /// Moves to a saved position; batch == num_batches() means the start of the next epoch.
  /// Drops batches in flight. std::invalid_argument when out of range.
  void load_state(LoaderState state);
  /// Moves to batch 0 of `epoch` (>= 0); drops batches in flight.
  void set_epoch(int64_t epoch);
  /// The plan of batch `b` of the current epoch (std::out_of_range outside [0, num_batches())).
  BatchPlan plan(int64_t b) const;

  /// Delivers the next batch in order, waiting for it up to `timeout` (forever when absent).
  /// Throws LoaderError when a worker failed on one of its samples (the position stays at that
  /// batch), std::out_of_range when an epoch has no batches.
  NextStatus next(Batch& out, std::optional<std::chrono::nanoseconds> timeout = std::nullopt);

  /// Buffers the loader's pool holds now (in flight, held by users, or spare).
  size_t buffers_allocated() const { return pool_buffers_->allocated(); }

 private:
  struct Job;
  void fill_locked();
  void cancel_locked();
  void run_chunk(const std::shared_ptr<Job>& job, int64_t begin, int64_t end);
  void gather_label(int64_t sample, char* dst) const;

  LoaderOptions options_;
  View images_;
  std::optional<View> labels_;
  SampleTransform transform_;
  std::vector<int64_t> sample_shape_;  // one output sample
  std::vector<int64_t> label_shape_;   // one label (labels shape without the first axis)
  size_t label_bytes_ = 0;
  std::shared_ptr<BatchPool> pool_buffers_;

  std::mutex consumer_;  // serializes next / set_epoch / load_state (taken before mutex_)
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  Sampler sampler_;
  int64_t next_batch_ = 0;
  std::deque<std::shared_ptr<Job>> inflight_;

  ThreadPool pool_;  // last member: destroyed (joined) first, while the rest is still alive
};

}  // namespace nocopy
