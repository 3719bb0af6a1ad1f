// SequenceSampler: window tables per source, random starts from the counter hash, step windows
// in an EpochOrder, the datasets of a mixture in a MixtureOrder.
#include "nocopy/pipeline/sampling/sequence_sampler.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "internal/checked_math.hpp"
#include "nocopy/pipeline/sampling/random_streams.hpp"

namespace nocopy {

SequenceSampler::SequenceSampler(std::span<const int64_t> lengths, const WindowSampling& o)
    : options_(o), window_steps_(checked_add(o.seq_len, o.target_steps, "window length")) {
  if (lengths.empty()) throw std::invalid_argument("data is an empty list of sequences");
  int64_t longest = 0;
  int64_t usable_steps = 0;
  prefix_.assign(lengths.size() + 1, 0);
  for (size_t s = 0; s < lengths.size(); ++s) {
    longest = std::max(longest, lengths[s]);
    const int64_t starts = std::max<int64_t>(0, lengths[s] - window_steps_ + 1);
    if (starts > 0) usable_steps = checked_add(usable_steps, lengths[s], "data length");
    // Starts 0, step, 2 step, ... below `starts`: ceil(starts / step), written so that a step
    // near 2^63 cannot overflow.
    const int64_t count = o.step == 0 ? starts : (starts == 0 ? 0 : (starts - 1) / o.step + 1);
    prefix_[s + 1] = checked_add(prefix_[s], count, "window count");
  }
  if (longest < o.seq_len) {
    throw std::invalid_argument("seq_len " + std::to_string(o.seq_len) +
                                " is longer than the data: the longest sequence has " +
                                std::to_string(longest) + " steps");
  }
  if (prefix_.back() == 0) {
    const std::string what = o.horizon > 0 ? "horizon " + std::to_string(o.horizon)
                                           : std::string("the next-step target");
    throw std::invalid_argument(
        what + " does not fit: seq_len " + std::to_string(o.seq_len) + " + " +
        std::to_string(o.target_steps) + " = " + std::to_string(window_steps_) +
        " steps per window, but the longest sequence has " + std::to_string(longest));
  }
  if (o.step == 0) {
    windows_ = std::max<int64_t>(1, usable_steps / o.seq_len);
  } else {
    windows_ = prefix_.back();
    order_.emplace(windows_, o.shuffle, o.seed);  // the shuffled order of the step windows
  }
}

SequenceSampler::SequenceSampler(std::span<const int64_t> lengths, const WindowSampling& o,
                                 const SequenceMixture& m)
    : SequenceSampler(lengths, o) {
  order_.reset();  // the mixture orders the windows
  const size_t datasets = m.sources.size();
  if (datasets == 0) throw std::invalid_argument("a mixture needs at least one dataset");
  first_source_.assign(1, 0);
  for (size_t d = 0; d < datasets; ++d) {
    if (m.sources[d] < 1) {
      throw std::invalid_argument("dataset " + std::to_string(d) + " of the mixture is empty");
    }
    first_source_.push_back(checked_add(first_source_.back(), m.sources[d], "sources"));
  }
  if (first_source_.back() != static_cast<int64_t>(lengths.size())) {
    throw std::invalid_argument("the mixture's datasets hold " +
                                std::to_string(first_source_.back()) + " sequences, the data " +
                                std::to_string(lengths.size()));
  }
  for (size_t d = 0; d < datasets; ++d) {
    const auto begin = static_cast<size_t>(first_source_[d]);
    const auto end = static_cast<size_t>(first_source_[d + 1]);
    first_window_.push_back(prefix_[begin]);
    const int64_t windows = prefix_[end] - prefix_[begin];
    int64_t longest = 0, usable_steps = 0;
    for (size_t s = begin; s < end; ++s) {
      longest = std::max(longest, lengths[s]);
      if (lengths[s] >= window_steps_) {
        usable_steps = checked_add(usable_steps, lengths[s], "data length");
      }
    }
    if (windows == 0) {
      throw std::invalid_argument(
          "dataset " + std::to_string(d) + " of the mixture has no window of " +
          std::to_string(window_steps_) + " steps (seq_len + targets): its longest sequence has " +
          std::to_string(longest));
    }
    dataset_sizes_.push_back(o.step == 0 ? std::max<int64_t>(1, usable_steps / o.seq_len)
                                         : windows);
  }
  first_window_.push_back(prefix_.back());
  windows_ = m.num_samples > 0 ? m.num_samples : mixture_default_size(dataset_sizes_, m.weights);
  // Random mode keeps the dataset labels only: each dataset one sample, so slot g's value is
  // its dataset.
  std::vector<int64_t> sizes = o.step == 0 ? std::vector<int64_t>(datasets, 1) : dataset_sizes_;
  mixture_.emplace(std::move(sizes), m.weights, windows_, o.shuffle, o.seed);
}

std::vector<int64_t> SequenceSampler::dataset_counts() const {
  return mixture_ ? mixture_->counts() : std::vector<int64_t>{};
}

void SequenceSampler::locate(int64_t w, int64_t& source, int64_t& offset) const {
  const auto it = std::upper_bound(prefix_.begin(), prefix_.end(), w);
  source = static_cast<int64_t>(it - prefix_.begin()) - 1;
  offset = w - prefix_[static_cast<size_t>(source)];
}

SequencePlan SequenceSampler::plan(int64_t epoch, const ShardGeometry& geo, int64_t b) const {
  const int64_t n = geo.batch_len(b);
  SequencePlan p;
  p.sources.resize(static_cast<size_t>(n));
  p.starts.resize(static_cast<size_t>(n));
  if (mixture_) {
    if (epoch < 0 || epoch > kMaxEpoch) {
      throw std::invalid_argument("epoch " + std::to_string(epoch) + " is not in [0, " +
                                  std::to_string(kMaxEpoch) + "]");
    }
    const std::shared_ptr<const std::vector<int64_t>> held = mixture_->order(epoch);
    const std::vector<int64_t>& order = *held;
    p.datasets.resize(static_cast<size_t>(n));
    for (int64_t k = 0; k < n; ++k) {
      const auto slot = static_cast<size_t>(k);
      // Padding positions (past the epoch's end) wrap around to its first positions.
      const uint64_t g = geo.global(b, k) % order.size();
      int64_t offset = 0;
      if (options_.step > 0) {
        // The window number itself (the datasets' windows are numbered end to end).
        locate(order[g], p.sources[slot], offset);
        p.starts[slot] = offset * options_.step;
        p.datasets[slot] = static_cast<int64_t>(
            std::upper_bound(first_source_.begin(), first_source_.end(), p.sources[slot]) -
            first_source_.begin() - 1);
        continue;
      }
      const int64_t d = order[g];
      const auto first = first_window_[static_cast<size_t>(d)];
      const auto starts = static_cast<uint64_t>(first_window_[static_cast<size_t>(d) + 1] - first);
      const auto w =
          first +
          static_cast<int64_t>(bounded(
              draw_bits(options_.seed, static_cast<uint64_t>(epoch), g, RandomStream::WindowStart),
              starts));
      locate(w, p.sources[slot], p.starts[slot]);
      p.datasets[slot] = d;
    }
    return p;
  }
  if (order_) {
    const std::shared_ptr<const std::vector<int64_t>> held = order_->order(epoch);
    const std::vector<int64_t>& order = *held;
    for (int64_t k = 0; k < n; ++k) {
      const auto slot = static_cast<size_t>(k);
      int64_t offset = 0;
      locate(order[geo.global(b, k) % order.size()], p.sources[slot], offset);
      p.starts[slot] = offset * options_.step;
    }
    return p;
  }
  if (epoch < 0 || epoch > kMaxEpoch) {
    throw std::invalid_argument("epoch " + std::to_string(epoch) + " is not in [0, " +
                                std::to_string(kMaxEpoch) + "]");
  }
  const auto total = static_cast<uint64_t>(prefix_.back());
  for (int64_t k = 0; k < n; ++k) {
    // Padding positions (past the epoch's end) wrap around to its first positions.
    const uint64_t g = geo.global(b, k) % static_cast<uint64_t>(windows_);
    const auto w = static_cast<int64_t>(bounded(
        draw_bits(options_.seed, static_cast<uint64_t>(epoch), g, RandomStream::WindowStart),
        total));
    locate(w, p.sources[static_cast<size_t>(k)], p.starts[static_cast<size_t>(k)]);
  }
  return p;
}

}  // namespace nocopy
