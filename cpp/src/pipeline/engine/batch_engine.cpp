// BatchEngine: plans batches with its producer over the epoch's shard geometry, fills pooled
// buffers on the ThreadPool in chunks of slots, and hands them out in order.
#include "nocopy/pipeline/engine/batch_engine.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>

#include "internal/checked_math.hpp"
#include "nocopy/core/errors.hpp"
#include "pipeline/engine/chunked_job.hpp"

namespace nocopy {

namespace {

using Clock = std::chrono::steady_clock;

/// Most outputs a producer may declare (images and labels, x and y, ...).
constexpr size_t kMaxOutputs = 8;
/// Deliveries the recent rates are computed over.
constexpr size_t kRecentBatches = 64;

int64_t nanos_since(Clock::time_point t0, Clock::time_point t1) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count();
}

/// The engine's entries of a checkpoint (the producer's come first).
std::vector<CheckpointEntry> engine_key(const EngineOptions& o) {
  return {{"batch_size", o.batch_size},
          {"world_size", o.world_size},
          {"rank", o.rank},
          {"drop_last", o.drop_last}};
}

const CheckpointValue* find_entry(const std::vector<CheckpointEntry>& entries,
                                  const std::string& name) {
  for (const CheckpointEntry& e : entries) {
    if (e.name == name) return &e.value;
  }
  return nullptr;
}

/// Refuses a block that overlaps memory the producer reads: batches would overwrite it.
BlockCheck no_overlap_with(std::vector<ByteRange> sources, std::string kind) {
  return [sources = std::move(sources), kind = std::move(kind)](const void* block, size_t bytes) {
    const auto begin = reinterpret_cast<uintptr_t>(block);
    const ByteRange range{begin, begin + bytes};
    for (const ByteRange& s : sources) {
      if (s.overlaps(range)) {
        throw std::invalid_argument(
            "the allocator returned a batch buffer of " + std::to_string(bytes) +
            " bytes that overlaps the data this " + kind +
            " reads (its images, labels or "
            "sequences): batches would be written over it; the allocator must return new "
            "memory");
      }
    }
  };
}

}  // namespace

/// One batch being produced: its plan, its buffer, and the completion / error record.
struct BatchEngine::Job : ChunkedJob {
  int64_t epoch = 0, index = 0;
  std::unique_ptr<ProducerPlan> plan;
  std::shared_ptr<BatchBuffer> buffer;
  std::mutex error_mutex;
  int64_t error_pos = -1;  // slot of the first failing sample
  std::exception_ptr error;
  std::vector<int64_t> failed;  // on_error Skip: slots of every failing sample
  bool substituted = false;     // on_error Skip: failed slots filled (once, even on a retry)
  // The producer's finish_batch ran (once, even on a retry): set by the last chunk before `done`
  // or by the consumer after it.
  bool finished = false;
  std::atomic<int64_t> finished_ns{0};  // when its last chunk ended (clock ticks), for stats
};

/// The statistics the engine keeps: per-worker busy time (atomics, written by each worker for
/// itself) and the consumer's side (guarded by the state lock).
struct BatchEngine::Timing {
  struct Worker {
    std::atomic<int64_t> nanos[kNumStages] = {};
    std::atomic<int64_t> samples{0};
  };
  Clock::time_point created = Clock::now();
  std::vector<Worker> workers;
  int64_t batches = 0, samples = 0;
  int64_t consumer_wait_ns = 0, loader_idle_ns = 0, allocation_ns = 0;
  // The recent deliveries: when, and how many samples, in a ring.
  Clock::time_point recent_at[kRecentBatches];
  int64_t recent_samples[kRecentBatches] = {};
  size_t recent_next = 0, recent_count = 0;

  explicit Timing(size_t threads) : workers(threads) {}
};

