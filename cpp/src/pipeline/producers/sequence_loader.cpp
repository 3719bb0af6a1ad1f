// SequenceLoader: plans batches with the SequenceSampler, gathers their windows on the
// ThreadPool in chunks, hands them out in order, and releases the mapped pages it has read.
#include "nocopy/pipeline/producers/sequence_loader.hpp"

#include <unistd.h>

#include <algorithm>
#include <stdexcept>
#include <string>

#include "internal/checked_math.hpp"
#include "nocopy/core/errors.hpp"
#include "nocopy/pipeline/kernels/sequence_gather.hpp"
#include "nocopy/storage/file_reader.hpp"
#include "nocopy/storage/mapped_file.hpp"
#include "pipeline/engine/chunked_job.hpp"

namespace nocopy {

/// One batch being produced: its plan, its buffer, and the completion / error record.
struct SequenceLoader::Job : ChunkedJob {
  int64_t epoch = 0, index = 0;
  SequencePlan plan;
  std::shared_ptr<BatchBuffer> buffer;
  std::mutex error_mutex;
  int64_t error_pos = -1;  // slot of the first failing window
  std::exception_ptr error;
};

namespace {

/// Resident bytes the loader lets its reads of mapped sources accumulate before it unmaps them.
constexpr int64_t kReleaseBytes = int64_t{32} << 20;
/// Mapped sources up to this size in all are read through their mappings and left resident:
/// their resident size is bounded by themselves, and copying from resident pages is the
/// fastest read (about twice pread's rate for 64 KiB windows here; docs/BENCHMARKS.md).
constexpr int64_t kResidentBytes = int64_t{256} << 20;
/// Windows read through a mapping are prefetched this many windows ahead, their first
/// kPrefetchBytes each (the hardware prefetcher follows a longer window once it has started).
/// Measured (docs/BENCHMARKS.md): 1.18x for 64 x 1024 token batches with one worker thread,
/// no change with two; 1.09x for the series batches.
constexpr int64_t kPrefetchWindows = 8;
constexpr size_t kPrefetchBytes = 4096;
/// Pages the kernel may map around a faulting one (fault-around, 64 KiB by default), each side.
constexpr int64_t kFaultAroundBytes = int64_t{64} << 10;

const SequenceOptions& validated(const SequenceOptions& o) {
  o.validate();
  return o;
}

std::vector<View> checked_sources(std::vector<View> sources, const SequenceOptions& o) {
  if (sources.empty()) throw std::invalid_argument("data is an empty list of sequences");
  const View& first = sources.front();
  for (size_t s = 0; s < sources.size(); ++s) {
    const View& v = sources[s];
    const std::string name = "sequence " + std::to_string(s);
    v.require_host(name.c_str());
    if (v.ndim() != 1 && v.ndim() != 2) {
      throw std::invalid_argument(name + " has shape " + format_tuple(v.shape()) +
                                  "; sequences are 1-D (tokens) or 2-D (steps, features)");
    }
    if (v.ndim() != first.ndim() || (v.ndim() == 2 && v.shape()[1] != first.shape()[1])) {
      throw std::invalid_argument(name + " has shape " + format_tuple(v.shape()) +
                                  " but sequence 0 has " + format_tuple(first.shape()) +
                                  "; every sequence needs the same number of features");
    }
    if (v.dtype() != first.dtype()) {
      throw std::invalid_argument(name + " has dtype " + std::string(dtype_name(v.dtype())) +
                                  " but sequence 0 has " + std::string(dtype_name(first.dtype())));
    }
  }
  const DType in = first.dtype();
  if (in == DType::Bool || is_complex(in)) {
    throw std::invalid_argument("data dtype " + std::string(dtype_name(in)) +
                                " is not supported (integer tokens or a real-valued series)");
  }
  if (first.ndim() == 2 && first.shape()[1] == 0) {
    throw std::invalid_argument("the series has shape " + format_tuple(first.shape()) +
                                ": no features");
  }
  if (is_floating(in) && !is_floating(o.dtype)) {
    throw std::invalid_argument("data dtype " + std::string(dtype_name(in)) +
                                " is not an integer type, so it cannot be loaded as integer "
                                "dtype " +
                                std::string(dtype_name(o.dtype)) +
                                " (tokens must be integers); pass dtype='float32'");
  }
  return sources;
}

std::vector<int64_t> lengths_of(const std::vector<View>& sources) {
  std::vector<int64_t> out;
  out.reserve(sources.size());
  for (const View& v : sources) out.push_back(v.shape()[0]);
  return out;
}

size_t round_up_64(size_t n) {
  return (n + 63) / 64 * 64;
}

}  // namespace

SequenceLoader::SequenceLoader(std::vector<View> sources, const SequenceOptions& options)
    : options_(validated(options)),
      sources_(checked_sources(std::move(sources), options_)),
      lengths_(lengths_of(sources_)),
      creator_pid_(static_cast<int>(getpid())),
      sync_(std::make_unique<LoaderLocks>()),
      sampler_(lengths_, options_) {
  const View& first = sources_.front();
  if (first.ndim() == 2) sample_tail_ = {first.shape()[1]};
  const int64_t features = first.ndim() == 2 ? first.shape()[1] : 1;
  check_range_ = needs_range_check(first.dtype(), options_.dtype);
  const auto out_item = static_cast<int64_t>(itemsize(options_.dtype));
  const int64_t x_slot =
      checked_mul(checked_mul(options_.seq_len, features, "window size"), out_item, "window bytes");
  const int64_t y_slot = checked_mul(checked_mul(options_.target_len(), features, "target size"),
                                     out_item, "target bytes");
  x_slot_bytes_ = static_cast<size_t>(x_slot);
  y_slot_bytes_ = static_cast<size_t>(y_slot);
  // Sized by the largest batch that can occur: a batch_size above the windows per rank only
  // makes one smaller batch.
  const int64_t slots =
      std::max<int64_t>(1, std::min(options_.batch_size, sampler_.epoch_samples_per_rank()));
  const int64_t x_bytes = checked_mul(x_slot, slots, "batch bytes");
  const int64_t y_bytes = checked_mul(y_slot, slots, "batch target bytes");
  y_offset_ = round_up_64(static_cast<size_t>(x_bytes));
  const int64_t total = checked_add(static_cast<int64_t>(y_offset_), y_bytes, "batch bytes");
  buffers_ =
      BatchPool::create(static_cast<size_t>(total), static_cast<size_t>(options_.prefetch) + 2,
                        options_.allocator ? options_.allocator : default_allocator());
  const int64_t in_item = static_cast<int64_t>(first.itemsize());
  window_cost_ = checked_add(checked_mul(checked_mul(sampler_.window_steps(), features, "window"),
                                         in_item, "window bytes"),
                             2 * kFaultAroundBytes, "window bytes");
  mapped_.assign(sources_.size(), 0);
  readers_.resize(sources_.size());
  int64_t mapped_bytes = 0;
  for (const View& v : sources_) {
    if (dynamic_cast<const MappedRegion*>(v.owner().get()) != nullptr) {
      mapped_bytes = checked_add(mapped_bytes, static_cast<int64_t>(v.nbytes()), "data bytes");
    }
  }
  const bool stay_resident = mapped_bytes <= kResidentBytes;
  for (size_t s = 0; s < sources_.size(); ++s) {
    const auto* region = dynamic_cast<const MappedRegion*>(sources_[s].owner().get());
    if (region == nullptr || sources_[s].nbytes() == 0) continue;
    // Larger data: a file (or shared-array segment) mapping whose windows are contiguous is read
    // with pread (no page faults, no page of the mapping resident; faster than faulting released
    // pages back in).
    if (!stay_resident && sources_[s].is_c_contiguous()) {
      readers_[s] = FileReader::open_for(sources_[s]);
      if (readers_[s]) continue;
    }
    // Random windows: no read-ahead around each one (it dominates reads of uncached files).
    advise(sources_[s], Advice::Random);
    // Pages read from larger data are unmapped again (not on copy-on-write mappings, where
    // DONTNEED would drop private writes).
    mapped_[s] = !stay_resident && region->mode() != MapMode::CopyOnWrite;
  }
  const auto rows = static_cast<size_t>(sampler_.window_steps());
  scratch_bytes_ = rows * static_cast<size_t>(features) * static_cast<size_t>(in_item);
  workers_ = std::make_unique<ThreadPool>(options_.num_threads);  // last: nothing can throw after
}

SequenceLoader::~SequenceLoader() {
  if (leave_in_forked_child(creator_pid_, workers_, sync_)) return;  // the rest is freed
  {
    std::lock_guard<std::mutex> lock(sync_->state);
    cancel_locked();
  }
  workers_->stop();
}

LoaderState SequenceLoader::state() const {
  std::lock_guard<std::mutex> lock(sync_->state);
  return {sampler_.epoch(), next_batch_, sampler_.start()};
}

int64_t SequenceLoader::global_position() const {
  std::lock_guard<std::mutex> lock(sync_->state);
  return sampler_.position(next_batch_);
}

int64_t SequenceLoader::state_epoch_batches() const {
  std::lock_guard<std::mutex> lock(sync_->state);
  return sampler_.num_batches();
}

void SequenceLoader::load_state(LoaderState s) {
  std::lock_guard<std::mutex> consumer(sync_->consumer);
  std::lock_guard<std::mutex> lock(sync_->state);
  if (s.epoch < 0 || s.epoch > kMaxEpoch) {
    throw std::invalid_argument("state epoch " + std::to_string(s.epoch) + " is not in [0, " +
                                std::to_string(kMaxEpoch) + "]");
  }
  const int64_t windows = sampler_.windows_per_epoch();
  if (s.start < 0 || s.start > windows) {
    throw std::invalid_argument("state start " + std::to_string(s.start) +
                                " is not in [0, windows_per_epoch=" + std::to_string(windows) +
                                "]");
  }
  const int64_t n = sampler_.batches_from(s.start);
  if (s.batch < 0 || s.batch > n) {
    throw std::invalid_argument("state batch " + std::to_string(s.batch) + " is not in [0, " +
                                std::to_string(n) + "]");
  }
  cancel_locked();
  // The end of an epoch (also a start with no batch left: drop_last trimmed the rest) is the
  // start of the next one, as after an epoch's last batch.
  if (s.batch == n && (n > 0 || s.start > 0) && s.epoch < kMaxEpoch) {
    s.epoch += 1;
    s.batch = 0;
    s.start = 0;
  }
  sampler_.set_epoch(s.epoch, s.start);
  next_batch_ = s.batch;
}

void SequenceLoader::set_epoch(int64_t epoch) {
  load_state({epoch, 0, 0});
}

SequencePlan SequenceLoader::plan(int64_t b) const {
  std::lock_guard<std::mutex> lock(sync_->state);
  return sampler_.plan(b);
}

void SequenceLoader::cancel_locked() {
  cancel_jobs(inflight_);
}

void SequenceLoader::fill_locked() {
  const int64_t n = sampler_.num_batches();
  while (static_cast<int64_t>(inflight_.size()) < options_.prefetch) {
    const int64_t b = next_batch_ + static_cast<int64_t>(inflight_.size());
    if (b >= n) break;
    auto job = std::make_shared<Job>();
    job->epoch = sampler_.epoch();
    job->index = b;
    job->plan = sampler_.plan(b);
    job->buffer = buffers_->acquire();
    const auto len = static_cast<int64_t>(job->plan.starts.size());
    queue_and_publish(*workers_, inflight_, job, len,
                      [this, job](int64_t begin, int64_t end) { run_chunk(job, begin, end); });
  }
}

void SequenceLoader::gather_window(size_t s, int64_t start, char* x, char* y,
                                   std::unique_ptr<char[]>& scratch) const {
  const int64_t len = options_.seq_len;
  const int64_t y_start = options_.targets == SequenceTargets::Next ? 1 : len;
  const bool with_y = options_.targets != SequenceTargets::None;
  const View& src = sources_[s];
  const auto index = static_cast<int64_t>(s);
  const FileReader* file = readers_[s].get();
  if (file == nullptr) {
    const RowSpan w = source_rows(src, index, start, sampler_.window_steps());
    convert_rows(w.sub(0, len), index, start, options_.dtype, check_range_, x);
    if (with_y) {
      convert_rows(w.sub(y_start, options_.target_len()), index, start + y_start, options_.dtype,
                   check_range_, y);
    }
    return;
  }
  // pread: straight into the slots when nothing is converted, else the window once into
  // scratch and converted from there.
  const RowSpan w = source_rows(src, index, start, sampler_.window_steps());
  const auto row_bytes = static_cast<int64_t>(src.itemsize()) * w.cols;
  const int64_t offset = static_cast<const char*>(w.first) - static_cast<const char*>(src.data());
  if (src.dtype() == options_.dtype && !check_range_) {
    file->read(x, static_cast<size_t>(len * row_bytes), offset);
    if (with_y) {
      file->read(y, static_cast<size_t>(options_.target_len() * row_bytes),
                 offset + y_start * row_bytes);
    }
    return;
  }
  if (!scratch) scratch = std::make_unique<char[]>(scratch_bytes_);
  file->read(scratch.get(), static_cast<size_t>(w.rows * row_bytes), offset);
  RowSpan copy = w;
  copy.first = scratch.get();
  copy.row_stride = w.cols;
  convert_rows(copy.sub(0, len), index, start, options_.dtype, check_range_, x);
  if (with_y) {
    convert_rows(copy.sub(y_start, options_.target_len()), index, start + y_start, options_.dtype,
                 check_range_, y);
  }
}

void SequenceLoader::prefetch_window(size_t s, int64_t start) const noexcept {
  if (readers_[s]) return;  // read with pread: nothing of the mapping to load
  const View& src = sources_[s];
  const int64_t rows = sampler_.window_steps();
  if (!rows_inside(src, start, rows)) return;  // gather_window reports it
  prefetch_rows(all_rows(src).sub(start, rows), kPrefetchBytes);
}

void SequenceLoader::run_chunk(const std::shared_ptr<Job>& job, int64_t begin, int64_t end) {
  if (!job->cancelled.load(std::memory_order_relaxed)) {
    auto* base = static_cast<char*>(job->buffer->data());
    const SequencePlan& p = job->plan;
    std::unique_ptr<char[]> scratch;
    auto prefetch = [&](int64_t k) {
      const auto slot = static_cast<size_t>(k);
      prefetch_window(static_cast<size_t>(p.sources[slot]), p.starts[slot]);
    };
    for (int64_t k = begin; k < std::min(end, begin + kPrefetchWindows); ++k) prefetch(k);
    for (int64_t k = begin; k < end; ++k) {
      if (k + kPrefetchWindows < end) prefetch(k + kPrefetchWindows);
      try {
        const auto slot = static_cast<size_t>(k);
        gather_window(static_cast<size_t>(p.sources[slot]), p.starts[slot],
                      base + slot * x_slot_bytes_, base + y_offset_ + slot * y_slot_bytes_,
                      scratch);
      } catch (...) {
        std::lock_guard<std::mutex> lock(job->error_mutex);
        if (job->error_pos < 0 || k < job->error_pos) {
          job->error_pos = k;
          job->error = std::current_exception();
        }
        break;
      }
    }
  }
  finish_chunk(*job, sync_->state, sync_->job_done);
}

void SequenceLoader::release_pages(int64_t batch_windows) {
  unreleased_bytes_ += batch_windows * window_cost_;
  if (unreleased_bytes_ < kReleaseBytes) return;
  unreleased_bytes_ = 0;
  // The pages stay in the page cache: a later read maps them again without I/O.
  for (size_t s = 0; s < sources_.size(); ++s) {
    if (mapped_[s]) advise(sources_[s], Advice::DontNeed);
  }
}

void SequenceLoader::advance_epoch_locked() {
  sampler_.set_epoch(sampler_.epoch() + 1);
  next_batch_ = 0;
}

NextStatus SequenceLoader::next(SequenceBatch& out,
                                std::optional<std::chrono::nanoseconds> timeout) {
  std::lock_guard<std::mutex> consumer(sync_->consumer);
  std::unique_lock<std::mutex> lock(sync_->state);
  if (sampler_.num_batches() == 0) {
    throw std::out_of_range("the sequence loader has no batches (windows per rank " +
                            std::to_string(sampler_.epoch_samples_per_rank()) + ", batch_size " +
                            std::to_string(options_.batch_size) + ", drop_last)");
  }
  if (next_batch_ == sampler_.num_batches()) advance_epoch_locked();  // a failed earlier move
  fill_locked();
  std::shared_ptr<Job> job = inflight_.front();
  if (!wait_until_done(*job, lock, sync_->job_done, timeout)) return NextStatus::Timeout;
  if (job->error_pos >= 0) {
    cancel_locked();  // the position stays at this batch: a retry fails the same way
    std::rethrow_exception(job->error);
  }
  // The batch is built while its job is still first in line: if an allocation fails here, the
  // position and the jobs in flight are unchanged and the next call delivers the same batch.
  const auto len = static_cast<int64_t>(job->plan.starts.size());
  auto shape = [&](int64_t steps) {
    std::vector<int64_t> s{len, steps};
    s.insert(s.end(), sample_tail_.begin(), sample_tail_.end());
    return s;
  };
  SequenceBatch batch;
  batch.x =
      View::c_contiguous(job->buffer->data(), options_.dtype, shape(options_.seq_len), job->buffer);
  if (options_.targets != SequenceTargets::None) {
    batch.y = View::c_contiguous(static_cast<char*>(job->buffer->data()) + y_offset_,
                                 options_.dtype, shape(options_.target_len()), job->buffer);
  }
  batch.epoch = job->epoch;
  batch.index = job->index;
  inflight_.pop_front();
  out = std::move(batch);
  if (++next_batch_ == sampler_.num_batches()) {
    inflight_.clear();
    // The batch is delivered even if the next epoch cannot start (kMaxEpoch): the next call
    // retries the move and reports it.
    try {
      advance_epoch_locked();
    } catch (const std::exception&) {
    }
  } else {
    // A failed refill (std::bad_alloc, an error of a user allocator) must not lose the batch
    // being delivered: the next call retries it and reports the error.
    try {
      fill_locked();
    } catch (const std::exception&) {
    }
  }
  lock.unlock();
  release_pages(len);
  return NextStatus::Ready;
}

}  // namespace nocopy
