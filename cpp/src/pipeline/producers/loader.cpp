// Loader: plans batches with the Sampler, fills pooled buffers on the ThreadPool in chunks of
// samples, and hands them out in order.
#include "nocopy/pipeline/producers/loader.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "internal/checked_math.hpp"
#include "nocopy/core/errors.hpp"
#include "nocopy/pipeline/codecs/jpeg_sample.hpp"
#include "pipeline/engine/chunked_job.hpp"

namespace nocopy {

/// One batch being produced: its plan, its buffers, and the completion / error record.
struct Loader::Job : ChunkedJob {
  int64_t epoch = 0, index = 0;
  BatchPlan plan;
  std::shared_ptr<BatchBuffer> buffer;
  std::optional<View> labels;
  std::mutex error_mutex;
  int64_t error_pos = -1;  // position in the batch of the first failing sample
  std::string error;
  std::vector<int64_t> failed;  // on_error Skip: positions of every failing sample
  bool substituted = false;     // on_error Skip: failed slots filled (once, even on a retry)
};

Loader::Loader(View images, std::optional<View> labels, const LoaderOptions& options)
    : Loader(ImageSource(std::move(images)), std::move(labels), options) {}

Loader::Loader(ImageSource images, std::optional<View> labels, const LoaderOptions& options)
    : options_(options),
      config_(resolve_loader_options(options, images, labels)),
      images_(std::move(images)),
      labels_(std::move(labels)),
      sampler_(config_.sampler),
      transform_(images_.view(), config_.transform),
      creator_pid_(static_cast<int>(getpid())),
      sync_(std::make_unique<LoaderLocks>()) {
  if (sampler_.epoch_batches() == 0) {
    const SamplerConfig& s = sampler_.config();
    throw std::invalid_argument("drop_last leaves no batch: " + std::to_string(s.num_samples) +
                                " samples over world_size " + std::to_string(s.world_size) +
                                " give " + std::to_string(sampler_.samples_per_rank()) +
                                " samples per rank, fewer than batch_size " +
                                std::to_string(s.batch_size));
  }
  if (labels_) {
    label_shape_.assign(labels_->shape().begin() + 1, labels_->shape().end());
    int64_t n = static_cast<int64_t>(labels_->itemsize());
    for (int64_t d : label_shape_) n = checked_mul(n, d, "label size");
    label_bytes_ = static_cast<size_t>(n);
  }
  // Sized by the largest batch that can occur (a batch_size above the samples per rank only
  // makes one smaller batch), overflow-checked.
  const int64_t batch_bytes = checked_mul(static_cast<int64_t>(transform_.sample_bytes()),
                                          sampler_.max_batch_len(), "loader batch size in bytes");
  // Spares cover the batches in flight plus a couple the consumer is still looking at.
  buffers_ =
      BatchPool::create(static_cast<size_t>(batch_bytes), static_cast<size_t>(config_.prefetch) + 2,
                        options_.allocator ? options_.allocator : default_allocator());
  workers_ = std::make_unique<ThreadPool>(config_.num_threads);  // last: nothing can throw after
}

Loader::~Loader() {
  if (leave_in_forked_child(creator_pid_, workers_, sync_)) return;  // the rest is freed
  {
    std::lock_guard<std::mutex> lock(sync_->state);
    cancel_locked();
  }
  workers_->stop();
}

void inject_loader_fault_for_testing(Loader& loader, int64_t sample) {
  loader.fault_sample_.store(sample, std::memory_order_relaxed);
}

int64_t Loader::num_batches() const {
  return sampler_.epoch_batches();
}
int64_t Loader::samples_per_rank() const {
  return sampler_.epoch_samples_per_rank();
}

int64_t Loader::state_epoch_batches() const {
  std::lock_guard<std::mutex> lock(sync_->state);
  if (next_batch_ == sampler_.num_batches()) return sampler_.epoch_batches();  // the next epoch
  return sampler_.num_batches();
}

LoaderState Loader::state() const {
  std::lock_guard<std::mutex> lock(sync_->state);
  if (next_batch_ == sampler_.num_batches() && sampler_.epoch() < kMaxEpoch) {
    return {sampler_.epoch() + 1, 0, 0};  // the epoch is delivered: the next batch starts the next
  }
  return {sampler_.epoch(), next_batch_, sampler_.start()};
}

int64_t Loader::global_position() const {
  std::lock_guard<std::mutex> lock(sync_->state);
  if (next_batch_ == sampler_.num_batches() && sampler_.epoch() < kMaxEpoch) return 0;
  return sampler_.position(next_batch_);
}

void Loader::load_state(LoaderState s) {
  std::lock_guard<std::mutex> consumer(sync_->consumer);
  std::lock_guard<std::mutex> lock(sync_->state);
  if (s.epoch < 0 || s.epoch > kMaxEpoch) {
    throw std::invalid_argument("state epoch " + std::to_string(s.epoch) + " is not in [0, " +
                                std::to_string(kMaxEpoch) + "]");
  }
  const int64_t samples = sampler_.config().num_samples;
  if (s.start < 0 || s.start > samples) {
    throw std::invalid_argument("state start " + std::to_string(s.start) +
                                " is not in [0, num_samples=" + std::to_string(samples) + "]");
  }
  const int64_t n = sampler_.batches_from(s.start);
  if (s.batch < 0 || s.batch > n) {
    throw std::invalid_argument("state batch " + std::to_string(s.batch) + " is not in [0, " +
                                std::to_string(n) + "]");
  }
  // An epoch's end (also a start with no batch left: drop_last trimmed the rest) stays lazy, as
  // after its last batch: the next call to next() moves on to the next epoch.
  sampler_.set_epoch(s.epoch, s.start);
  cancel_locked();
  next_batch_ = s.batch;
}

void Loader::set_epoch(int64_t epoch) {
  load_state({epoch, 0, 0});
}

BatchPlan Loader::plan(int64_t b) const {
  std::lock_guard<std::mutex> lock(sync_->state);
  return sampler_.plan(b);
}

BatchPlan Loader::plan(int64_t b, int64_t epoch) const {
  std::lock_guard<std::mutex> lock(sync_->state);
  return sampler_.plan(b, epoch);
}

void Loader::cancel_locked() {
  cancel_jobs(inflight_);
}

void Loader::fill_locked() {
  const int64_t n = sampler_.num_batches();
  while (static_cast<int64_t>(inflight_.size()) < config_.prefetch) {
    const int64_t b = next_batch_ + static_cast<int64_t>(inflight_.size());
    if (b >= n) break;
    auto job = std::make_shared<Job>();
    job->epoch = sampler_.epoch();
    job->index = b;
    job->plan = sampler_.plan(b);
    job->buffer = buffers_->acquire();
    const auto len = static_cast<int64_t>(job->plan.indices.size());
    if (labels_) {
      std::vector<int64_t> shape{len};
      shape.insert(shape.end(), label_shape_.begin(), label_shape_.end());
      job->labels = View::empty(labels_->dtype(), shape);
    }
    queue_and_publish(*workers_, inflight_, job, len,
                      [this, job](int64_t begin, int64_t end) { run_chunk(job, begin, end); });
  }
}

void Loader::gather_label(int64_t sample, char* dst) const {
  const View& l = *labels_;
  const auto item = static_cast<int64_t>(l.itemsize());
  const char* base = static_cast<const char*>(l.data()) + sample * l.strides()[0] * item;
  const size_t nd = label_shape_.size();
  int64_t total = 1;
  for (int64_t d : label_shape_) total *= d;
  std::vector<int64_t> idx(nd, 0);
  for (int64_t e = 0; e < total; ++e) {
    int64_t off = 0;
    for (size_t i = 0; i < nd; ++i) off += idx[i] * l.strides()[i + 1];
    std::memcpy(dst + e * item, base + off * item, static_cast<size_t>(item));
    for (size_t i = nd; i-- > 0;) {  // odometer over the label's own axes
      if (++idx[i] < label_shape_[i]) break;
      idx[i] = 0;
    }
  }
}

void Loader::resample_sample(const BatchPlan& p, int64_t k, void* out) const {
  // Scratch of this worker thread, reused by every sample it resizes: no allocation per sample
  // once it has seen the largest window.
  static thread_local ResizeScratch scratch;
  const int64_t n = p.indices[k];
  const SamplerConfig& s = config_.sampler;
  const ResizeGeometry g =
      window_geometry(s.crop_mode, s.crop_h, s.crop_w, s.resize, p.top[k], p.left[k], p.height[k],
                      p.width[k], p.mirror[k] != 0, config_.interpolation);
  const ResizeOutput o{out, options_.dtype, options_.layout == Layout::CHW,
                       transform_.multipliers().data(), transform_.offsets().data()};
  if (const auto& jpeg = images_.jpeg_set()) {
    // Decode only the window's rows and iMCU columns, then resample it: one fused pass.
    static thread_local JpegSampleScratch jpeg_scratch;
    decode_resample_window(jpeg->encoded_data(n), jpeg->encoded_size(n), jpeg->height(n),
                           jpeg->width(n), g, o, options_.decode_scale, jpeg_scratch);
    return;
  }
  resample_window(images_.image(n), g, o, scratch);
}

void Loader::run_chunk(const std::shared_ptr<Job>& job, int64_t begin, int64_t end) {
  if (!job->cancelled.load(std::memory_order_relaxed)) {
    auto* out = static_cast<char*>(job->buffer->data());
    char* labels_out = job->labels ? static_cast<char*>(job->labels->data()) : nullptr;
    const BatchPlan& p = job->plan;
    for (int64_t k = begin; k < end; ++k) {
      try {
        if (p.indices[k] == fault_sample_.load(std::memory_order_relaxed)) {
          throw std::runtime_error("injected fault (inject_loader_fault_for_testing)");
        }
        char* slot = out + static_cast<size_t>(k) * transform_.sample_bytes();
        if (config_.resample) {
          resample_sample(p, k, slot);
        } else {
          transform_.apply(p.indices[k], p.top[k], p.left[k], p.mirror[k] != 0, slot);
        }
        if (labels_out)
          gather_label(p.indices[k], labels_out + static_cast<size_t>(k) * label_bytes_);
      } catch (const std::exception& e) {
        std::lock_guard<std::mutex> lock(job->error_mutex);
        if (job->error_pos < 0 || k < job->error_pos) {
          job->error_pos = k;
          job->error = e.what();
        }
        if (options_.on_error == OnError::Raise) break;
        job->failed.push_back(k);  // the others of the chunk still run: they are substitutes
      }
    }
  }
  finish_chunk(*job, sync_->state, sync_->job_done);
}

void Loader::substitute_failed_locked(Job& job) {
  std::vector<int64_t>& failed = job.failed;
  std::sort(failed.begin(), failed.end());
  const auto len = static_cast<int64_t>(job.plan.indices.size());
  const size_t bytes = transform_.sample_bytes();
  auto* images = static_cast<char*>(job.buffer->data());
  char* labels = job.labels ? static_cast<char*>(job.labels->data()) : nullptr;
  auto is_failed = [&failed](int64_t k) {
    return std::binary_search(failed.begin(), failed.end(), k);
  };
  for (int64_t k : failed) {
    int64_t j = (k + 1) % len;
    while (is_failed(j)) j = (j + 1) % len;  // ends: some slot did not fail
    std::memcpy(images + static_cast<size_t>(k) * bytes, images + static_cast<size_t>(j) * bytes,
                bytes);
    if (labels) {
      std::memcpy(labels + static_cast<size_t>(k) * label_bytes_,
                  labels + static_cast<size_t>(j) * label_bytes_, label_bytes_);
    }
    const int64_t sample = job.plan.indices[k];
    auto at = std::lower_bound(skipped_samples_.begin(), skipped_samples_.end(), sample);
    if (at == skipped_samples_.end() || *at != sample) skipped_samples_.insert(at, sample);
  }
  num_skipped_ += static_cast<int64_t>(failed.size());
  job.substituted = true;
}

int64_t Loader::num_skipped() const {
  std::lock_guard<std::mutex> lock(sync_->state);
  return num_skipped_;
}

std::vector<int64_t> Loader::skipped_samples() const {
  std::lock_guard<std::mutex> lock(sync_->state);
  return skipped_samples_;
}

NextStatus Loader::next(Batch& out, std::optional<std::chrono::nanoseconds> timeout) {
  std::lock_guard<std::mutex> consumer(sync_->consumer);
  std::unique_lock<std::mutex> lock(sync_->state);
  const int64_t n = sampler_.num_batches();
  if (next_batch_ == n) {
    // The previous call delivered an epoch's last batch: move on now, not then, so that plan(b)
    // described that epoch until the next batch was asked for. Throws at kMaxEpoch.
    sampler_.set_epoch(sampler_.epoch() + 1);
    next_batch_ = 0;
  }
  fill_locked();
  std::shared_ptr<Job> job = inflight_.front();
  if (!wait_until_done(*job, lock, sync_->job_done, timeout)) return NextStatus::Timeout;
  const bool substitute =
      options_.on_error == OnError::Skip && job->failed.size() < job->plan.indices.size();
  if (job->error_pos >= 0 && !substitute) {
    cancel_locked();  // the position stays at this batch: a retry fails the same way
    const int64_t sample = job->plan.indices[job->error_pos];
    const std::string all = options_.on_error == OnError::Skip
                                ? " (on_error='skip': every sample of the batch failed, none "
                                  "can stand in)"
                                : "";
    throw LoaderError("loader worker failed on sample " + std::to_string(sample) + " (batch " +
                          std::to_string(job->index) + " of epoch " + std::to_string(job->epoch) +
                          ")" + all + ": " + job->error,
                      sample, job->index, job->epoch);
  }
  if (job->error_pos >= 0 && !job->substituted) substitute_failed_locked(*job);
  // The batch is built while its job is still first in line: if an allocation fails here, the
  // position and the jobs in flight are unchanged and the next call delivers the same batch.
  Batch batch;
  const auto len = static_cast<int64_t>(job->plan.indices.size());
  std::vector<int64_t> shape{len};
  shape.insert(shape.end(), config_.sample_shape.begin(), config_.sample_shape.end());
  batch.images =
      View::c_contiguous(job->buffer->data(), options_.dtype, std::move(shape), job->buffer);
  batch.labels = job->labels;
  batch.epoch = job->epoch;
  batch.index = job->index;
  inflight_.pop_front();
  out = std::move(batch);
  ++next_batch_;
  // Refill for the batches after this one; the next epoch's work starts at the next call (after
  // a possible set_epoch), so nothing is wasted. A failure here (std::bad_alloc) must not lose
  // the batch being delivered: the next call retries the refill and reports it.
  try {
    fill_locked();
  } catch (const std::exception&) {
  }
  return NextStatus::Ready;
}

}  // namespace nocopy