BatchEngine::BatchEngine(std::unique_ptr<BatchProducer> producer, const EngineOptions& options)
    : producer_(std::move(producer)),
      options_(options),
      creator_pid_(static_cast<int>(getpid())),
      sync_(std::make_unique<LoaderLocks>()) {
  options_.validate();
  whole_ = geometry(0);
  if (whole_.num_batches() == 0) {
    const std::string noun = producer_->kind() == "SequenceLoader" ? "windows" : "samples";
    throw std::invalid_argument(
        "drop_last leaves no batch: " + std::to_string(producer_->epoch_size()) + " " + noun +
        " over world_size " + std::to_string(options_.world_size) + " give " +
        std::to_string(whole_.per_rank()) + " " + noun + " per rank, fewer than batch_size " +
        std::to_string(options_.batch_size));
  }
  current_ = whole_;
  const std::vector<SlotOutput>& outputs = producer_->outputs();
  if (outputs.empty() || outputs.size() > kMaxOutputs) {
    throw std::invalid_argument("a producer declares 1 to " + std::to_string(kMaxOutputs) +
                                " outputs, not " + std::to_string(outputs.size()));
  }
  // Sized by the largest batch that can occur (a batch_size above the samples per rank only
  // makes one smaller batch), each output's region 64-byte aligned, overflow-checked.
  const int64_t slots = std::min(options_.batch_size, whole_.per_rank());
  int64_t total = 0;
  for (const SlotOutput& o : outputs) {
    int64_t slot = static_cast<int64_t>(itemsize(o.dtype));
    for (int64_t d : o.shape) slot = checked_mul(slot, d, "batch slot size");
    const int64_t region = checked_mul(slot, slots, "batch size in bytes");
    total = checked_add(total, 63, "batch size in bytes");
    total = total / 64 * 64;
    region_offset_.push_back(static_cast<size_t>(total));
    slot_bytes_.push_back(static_cast<size_t>(slot));
    total = checked_add(total, region, "batch size in bytes");
  }
  AllocatorPtr allocator = options_.allocator ? options_.allocator : default_allocator();
  BlockCheck check;
  if (options_.allocator) {
    check = no_overlap_with(producer_->source_extents(), std::string(producer_->kind()));
  }
  // Spares cover the batches in flight plus a couple the consumer is still looking at.
  buffers_ =
      BatchPool::create(static_cast<size_t>(total), static_cast<size_t>(options_.prefetch) + 2,
                        std::move(allocator), std::move(check));
  const size_t threads = options_.num_threads ? static_cast<size_t>(*options_.num_threads) : 0;
  workers_ = std::make_unique<ThreadPool>(threads);
  timing_ = std::make_unique<Timing>(workers_->size());  // nothing can throw after this
}

BatchEngine::~BatchEngine() {
  if (leave_in_forked_child(creator_pid_, workers_, sync_)) return;  // the rest is freed
  {
    std::lock_guard<std::mutex> lock(sync_->state);
    cancel_locked();
  }
  workers_->stop();
}

void BatchEngine::stop_workers() {
  if (getpid() != creator_pid_) return;
  {
    std::lock_guard<std::mutex> lock(sync_->state);
    cancel_locked();
  }
  workers_->stop();
}

void BatchEngine::inject_fault_for_testing(int64_t sample) {
  fault_sample_.store(sample, std::memory_order_relaxed);
}

ShardGeometry BatchEngine::geometry(int64_t start) const {
  return ShardGeometry(producer_->epoch_size(), options_.batch_size, options_.world_size,
                       options_.rank, options_.drop_last, start);
}

const ShardGeometry& BatchEngine::geometry_of_epoch(int64_t epoch) const {
  return epoch == epoch_ ? current_ : whole_;
}

int64_t BatchEngine::current_batches() const {
  std::lock_guard<std::mutex> lock(sync_->state);
  return current_.num_batches();
}

LoaderState BatchEngine::state() const {
  std::lock_guard<std::mutex> lock(sync_->state);
  return {epoch_, next_batch_, start_};
}

