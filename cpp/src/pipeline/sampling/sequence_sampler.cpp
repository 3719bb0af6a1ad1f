// SequenceSampler: window tables per source, random starts from the counter hash, step windows
// ordered and sharded by the image Sampler.
#include "nocopy/pipeline/sampling/sequence_sampler.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "internal/checked_math.hpp"

namespace nocopy {
namespace {

/// Random stream of window starts (the image Sampler uses 1-4).
constexpr uint64_t kStartStream = 5;

}  // namespace

SequenceSampler::SequenceSampler(std::span<const int64_t> lengths, const SequenceOptions& o)
    : options_(o), window_steps_(checked_add(o.seq_len, o.target_steps(), "window length")) {
  if (lengths.empty()) throw std::invalid_argument("data is an empty list of sequences");
  int64_t longest = 0;
  int64_t usable_steps = 0;
  prefix_.assign(lengths.size() + 1, 0);
  for (size_t s = 0; s < lengths.size(); ++s) {
    longest = std::max(longest, lengths[s]);
    const int64_t starts = std::max<int64_t>(0, lengths[s] - window_steps_ + 1);
    if (starts > 0) usable_steps = checked_add(usable_steps, lengths[s], "data length");
    const int64_t count = o.step == 0 ? starts : (starts + o.step - 1) / o.step;
    prefix_[s + 1] = checked_add(prefix_[s], count, "window count");
  }
  if (longest < o.seq_len) {
    throw std::invalid_argument("seq_len " + std::to_string(o.seq_len) +
                                " is longer than the data: the longest sequence has " +
                                std::to_string(longest) + " steps");
  }
  if (prefix_.back() == 0) {
    const std::string what = o.targets == SequenceTargets::Horizon
                                 ? "horizon " + std::to_string(o.horizon)
                                 : std::string("the next-step target");
    throw std::invalid_argument(
        what + " does not fit: seq_len " + std::to_string(o.seq_len) + " + " +
        std::to_string(o.target_steps()) + " = " + std::to_string(window_steps_) +
        " steps per window, but the longest sequence has " + std::to_string(longest));
  }
  if (o.step == 0) {
    windows_ = std::max<int64_t>(1, usable_steps / o.seq_len);
  } else {
    windows_ = prefix_.back();
    SamplerConfig c;
    c.num_samples = windows_;
    c.batch_size = o.batch_size;
    c.shuffle = o.shuffle;
    c.seed = o.seed;
    c.drop_last = o.drop_last;
    c.rank = o.rank;
    c.world_size = o.world_size;
    c.crop_mode = CropMode::None;
    order_.emplace(c);  // the shuffled order of the step windows
  }
  whole_ = current_ = geometry(0);
}

ShardGeometry SequenceSampler::geometry(int64_t start) const {
  return ShardGeometry(windows_, options_.batch_size, options_.world_size, options_.rank,
                       options_.drop_last, start);
}

void SequenceSampler::set_epoch(int64_t epoch, int64_t start) {
  if (epoch < 0 || epoch > kMaxEpoch) {
    throw std::invalid_argument("epoch " + std::to_string(epoch) + " is not in [0, " +
                                std::to_string(kMaxEpoch) + "]");
  }
  ShardGeometry geo = geometry(start);
  if (order_) order_->set_epoch(epoch, start);
  epoch_ = epoch;
  current_ = geo;
}

int64_t SequenceSampler::batch_len(int64_t b) const {
  return current_.batch_len(b);
}

void SequenceSampler::locate(int64_t w, int64_t& source, int64_t& offset) const {
  const auto it = std::upper_bound(prefix_.begin(), prefix_.end(), w);
  source = static_cast<int64_t>(it - prefix_.begin()) - 1;
  offset = w - prefix_[static_cast<size_t>(source)];
}

SequencePlan SequenceSampler::plan(int64_t b) const {
  const int64_t n = batch_len(b);
  SequencePlan p;
  p.sources.resize(static_cast<size_t>(n));
  p.starts.resize(static_cast<size_t>(n));
  if (order_) {
    const BatchPlan bp = order_->plan(b);
    for (int64_t k = 0; k < n; ++k) {
      int64_t offset = 0;
      locate(bp.indices[static_cast<size_t>(k)], p.sources[static_cast<size_t>(k)], offset);
      p.starts[static_cast<size_t>(k)] = offset * options_.step;
    }
    return p;
  }
  const auto total = static_cast<uint64_t>(prefix_.back());
  for (int64_t k = 0; k < n; ++k) {
    // Global position as in Sampler::plan: rank r takes start + r, start + r + world, ...;
    // padded by wrapping around to the epoch's first positions.
    const uint64_t g = current_.global(b, k) % static_cast<uint64_t>(windows_);
    const auto w = static_cast<int64_t>(bounded(
        counter_hash(options_.seed, static_cast<uint64_t>(epoch_), g, kStartStream), total));
    locate(w, p.sources[static_cast<size_t>(k)], p.starts[static_cast<size_t>(k)]);
  }
  return p;
}

}  // namespace nocopy
