// EpochOrder: the counter-keyed Fisher-Yates shuffle of each epoch, with a two-epoch cache.
#include "nocopy/pipeline/sampling/epoch_order.hpp"

#include <numeric>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>

#include "nocopy/pipeline/sampling/random_streams.hpp"

namespace nocopy {

EpochOrder::EpochOrder(int64_t size, bool shuffle, uint64_t seed)
    : size_(size), shuffle_(shuffle), seed_(seed) {
  if (size < 1) {
    throw std::invalid_argument("an epoch order needs at least 1 sample, got " +
                                std::to_string(size));
  }
}

std::vector<int64_t> EpochOrder::compute(int64_t epoch) const {
  std::vector<int64_t> order(static_cast<size_t>(size_));
  std::iota(order.begin(), order.end(), int64_t{0});
  if (!shuffle_) return order;
  // Fisher-Yates, the swap partner of slot i drawn from the counter (seed, epoch, i).
  for (uint64_t i = order.size() - 1; i > 0; --i) {
    const uint64_t j =
        bounded(draw_bits(seed_, static_cast<uint64_t>(epoch), i, RandomStream::Shuffle), i + 1);
    std::swap(order[i], order[j]);
  }
  return order;
}

std::shared_ptr<const std::vector<int64_t>> CachedSampleOrder::order(int64_t epoch) const {
  if (epoch < 0 || epoch > kMaxEpoch) {
    throw std::invalid_argument("epoch " + std::to_string(epoch) + " is not in [0, " +
                                std::to_string(kMaxEpoch) + "]");
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (cache_[0].epoch == epoch) return cache_[0].order;
    if (cache_[1].epoch == epoch) {
      std::swap(cache_[0], cache_[1]);
      return cache_[0].order;
    }
  }
  // Computed outside the lock (O(N)); a concurrent call for the same epoch computes it too.
  auto made = std::make_shared<const std::vector<int64_t>>(compute(epoch));
  std::lock_guard<std::mutex> lock(mutex_);
  cache_[1] = std::move(cache_[0]);
  cache_[0] = Cached{epoch, made};
  return made;
}

namespace {

using O = OrderOptions;
using V = OptionValue;

const OptionSpec<OrderOptions> kOrderSpecs[] = {
    {"shuffle", OptionKind::Bool, "Shuffle the order each epoch (else 0, 1, 2, ...).",
     [](O& o, const V& v) { o.shuffle = std::get<bool>(v); },
     [](const O& o) -> V { return o.shuffle; }},
    {"seed", OptionKind::Seed,
     "Key of every random decision (the order, windows, flips), in [0, 2**64).",
     [](O& o, const V& v) { o.seed = std::get<uint64_t>(v); },
     [](const O& o) -> V { return o.seed; }},
};

}  // namespace

std::span<const OptionSpec<OrderOptions>> order_option_specs() {
  return kOrderSpecs;
}

}  // namespace nocopy