int64_t BatchEngine::global_position() const {
  std::lock_guard<std::mutex> lock(sync_->state);
  return current_.position(next_batch_);
}

LoaderState BatchEngine::normalized_locked(LoaderState s) const {
  const int64_t n = s.epoch == epoch_ && s.start == start_ ? current_.num_batches()
                                                           : geometry(s.start).num_batches();
  if (s.batch == n && s.epoch < kMaxEpoch) return {s.epoch + 1, 0, 0};
  return s;
}

void BatchEngine::load_state(LoaderState s) {
  std::lock_guard<std::mutex> consumer(sync_->consumer);
  std::lock_guard<std::mutex> lock(sync_->state);
  if (s.epoch < 0 || s.epoch > kMaxEpoch) {
    throw std::invalid_argument("state epoch " + std::to_string(s.epoch) + " is not in [0, " +
                                std::to_string(kMaxEpoch) + "]");
  }
  const int64_t positions = producer_->epoch_size();
  if (s.start < 0 || s.start > positions) {
    throw std::invalid_argument("state start " + std::to_string(s.start) + " is not in [0, " +
                                std::to_string(positions) + "] (the positions of an epoch)");
  }
  ShardGeometry geo = geometry(s.start);
  if (s.batch < 0 || s.batch > geo.num_batches()) {
    throw std::invalid_argument("state batch " + std::to_string(s.batch) + " is not in [0, " +
                                std::to_string(geo.num_batches()) + "]");
  }
  // Batches in flight were planned for the positions after the current one: they stay when
  // the new position is the same stream position (an epoch's end is the next one's start).
  if (!(normalized_locked(s) == normalized_locked({epoch_, next_batch_, start_}))) cancel_locked();
  epoch_ = s.epoch;
  start_ = s.start;
  next_batch_ = s.batch;
  current_ = geo;
}

void BatchEngine::set_epoch(int64_t epoch) {
  load_state({epoch, 0, 0});
}

int64_t BatchEngine::begin_epoch() {
  std::lock_guard<std::mutex> consumer(sync_->consumer);
  std::lock_guard<std::mutex> lock(sync_->state);
  if (next_batch_ == current_.num_batches() && epoch_ < kMaxEpoch) advance_epoch_locked();
  return epoch_;
}

void BatchEngine::advance_epoch_locked() {
  if (epoch_ >= kMaxEpoch) {
    throw std::invalid_argument("the next epoch " + std::to_string(epoch_ + 1) + " is not in [0, " +
                                std::to_string(kMaxEpoch) + "]: epoch " + std::to_string(epoch_) +
                                " was the last one");
  }
  ++epoch_;
  start_ = 0;
  next_batch_ = 0;
  current_ = whole_;
}

std::vector<CheckpointEntry> BatchEngine::resume_key() const {
  std::vector<CheckpointEntry> key = producer_->resume_key();
  for (CheckpointEntry& e : engine_key(options_)) key.push_back(std::move(e));
  return key;
}

Checkpoint BatchEngine::checkpoint() const {
  Checkpoint c;
  c.kind = std::string(producer_->kind());
  {
    std::lock_guard<std::mutex> lock(sync_->state);
    c.epoch = epoch_;
    c.batch = next_batch_;
    c.start = start_;
    c.position = current_.position(next_batch_);
  }
  c.config = resume_key();
  return c;
}

