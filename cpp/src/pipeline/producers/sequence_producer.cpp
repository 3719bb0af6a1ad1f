// SequenceProducer: windows planned by the SequenceSampler, gathered and converted into the slot
// (through memory or by position), and the mapped pages read released again.
#include "nocopy/pipeline/producers/sequence_producer.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "internal/checked_math.hpp"
#include "nocopy/pipeline/kernels/sequence_gather.hpp"
#include "nocopy/pipeline/producers/typed_loader.hpp"

namespace nocopy {

namespace {

/// How many rows a window reads: x and its targets.
int64_t window_rows(const SequenceOptions& o) {
  return checked_add(o.seq_len, o.target_steps(), "window length");
}

WindowSampling window_sampling(const SequenceOptions& o) {
  return {o.seq_len, o.target_steps(), o.targets == SequenceTargets::Horizon ? o.horizon : 0,
          o.step,    o.shuffle,        o.seed};
}

/// The sampler of `source`'s windows, mixing the datasets of `mixture` when there is one.
SequenceSampler sampler_of(const SequenceSource& source, const SequenceOptions& o,
                           const std::optional<SequenceMixture>& mixture) {
  if (!mixture) return SequenceSampler(source.lengths(), window_sampling(o));
  return SequenceSampler(source.lengths(), window_sampling(o), *mixture);
}

}  // namespace

SequenceProducer::SequenceProducer(std::vector<View> sources, const SequenceOptions& options,
                                   const std::optional<SequenceMixture>& mixture)
    : options_(validated(options)),
      source_(std::move(sources), window_rows(options_)),
      sampler_(sampler_of(source_, options_, mixture)) {
  setup();
}

SequenceProducer::SequenceProducer(LazySequences sources, const SequenceOptions& options,
                                   const std::optional<SequenceMixture>& mixture)
    : options_(validated(options)),
      source_(std::move(sources), window_rows(options_)),
      sampler_(sampler_of(source_, options_, mixture)) {
  setup();
}

void SequenceProducer::setup() {
  const DType in = source_.dtype();
  if (is_floating(in) && !is_floating(options_.dtype)) {
    throw std::invalid_argument("data dtype " + std::string(dtype_name(in)) +
                                " is not an integer type, so it cannot be loaded as integer "
                                "dtype " +
                                std::string(dtype_name(options_.dtype)) +
                                " (tokens must be integers); pass dtype='float32'");
  }
  check_range_ = needs_range_check(in, options_.dtype);
  auto slot_shape = [&](int64_t steps) {
    std::vector<int64_t> s{steps};
    s.insert(s.end(), source_.row_shape().begin(), source_.row_shape().end());
    return s;
  };
  outputs_.push_back({"x", options_.dtype, slot_shape(options_.seq_len)});
  if (options_.targets != SequenceTargets::None) {
    outputs_.push_back({"y", options_.dtype, slot_shape(options_.target_len())});
  }
}

SequenceBatch SequenceProducer::batch_of(EngineBatch&& batch) {
  return batch_of_outputs<SequenceBatch>(std::move(batch));
}

std::unique_ptr<ProducerPlan> SequenceProducer::plan(int64_t epoch, const ShardGeometry& geometry,
                                                     int64_t b) const {
  auto p = std::make_unique<TypedPlan<SequencePlan>>();
  p->plan = sampler_.plan(epoch, geometry, b);
  p->size = static_cast<int64_t>(p->plan.starts.size());
  if (source_.lazy()) hint_reads(epoch, geometry, b, p->plan);
  return p;
}

void SequenceProducer::hint_reads(int64_t epoch, const ShardGeometry& geometry, int64_t b,
                                  const SequencePlan& plan) const {
  // The sources of this batch and of the fetch_ahead batches after it in the epoch, each once
  // (the source hints each closed one once until it opens). Planned in order, each batch ahead
  // is planned for its hints once: only those past the ones hinted already (a jump elsewhere
  // in the stream starts afresh).
  const int64_t last = std::min(geometry.num_batches() - 1, b + options_.fetch_ahead);
  int64_t first = b + 1;
  {
    std::lock_guard<std::mutex> lock(hinted_mutex_);
    const bool follows =
        epoch == hinted_epoch_ && b <= hinted_last_ + 1 && hinted_last_ <= b + options_.fetch_ahead;
    if (follows) first = std::max(first, hinted_last_ + 1);
    hinted_epoch_ = epoch;
    hinted_last_ = follows ? std::max(hinted_last_, last) : last;
  }
  std::vector<int64_t> sources = plan.sources;
  for (int64_t a = first; a <= last; ++a) {
    const SequencePlan ahead = sampler_.plan(epoch, geometry, a);
    sources.insert(sources.end(), ahead.sources.begin(), ahead.sources.end());
  }
  std::sort(sources.begin(), sources.end());
  sources.erase(std::unique(sources.begin(), sources.end()), sources.end());
  source_.will_read(sources);
}

int64_t SequenceProducer::sample_of(const ProducerPlan& plan, int64_t slot) const {
  return static_cast<const TypedPlan<SequencePlan>&>(plan).plan.sources[static_cast<size_t>(slot)];
}

std::vector<ByteRange> SequenceProducer::source_extents() const {
  return source_.extents();
}

std::vector<CheckpointEntry> SequenceProducer::resume_key() const {
  const SequenceOptions& o = options_;
  std::vector<CheckpointEntry> key{
      {"seq_len", o.seq_len}, {"targets", std::string(sequence_targets_name(o.targets))},
      {"horizon", o.horizon}, {"step", o.step == 0 ? CheckpointValue() : CheckpointValue(o.step)},
      {"seed", o.seed},       {"shuffle", o.shuffle}};
  // A mixture's epoch size (its weights may change between runs; its size may not).
  if (sampler_.mixed()) key.push_back({"num_samples", sampler_.windows_per_epoch()});
  return key;
}

void SequenceProducer::fill(const ProducerPlan& plan, int64_t slot,
                            std::span<char* const> out) const {
  const SequencePlan& p = static_cast<const TypedPlan<SequencePlan>&>(plan).plan;
  const auto k = static_cast<size_t>(slot);
  const int64_t y_start = options_.targets == SequenceTargets::Next ? 1 : options_.seq_len;
  const WindowPart parts[2] = {{0, options_.seq_len, out[0]},
                               {y_start, options_.target_len(), out.size() > 1 ? out[1] : nullptr}};
  source_.read_window(static_cast<size_t>(p.sources[k]), p.starts[k],
                      std::span<const WindowPart>(parts, out.size() > 1 ? 2 : 1), options_.dtype,
                      check_range_);
}

int64_t SequenceProducer::prefetch_distance() const {
  return SequenceSource::kPrefetchWindows;
}

void SequenceProducer::prefetch(const ProducerPlan& plan, int64_t slot) const noexcept {
  const SequencePlan& p = static_cast<const TypedPlan<SequencePlan>&>(plan).plan;
  const auto k = static_cast<size_t>(slot);
  source_.prefetch_window(static_cast<size_t>(p.sources[k]), p.starts[k]);
}

void SequenceProducer::after_batch(int64_t slots) {
  source_.after_windows(slots);
}

}  // namespace nocopy
