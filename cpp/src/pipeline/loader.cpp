// Loader: plans batches with the Sampler, fills pooled buffers on the ThreadPool in chunks of
// samples, and hands them out in order.
#include "nocopy/pipeline/loader.hpp"

#include <algorithm>
#include <cstring>

#include "internal/checked_math.hpp"
#include "nocopy/core/errors.hpp"

namespace nocopy {

/// One batch being produced: its plan, its buffers, and the completion / error record.
struct Loader::Job {
  int64_t epoch = 0, index = 0;
  BatchPlan plan;
  std::shared_ptr<BatchBuffer> buffer;
  std::optional<View> labels;
  std::atomic<int64_t> remaining{0};  // chunks not finished
  std::atomic<bool> cancelled{false};
  bool done = false;  // guarded by Loader::mutex_
  std::mutex error_mutex;
  int64_t error_pos = -1;  // position in the batch of the first failing sample
  std::string error;
};

namespace {

SamplerConfig sampler_config(const View& images, const LoaderOptions& o) {
  if (images.ndim() != 4) {
    throw std::invalid_argument("images must have shape (N, H, W, C); got " +
                                std::to_string(images.ndim()) + " dimensions " +
                                format_tuple(images.shape()));
  }
  SamplerConfig c;
  c.num_samples = images.shape()[0];
  c.batch_size = o.batch_size;
  c.shuffle = o.shuffle;
  c.seed = o.seed;
  c.drop_last = o.drop_last;
  c.rank = o.rank;
  c.world_size = o.world_size;
  c.image_h = images.shape()[1];
  c.image_w = images.shape()[2];
  c.crop_h = o.crop_h;
  c.crop_w = o.crop_w;
  c.crop_mode = o.crop_mode;
  c.mirror = o.mirror;
  return c;
}

TransformSpec transform_spec(const LoaderOptions& o) {
  TransformSpec s;
  s.crop_h = o.crop_h;
  s.crop_w = o.crop_w;
  s.layout = o.layout;
  s.dtype = o.dtype;
  s.scale = o.scale;
  s.mean = o.mean;
  s.std = o.std;
  return s;
}

/// Validates what the sampler and transform do not, before anything is allocated.
const View& checked_images(const View& images, const LoaderOptions& o) {
  images.require_host("loader images");
  if (o.prefetch < 1) {
    throw std::invalid_argument("prefetch " + std::to_string(o.prefetch) + " must be >= 1");
  }
  if (o.num_threads > 1024) {
    throw std::invalid_argument("num_threads " + std::to_string(o.num_threads) +
                                " is above the limit 1024");
  }
  sampler_config(images, o);  // shape check with the loader's message
  return images;
}

}  // namespace

Loader::Loader(View images, std::optional<View> labels, const LoaderOptions& options)
    : options_(options),
      images_(checked_images(images, options)),
      labels_(std::move(labels)),
      transform_(images_, transform_spec(options)),
      sampler_(sampler_config(images_, options)),
      pool_(options.num_threads) {
  const int64_t C = images_.shape()[3];
  sample_shape_ = options_.layout == Layout::CHW
                      ? std::vector<int64_t>{C, options_.crop_h, options_.crop_w}
                      : std::vector<int64_t>{options_.crop_h, options_.crop_w, C};
  if (labels_) {
    labels_->require_host("loader labels");
    if (labels_->ndim() < 1 || labels_->shape()[0] != images_.shape()[0]) {
      throw std::invalid_argument("labels shape " + format_tuple(labels_->shape()) +
                                  " does not match images: first axis must be " +
                                  std::to_string(images_.shape()[0]));
    }
    label_shape_.assign(labels_->shape().begin() + 1, labels_->shape().end());
    int64_t n = static_cast<int64_t>(labels_->itemsize());
    for (int64_t d : label_shape_) n = checked_mul(n, d, "label size");
    label_bytes_ = static_cast<size_t>(n);
  }
  const int64_t batch_bytes = checked_mul(static_cast<int64_t>(transform_.sample_bytes()),
                                          options_.batch_size, "loader batch size in bytes");
  // Spares cover the batches in flight plus a couple the consumer is still looking at.
  pool_buffers_ = BatchPool::create(static_cast<size_t>(batch_bytes),
                                    static_cast<size_t>(options_.prefetch) + 2);
}

Loader::~Loader() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    cancel_locked();
  }
  pool_.stop();
}

int64_t Loader::num_batches() const {
  return sampler_.num_batches();
}
int64_t Loader::samples_per_rank() const {
  return sampler_.samples_per_rank();
}

LoaderState Loader::state() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return {sampler_.epoch(), next_batch_};
}

void Loader::load_state(LoaderState s) {
  std::lock_guard<std::mutex> consumer(consumer_);
  std::lock_guard<std::mutex> lock(mutex_);
  const int64_t n = sampler_.num_batches();
  if (s.epoch < 0)
    throw std::invalid_argument("state epoch " + std::to_string(s.epoch) + " must be >= 0");
  if (s.batch < 0 || s.batch > n) {
    throw std::invalid_argument("state batch " + std::to_string(s.batch) + " is not in [0, " +
                                std::to_string(n) + "]");
  }
  cancel_locked();
  if (s.batch == n && n > 0) {
    s.epoch += 1;
    s.batch = 0;
  }
  sampler_.set_epoch(s.epoch);
  next_batch_ = s.batch;
}