void BatchEngine::restore(const Checkpoint& c) {
  const std::string kind(producer_->kind());
  if (c.kind != kind) {
    throw std::invalid_argument("the state is a " +
                                (c.kind.empty() ? "state without a kind" : c.kind) +
                                " state, not a " + kind +
                                " state; resume a loader from its own "
                                "kind's state_dict()");
  }
  const std::vector<CheckpointEntry> key = resume_key();
  for (const CheckpointEntry& given : c.config) {
    if (find_entry(key, given.name) == nullptr) {
      throw std::invalid_argument("the state has an entry '" + given.name + "' that a " + kind +
                                  " state does not have; it comes from another loader");
    }
  }
  auto saved = [&](const std::string& name) -> const CheckpointValue& {
    const CheckpointValue* v = find_entry(c.config, name);
    if (v == nullptr) {
      throw std::invalid_argument("the state has no '" + name + "'; a " + kind +
                                  " state_dict() has every entry of its configuration");
    }
    return *v;
  };
  const bool elastic = saved("world_size") != *find_entry(key, "world_size") ||
                       saved("batch_size") != *find_entry(key, "batch_size");
  for (const CheckpointEntry& mine : key) {
    const CheckpointValue& theirs = saved(mine.name);
    if (elastic &&
        (mine.name == "world_size" || mine.name == "batch_size" || mine.name == "rank")) {
      continue;  // a new sharding of what remains: only the position carries over
    }
    if (theirs != mine.value) {
      throw std::invalid_argument("the state was saved with " + mine.name + "=" +
                                  checkpoint_value_text(theirs) + " but this loader has " +
                                  mine.name + "=" + checkpoint_value_text(mine.value) +
                                  "; resuming would not reproduce its batches");
    }
  }
  if (elastic) {
    load_state({c.epoch, 0, c.position});
  } else {
    load_state({c.epoch, c.batch, c.start});
  }
}

std::unique_ptr<ProducerPlan> BatchEngine::plan(int64_t b) const {
  std::lock_guard<std::mutex> lock(sync_->state);
  return producer_->plan(epoch_, current_, b);
}

std::unique_ptr<ProducerPlan> BatchEngine::plan(int64_t b, int64_t epoch) const {
  std::lock_guard<std::mutex> lock(sync_->state);
  if (epoch < 0 || epoch > kMaxEpoch) {
    throw std::invalid_argument("epoch " + std::to_string(epoch) + " is not in [0, " +
                                std::to_string(kMaxEpoch) + "]");
  }
  const ShardGeometry& geo = geometry_of_epoch(epoch);
  geo.batch_len(b);  // range check before the producer computes anything
  return producer_->plan(epoch, geo, b);
}

void BatchEngine::cancel_locked() {
  cancel_jobs(inflight_);
}

void BatchEngine::fill_locked() {
  while (static_cast<int64_t>(inflight_.size()) < options_.prefetch) {
    // The stream position after the last job in flight (or the position itself): prefetching
    // goes on across the ends of epochs.
    int64_t e = epoch_, b = next_batch_;
    if (!inflight_.empty()) {
      e = inflight_.back()->epoch;
      b = inflight_.back()->index + 1;
    }
    if (b >= geometry_of_epoch(e).num_batches()) {
      if (e >= kMaxEpoch) break;
      ++e;
      b = 0;
    }
    auto job = std::make_shared<Job>();
    job->epoch = e;
    job->index = b;
    job->plan = producer_->plan(e, geometry_of_epoch(e), b);
    const Clock::time_point t0 = Clock::now();
    job->buffer = buffers_->acquire();
    timing_->allocation_ns += nanos_since(t0, Clock::now());
    queue_and_publish(*workers_, inflight_, job, job->plan->size,
                      [this, job](int64_t begin, int64_t end) { run_chunk(job, begin, end); });
  }
}

