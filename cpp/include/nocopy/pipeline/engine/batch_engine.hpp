// BatchEngine: everything a loader does that is not "what goes in a slot". It owns the position
// (epoch, batch, start) and the epoch rule (engine_state.hpp), the sharding of each epoch's
// positions over ranks (ShardGeometry), the batches produced ahead by worker threads in chunks of
// slots into pooled 64-byte aligned buffers, delivery in order, failing samples (on_error),
// checkpoints with elastic resume, statistics, fork safety and shutdown. A BatchProducer says
// what each slot holds.
//
// Every batch is one buffer holding each output's slots one after another (each output's region
// 64-byte aligned); the views of a delivered batch own it, so a batch the caller keeps is never
// reused. Batches are prefetched across the end of an epoch (the next epoch's first batches);
// moving to the position they were planned for (set_epoch of the next epoch, say) keeps them,
// any other move drops them.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <vector>

#include "nocopy/core/errors.hpp"
#include "nocopy/core/thread_pool.hpp"
#include "nocopy/core/view.hpp"
#include "nocopy/pipeline/engine/batch_pool.hpp"
#include "nocopy/pipeline/engine/batch_producer.hpp"
#include "nocopy/pipeline/engine/engine_options.hpp"
#include "nocopy/pipeline/engine/engine_state.hpp"
#include "nocopy/pipeline/engine/engine_stats.hpp"
#include "nocopy/pipeline/sampling/random_streams.hpp"
#include "nocopy/pipeline/sampling/shard.hpp"

namespace nocopy {

/// The locks an engine shares with its worker threads (engine-private; see batch_engine.cpp).
struct LoaderLocks;

/// One delivered batch: one view per producer output, each (n, slot shape...), C-contiguous,
/// 64-byte aligned, owning the batch buffer.
struct EngineBatch {
  /// The outputs, in the producer's order.
  std::vector<View> outputs;
  /// Which batch of which epoch this is.
  int64_t epoch = 0, index = 0;
};

/// The multithreaded, prefetching, deterministic batch engine every loader runs on.
class BatchEngine {
 public:
  /// Validates `options` (std::invalid_argument naming the value and the limit), sizes the batch
  /// buffers for the largest batch that can occur and starts the worker threads; no work happens
  /// before the first next(). std::invalid_argument when drop_last leaves no batch.
  BatchEngine(std::unique_ptr<BatchProducer> producer, const EngineOptions& options);
  /// Stops the workers (queued work is dropped) and joins them; delivered batches stay valid. In
  /// a forked child (where the workers do not exist) it only releases memory, never waits.
  ~BatchEngine();
  /// Cancels the batches in flight and joins the workers now (what the destructor does first),
  /// so a caller can do it while it holds nothing the workers may wait for (Python's GIL, for
  /// per-sample Python functions). The engine must not be used afterwards except to destroy it.
  /// Does nothing in a forked child.
  void stop_workers();
  BatchEngine(const BatchEngine&) = delete;
  BatchEngine& operator=(const BatchEngine&) = delete;

  /// The producer (what each slot holds).
  const BatchProducer& producer() const { return *producer_; }
  /// The validated options.
  const EngineOptions& engine_options() const { return options_; }
  /// Worker threads running.
  size_t num_threads() const { return workers_->size(); }
  /// Batches of a whole epoch on this rank (>= 1).
  int64_t epoch_batches() const { return whole_.num_batches(); }
  /// Samples of a whole epoch on this rank.
  int64_t epoch_samples_per_rank() const { return whole_.per_rank(); }
  /// Batches of the epoch the position is in, counted from its start (fewer than
  /// epoch_batches() in an epoch resumed at a global position): what len(loader) says.
  int64_t current_batches() const;

  /// The position: the next batch next() returns (see the epoch rule in engine_state.hpp).
  LoaderState state() const;
  /// Global position of the next batch: all ranks together have consumed the positions
  /// [0, global_position()) of state().epoch (at most the epoch size).
  int64_t global_position() const;
  /// Moves to a position; batch == the batches from `start` is the end of that epoch.
  /// std::invalid_argument when out of range. Batches in flight are kept when they were planned
  /// for the position moved to, dropped otherwise.
  void load_state(LoaderState state);
  /// Moves to batch 0 of `epoch` (in [0, kMaxEpoch]).
  void set_epoch(int64_t epoch);
  /// When the position is at the end of an epoch, moves to the next one; returns the epoch an
  /// iteration started now covers.
  int64_t begin_epoch();