void Loader::set_epoch(int64_t epoch) {
  load_state({epoch, 0});
}

BatchPlan Loader::plan(int64_t b) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return sampler_.plan(b);
}

void Loader::cancel_locked() {
  for (auto& job : inflight_) job->cancelled.store(true, std::memory_order_relaxed);
  inflight_.clear();
}

void Loader::fill_locked() {
  const int64_t n = sampler_.num_batches();
  const auto threads = static_cast<int64_t>(pool_.size());
  while (static_cast<int64_t>(inflight_.size()) < options_.prefetch) {
    const int64_t b = next_batch_ + static_cast<int64_t>(inflight_.size());
    if (b >= n) break;
    auto job = std::make_shared<Job>();
    job->epoch = sampler_.epoch();
    job->index = b;
    job->plan = sampler_.plan(b);
    job->buffer = pool_buffers_->acquire();
    const auto len = static_cast<int64_t>(job->plan.indices.size());
    if (labels_) {
      std::vector<int64_t> shape{len};
      shape.insert(shape.end(), label_shape_.begin(), label_shape_.end());
      job->labels = View::empty(labels_->dtype(), shape);
    }
    // Chunks of a few samples: enough tasks to balance the threads, few enough to be cheap.
    const int64_t chunks = std::min(len, 2 * threads);
    const int64_t per = (len + chunks - 1) / chunks;
    const int64_t count = (len + per - 1) / per;
    job->remaining.store(count, std::memory_order_relaxed);
    inflight_.push_back(job);
    for (int64_t begin = 0; begin < len; begin += per) {
      const int64_t end = std::min(len, begin + per);
      pool_.submit([this, job, begin, end] { run_chunk(job, begin, end); });
    }
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

void Loader::run_chunk(const std::shared_ptr<Job>& job, int64_t begin, int64_t end) {
  if (!job->cancelled.load(std::memory_order_relaxed)) {
    auto* out = static_cast<char*>(job->buffer->data());
    char* labels_out = job->labels ? static_cast<char*>(job->labels->data()) : nullptr;
    const BatchPlan& p = job->plan;
    for (int64_t k = begin; k < end; ++k) {
      try {
        if (p.indices[k] == options_.fault_sample) {
          throw std::runtime_error("injected fault (fault_sample)");
        }
        transform_.apply(p.indices[k], p.top[k], p.left[k], p.mirror[k] != 0,
                         out + static_cast<size_t>(k) * transform_.sample_bytes());
        if (labels_out)
          gather_label(p.indices[k], labels_out + static_cast<size_t>(k) * label_bytes_);
      } catch (const std::exception& e) {
        std::lock_guard<std::mutex> lock(job->error_mutex);
        if (job->error_pos < 0 || k < job->error_pos) {
          job->error_pos = k;
          job->error = e.what();
        }
        break;
      }
    }
  }
  if (job->remaining.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    std::lock_guard<std::mutex> lock(mutex_);
    job->done = true;
    cv_.notify_all();
  }
}

NextStatus Loader::next(Batch& out, std::optional<std::chrono::nanoseconds> timeout) {
  std::lock_guard<std::mutex> consumer(consumer_);
  std::unique_lock<std::mutex> lock(mutex_);
  if (sampler_.num_batches() == 0) {
    throw std::out_of_range("the loader has no batches (samples per rank " +
                            std::to_string(sampler_.samples_per_rank()) + ", batch_size " +
                            std::to_string(options_.batch_size) + ", drop_last)");
  }
  fill_locked();
  std::shared_ptr<Job> job = inflight_.front();
  auto ready = [&job] { return job->done; };
  if (timeout) {
    if (!cv_.wait_for(lock, *timeout, ready)) return NextStatus::Timeout;
  } else {
    cv_.wait(lock, ready);
  }
  inflight_.pop_front();
  if (job->error_pos >= 0) {
    cancel_locked();  // the position stays at this batch: a retry fails the same way
    const int64_t sample = job->plan.indices[job->error_pos];
    throw LoaderError("loader worker failed on sample " + std::to_string(sample) + " (batch " +
                          std::to_string(job->index) + " of epoch " + std::to_string(job->epoch) +
                          "): " + job->error,
                      sample, job->index, job->epoch);
  }
  const auto len = static_cast<int64_t>(job->plan.indices.size());
  std::vector<int64_t> shape{len};
  shape.insert(shape.end(), sample_shape_.begin(), sample_shape_.end());
  out.images =
      View::c_contiguous(job->buffer->data(), options_.dtype, std::move(shape), job->buffer);
  out.labels = job->labels;
  out.epoch = job->epoch;
  out.index = job->index;
  if (++next_batch_ == sampler_.num_batches()) {
    // The stream moves on; the next epoch's work starts at the next call (after a possible
    // set_epoch), so nothing is wasted.
    sampler_.set_epoch(sampler_.epoch() + 1);
    next_batch_ = 0;
    inflight_.clear();
  } else {
    fill_locked();
  }
  return NextStatus::Ready;
}

}  // namespace nocopy