void BatchEngine::run_chunk(const std::shared_ptr<Job>& job, int64_t begin, int64_t end) {
  if (!job->cancelled.load(std::memory_order_relaxed)) {
    const Clock::time_point t0 = Clock::now();
    const BatchProducer& producer = *producer_;
    const ProducerPlan& plan = *job->plan;
    auto* base = static_cast<char*>(job->buffer->data());
    const size_t outputs = slot_bytes_.size();
    char* out[kMaxOutputs];
    const int64_t ahead = producer.prefetch_distance();
    for (int64_t k = begin; k < std::min(end, begin + ahead); ++k) producer.prefetch(plan, k);
    const int64_t fault = fault_sample_.load(std::memory_order_relaxed);
    for (int64_t k = begin; k < end; ++k) {
      if (ahead > 0 && k + ahead < end) producer.prefetch(plan, k + ahead);
      try {
        if (fault >= 0 && producer.sample_of(plan, k) == fault) {
          throw std::runtime_error("injected fault (inject_fault_for_testing)");
        }
        for (size_t o = 0; o < outputs; ++o) {
          out[o] = base + region_offset_[o] + static_cast<size_t>(k) * slot_bytes_[o];
        }
        producer.fill(plan, k, std::span<char* const>(out, outputs));
      } catch (...) {
        std::lock_guard<std::mutex> lock(job->error_mutex);
        if (job->error_pos < 0 || k < job->error_pos) {
          job->error_pos = k;
          job->error = std::current_exception();
        }
        if (options_.on_error == OnError::Raise) break;
        job->failed.push_back(k);  // the others of the chunk still run: they are substitutes
      }
    }
    const Clock::time_point t1 = Clock::now();
    const int w = ThreadPool::worker_index();
    if (w >= 0 && static_cast<size_t>(w) < timing_->workers.size()) {
      Timing::Worker& stats = timing_->workers[static_cast<size_t>(w)];
      stats.nanos[static_cast<int>(producer.fill_stage())].fetch_add(nanos_since(t0, t1),
                                                                     std::memory_order_relaxed);
      stats.samples.fetch_add(end - begin, std::memory_order_relaxed);
    }
    const int64_t ticks = t1.time_since_epoch().count();
    int64_t seen = job->finished_ns.load(std::memory_order_relaxed);
    while (seen < ticks &&
           !job->finished_ns.compare_exchange_weak(seen, ticks, std::memory_order_relaxed)) {
    }
  }
  finish_chunk(*job, *sync_, [&] {
    // The last chunk runs the batch-level work (MixUp / CutMix) here, in a worker, when every
    // slot was filled; after a failure the consumer does it once the substitutes are in.
    if (job->cancelled.load(std::memory_order_relaxed) || job->error_pos >= 0) return;
    char* regions[kMaxOutputs];
    auto* start = static_cast<char*>(job->buffer->data());
    for (size_t o = 0; o < slot_bytes_.size(); ++o) regions[o] = start + region_offset_[o];
    try {
      producer_->finish_batch(*job->plan, std::span<char* const>(regions, slot_bytes_.size()));
      job->finished = true;
    } catch (...) {  // left to the consumer, which reports it
    }
  });
}

void BatchEngine::substitute_failed_locked(Job& job) {
  std::vector<int64_t>& failed = job.failed;
  std::sort(failed.begin(), failed.end());
  const int64_t len = job.plan->size;
  auto* base = static_cast<char*>(job.buffer->data());
  auto is_failed = [&failed](int64_t k) {
    return std::binary_search(failed.begin(), failed.end(), k);
  };
  for (int64_t k : failed) {
    int64_t j = (k + 1) % len;
    while (is_failed(j)) j = (j + 1) % len;  // ends: some slot did not fail
    for (size_t o = 0; o < slot_bytes_.size(); ++o) {
      char* region = base + region_offset_[o];
      std::memcpy(region + static_cast<size_t>(k) * slot_bytes_[o],
                  region + static_cast<size_t>(j) * slot_bytes_[o], slot_bytes_[o]);
    }
    const int64_t sample = producer_->sample_of(*job.plan, k);
    auto at = std::lower_bound(skipped_samples_.begin(), skipped_samples_.end(), sample);
    if (at == skipped_samples_.end() || *at != sample) skipped_samples_.insert(at, sample);
  }
  num_skipped_ += static_cast<int64_t>(failed.size());
  job.substituted = true;
}