  /// The checkpoint of the position: kind, position and the configuration the order depends on.
  Checkpoint checkpoint() const;
  /// The configuration a checkpoint must match (checkpoint().config).
  std::vector<CheckpointEntry> resume_key() const;
  /// Resumes from a checkpoint: same kind and configuration (std::invalid_argument naming the
  /// first entry that differs or is missing). With another world_size or batch_size (elastic
  /// resume) the epoch continues from the saved global position, sharded over this job's ranks
  /// like a whole epoch; otherwise the following batches are byte-identical.
  void restore(const Checkpoint& checkpoint);

  /// The plan of batch `b` of the epoch the position is in (std::out_of_range outside
  /// [0, current_batches())).
  std::unique_ptr<ProducerPlan> plan(int64_t b) const;
  /// The plan of batch `b` of any epoch in [0, kMaxEpoch] (a whole epoch unless it is the
  /// current one).
  std::unique_ptr<ProducerPlan> plan(int64_t b, int64_t epoch) const;

  /// Delivers the next batch of the stream, moving to the next epoch first when the position is
  /// at the end of one; waits up to `timeout` (forever when absent). A sample that failed: with
  /// on_error Raise, throws LoaderError naming it (its cause() the worker's exception; the
  /// position stays at that batch, so a retry fails the same way); with Skip, each failing slot
  /// k gets a copy of every output of the first slot after k (cyclically) that did not fail, and
  /// LoaderError only when every slot failed.
  NextStatus next(EngineBatch& out, std::optional<std::chrono::nanoseconds> timeout = std::nullopt);
  /// The next batch if it belongs to `epoch`, else NextStatus::EpochEnd; when the position is at
  /// the end of `epoch` it also moves to the next epoch (an iteration over `epoch` has ended).
  /// Several threads iterating one loader share the epoch: each batch goes to one of them.
  NextStatus next_in_epoch(EngineBatch& out, int64_t epoch,
                           std::optional<std::chrono::nanoseconds> timeout = std::nullopt);

  /// Samples replaced by a substitute (on_error Skip) in the batches delivered so far.
  int64_t num_skipped() const;
  /// The distinct samples (sample_of) among them, ascending.
  std::vector<int64_t> skipped_samples() const;
  /// Statistics since the engine was created.
  EngineStats stats() const;

  /// Buffers the pool holds now (in flight, held by users, or spare).
  size_t buffers_allocated() const { return buffers_->allocated(); }
  /// Bytes of one batch buffer: every output of the largest batch that can occur.
  size_t buffer_bytes() const { return buffers_->buffer_bytes(); }

  /// Test-only seam: workers fail with std::runtime_error on slots whose sample_of() is
  /// `sample` (-1: never), so tests can check how failures are delivered.
  void inject_fault_for_testing(int64_t sample);

 private:
  struct Job;
  struct Timing;

  void fill_locked();
  void cancel_locked();
  /// Moves the position past an epoch whose batches are all delivered (throws at kMaxEpoch).
  void advance_epoch_locked();
  /// The position in the form shared by equivalent positions (an epoch's end is the next
  /// epoch's start).
  LoaderState normalized_locked(LoaderState s) const;
  NextStatus deliver_locked(EngineBatch& out, std::unique_lock<std::mutex>& lock,
                            std::optional<std::chrono::nanoseconds> timeout);
  void run_chunk(const std::shared_ptr<Job>& job, int64_t begin, int64_t end);
  void substitute_failed_locked(Job& job);
  ShardGeometry geometry(int64_t start) const;
  const ShardGeometry& geometry_of_epoch(int64_t epoch) const;

  std::unique_ptr<BatchProducer> producer_;
  EngineOptions options_;
  std::vector<size_t> slot_bytes_;     // per output
  std::vector<size_t> region_offset_;  // per output: where its slots start in a buffer
  ShardGeometry whole_;                // a whole epoch on this rank
  std::shared_ptr<BatchPool> buffers_;
  int creator_pid_ = 0;  // the process whose threads these are
  std::atomic<int64_t> fault_sample_{-1};

  std::unique_ptr<LoaderLocks> sync_;
  // The position, guarded by the state lock.
  int64_t epoch_ = 0, start_ = 0, next_batch_ = 0;
  ShardGeometry current_;  // the epoch the position is in, from start_
  std::deque<std::shared_ptr<Job>> inflight_;
  int64_t num_skipped_ = 0;
  std::vector<int64_t> skipped_samples_;  // sorted, distinct
  std::unique_ptr<Timing> timing_;

  std::unique_ptr<ThreadPool> workers_;  // last member: destroyed (joined) first
};

}  // namespace nocopy