int64_t BatchEngine::num_skipped() const {
  std::lock_guard<std::mutex> lock(sync_->state);
  return num_skipped_;
}

std::vector<int64_t> BatchEngine::skipped_samples() const {
  std::lock_guard<std::mutex> lock(sync_->state);
  return skipped_samples_;
}

NextStatus BatchEngine::next(EngineBatch& out, std::optional<std::chrono::nanoseconds> timeout) {
  std::lock_guard<std::mutex> consumer(sync_->consumer);
  std::unique_lock<std::mutex> lock(sync_->state);
  // An epoch whose batches are all delivered (or that has none: a start past the last batch)
  // gives way to the next one now, when the next batch is asked for. Throws at kMaxEpoch.
  while (next_batch_ == current_.num_batches()) advance_epoch_locked();
  return deliver_locked(out, lock, timeout);
}

NextStatus BatchEngine::next_in_epoch(EngineBatch& out, int64_t epoch,
                                      std::optional<std::chrono::nanoseconds> timeout) {
  std::lock_guard<std::mutex> consumer(sync_->consumer);
  std::unique_lock<std::mutex> lock(sync_->state);
  if (epoch_ != epoch) return NextStatus::EpochEnd;
  if (next_batch_ == current_.num_batches()) {
    // The iteration over `epoch` ends here: the position moves on to the next epoch.
    if (epoch_ < kMaxEpoch) advance_epoch_locked();
    return NextStatus::EpochEnd;
  }
  return deliver_locked(out, lock, timeout);
}

NextStatus BatchEngine::deliver_locked(EngineBatch& out, std::unique_lock<std::mutex>& lock,
                                       std::optional<std::chrono::nanoseconds> timeout) {
  fill_locked();
  std::shared_ptr<Job> job = inflight_.front();
  Timing& timing = *timing_;
  const Clock::time_point asked = Clock::now();
  if (job->done.load(std::memory_order_acquire)) {
    // Every job in flight ready: the loader has been waiting for the consumer since the last
    // one finished.
    int64_t last = 0;
    bool all_done = true;
    for (const auto& j : inflight_) {
      all_done = all_done && j->done.load(std::memory_order_acquire);
      last = std::max(last, j->finished_ns.load(std::memory_order_relaxed));
    }
    const Clock::time_point finished{Clock::duration(last)};
    if (all_done && last > 0 && finished < asked)
      timing.loader_idle_ns += nanos_since(finished, asked);
  } else if (!wait_until_done(*job, lock, *sync_, timeout)) {
    timing.consumer_wait_ns += nanos_since(asked, Clock::now());
    return NextStatus::Timeout;
  }
  const Clock::time_point ready = Clock::now();
  timing.consumer_wait_ns += nanos_since(asked, ready);
  const int64_t len = job->plan->size;
  const bool substitute =
      options_.on_error == OnError::Skip && static_cast<int64_t>(job->failed.size()) < len;
  if (job->error_pos >= 0 && !substitute) {
    cancel_locked();  // the position stays at this batch: a retry fails the same way
    const int64_t sample = producer_->sample_of(*job->plan, job->error_pos);
    std::string why = "unknown error";
    try {
      std::rethrow_exception(job->error);
    } catch (const std::exception& e) {
      why = e.what();
    } catch (...) {
    }
    const std::string all = options_.on_error == OnError::Skip
                                ? " (on_error='skip': every sample of the batch failed, none "
                                  "can stand in)"
                                : "";
    throw LoaderError("loader worker failed on sample " + std::to_string(sample) + " (batch " +
                          std::to_string(job->index) + " of epoch " + std::to_string(job->epoch) +
                          ")" + all + ": " + why,
                      sample, job->index, job->epoch, job->error);
  }
  if (job->error_pos >= 0 && !job->substituted) substitute_failed_locked(*job);
  if (!job->finished) {
    // Batch-level work (MixUp, CutMix) on the complete batch, substitutes included.
    char* regions[kMaxOutputs];
    auto* start = static_cast<char*>(job->buffer->data());
    for (size_t o = 0; o < slot_bytes_.size(); ++o) regions[o] = start + region_offset_[o];
    producer_->finish_batch(*job->plan, std::span<char* const>(regions, slot_bytes_.size()));
    job->finished = true;
  }
  // The batch is built while its job is still first in line: if an allocation fails here, the
  // position and the jobs in flight are unchanged and the next call delivers the same batch.
  EngineBatch batch;
  const std::vector<SlotOutput>& outputs = producer_->outputs();
  batch.outputs.reserve(outputs.size());
  auto* base = static_cast<char*>(job->buffer->data());
  for (size_t o = 0; o < outputs.size(); ++o) {
    std::vector<int64_t> shape{len};
    shape.insert(shape.end(), outputs[o].shape.begin(), outputs[o].shape.end());
    batch.outputs.push_back(View::c_contiguous(base + region_offset_[o], outputs[o].dtype,
                                               std::move(shape), job->buffer));
  }
  batch.epoch = job->epoch;
  batch.index = job->index;
  inflight_.pop_front();
  out = std::move(batch);
  ++next_batch_;
  timing.batches += 1;
  timing.samples += len;
  timing.recent_at[timing.recent_next] = ready;
  timing.recent_samples[timing.recent_next] = len;
  timing.recent_next = (timing.recent_next + 1) % kRecentBatches;
  timing.recent_count = std::min(timing.recent_count + 1, kRecentBatches);
  // Refill for the batches after this one. A failure here (std::bad_alloc, a user allocator's
  // error) must not lose the batch being delivered: the next call retries it and reports it.
  try {
    fill_locked();
  } catch (const std::exception&) {
  }
  lock.unlock();
  producer_->after_batch(len);  // under the consumer lock only
  return NextStatus::Ready;
}

EngineStats BatchEngine::stats() const {
  EngineStats s;
  const Timing& t = *timing_;
  for (const Timing::Worker& w : t.workers) {
    WorkerStats ws;
    for (int k = 0; k < kNumStages; ++k) {
      ws.seconds[k] = static_cast<double>(w.nanos[k].load(std::memory_order_relaxed)) * 1e-9;
    }
    ws.samples = w.samples.load(std::memory_order_relaxed);
    s.workers.push_back(ws);
  }
  std::lock_guard<std::mutex> lock(sync_->state);
  const Clock::time_point now = Clock::now();
  s.elapsed_s = static_cast<double>(nanos_since(t.created, now)) * 1e-9;
  s.batches = t.batches;
  s.samples = t.samples;
  s.consumer_wait_s = static_cast<double>(t.consumer_wait_ns) * 1e-9;
  s.loader_idle_s = static_cast<double>(t.loader_idle_ns) * 1e-9;
  s.allocation_s = static_cast<double>(t.allocation_ns) * 1e-9;
  s.allocations = static_cast<int64_t>(buffers_->total_allocations());
  if (t.recent_count >= 2) {
    const size_t newest = (t.recent_next + kRecentBatches - 1) % kRecentBatches;
    const size_t oldest = (t.recent_next + kRecentBatches - t.recent_count) % kRecentBatches;
    const double span =
        static_cast<double>(nanos_since(t.recent_at[oldest], t.recent_at[newest])) * 1e-9;
    int64_t samples = 0;
    for (size_t i = 1; i < t.recent_count; ++i) {
      samples += t.recent_samples[(oldest + i) % kRecentBatches];
    }
    if (span > 0) {
      s.recent_batches_per_s = static_cast<double>(t.recent_count - 1) / span;
      s.recent_samples_per_s = static_cast<double>(samples) / span;
    }
  }
  return s;
}

}  // namespace nocopy
