// SequenceProducer: windows planned by the SequenceSampler, gathered and converted into the slot
// (through memory or by position), and the mapped pages read released again.
#include "nocopy/pipeline/producers/sequence_producer.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "internal/checked_math.hpp"
#include "nocopy/pipeline/kernels/sequence_gather.hpp"
#include "nocopy/storage/mapped_file.hpp"

namespace nocopy {

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

WindowSampling window_sampling(const SequenceOptions& o) {
  return {o.seq_len, o.target_steps(), o.targets == SequenceTargets::Horizon ? o.horizon : 0,
          o.step,    o.shuffle,        o.seed};
}

std::vector<int64_t> lengths_of(const std::vector<View>& sources) {
  std::vector<int64_t> out;
  out.reserve(sources.size());
  for (const View& v : sources) out.push_back(v.shape()[0]);
  return out;
}

}  // namespace

SequenceProducer::SequenceProducer(std::vector<View> sources, const SequenceOptions& options)
    : options_(validated(options)),
      sources_(checked_sources(std::move(sources), options_)),
      lengths_(lengths_of(sources_)),
      sampler_(lengths_, window_sampling(options_)) {
  const View& first = sources_.front();
  if (first.ndim() == 2) sample_tail_ = {first.shape()[1]};
  const int64_t features = first.ndim() == 2 ? first.shape()[1] : 1;
  check_range_ = needs_range_check(first.dtype(), options_.dtype);
  auto slot_shape = [&](int64_t steps) {
    std::vector<int64_t> s{steps};
    s.insert(s.end(), sample_tail_.begin(), sample_tail_.end());
    return s;
  };
  outputs_.push_back({"x", options_.dtype, slot_shape(options_.seq_len)});
  if (options_.targets != SequenceTargets::None) {
    outputs_.push_back({"y", options_.dtype, slot_shape(options_.target_len())});
  }
  const int64_t in_item = static_cast<int64_t>(first.itemsize());
  window_cost_ = checked_add(checked_mul(checked_mul(sampler_.window_steps(), features, "window"),
                                         in_item, "window bytes"),
                             2 * kFaultAroundBytes, "window bytes");
  release_.assign(sources_.size(), 0);
  readers_.resize(sources_.size());
  int64_t mapped_bytes = 0;
  for (const View& v : sources_) {
    if (storage_of(v).mapped) {
      mapped_bytes = checked_add(mapped_bytes, static_cast<int64_t>(v.nbytes()), "data bytes");
    }
  }
  const bool stay_resident = mapped_bytes <= kResidentBytes;
  for (size_t s = 0; s < sources_.size(); ++s) {
    const ViewStorage storage = storage_of(sources_[s]);
    if (!storage.mapped || sources_[s].nbytes() == 0) continue;
    // Larger data: a file (or shared-array segment) mapping whose windows are contiguous is read
    // by position (no page faults, no page of the mapping resident; faster than faulting
    // released pages back in).
    if (!stay_resident && sources_[s].is_c_contiguous()) {
      readers_[s] = positional_reader(sources_[s]);
      if (readers_[s]) {
        reads_by_position_ = true;
        continue;
      }
    }
    // Random windows: no read-ahead around each one (it dominates reads of uncached files).
    advise(sources_[s], Advice::Random);
    // Pages read from larger data are unmapped again (not on copy-on-write mappings, where
    // DONTNEED would drop private writes).
    release_[s] = !stay_resident && !storage.copy_on_write;
  }
  const auto rows = static_cast<size_t>(sampler_.window_steps());
  scratch_bytes_ = rows * static_cast<size_t>(features) * static_cast<size_t>(in_item);
}

SequenceBatch SequenceProducer::batch_of(EngineBatch&& batch) {
  // Built from the moved views, never default-constructed: a default View allocates, and
  // nothing may fail once the engine has delivered the batch.
  std::optional<View> y;
  if (batch.outputs.size() > 1) y.emplace(std::move(batch.outputs[1]));
  return SequenceBatch{std::move(batch.outputs[0]), std::move(y), batch.epoch, batch.index};
}

std::unique_ptr<ProducerPlan> SequenceProducer::plan(int64_t epoch, const ShardGeometry& geometry,
                                                     int64_t b) const {
  auto p = std::make_unique<TypedPlan<SequencePlan>>();
  p->plan = sampler_.plan(epoch, geometry, b);
  p->size = static_cast<int64_t>(p->plan.starts.size());
  return p;
}

int64_t SequenceProducer::sample_of(const ProducerPlan& plan, int64_t slot) const {
  return static_cast<const TypedPlan<SequencePlan>&>(plan).plan.sources[static_cast<size_t>(slot)];
}

std::vector<ByteRange> SequenceProducer::source_extents() const {
  std::vector<ByteRange> out;
  out.reserve(sources_.size());
  for (const View& v : sources_) out.push_back(v.byte_extent());
  return out;
}

std::vector<CheckpointEntry> SequenceProducer::resume_key() const {
  const SequenceOptions& o = options_;
  return {{"seq_len", o.seq_len}, {"targets", std::string(sequence_targets_name(o.targets))},
          {"horizon", o.horizon}, {"step", o.step},
          {"seed", o.seed},       {"shuffle", o.shuffle}};
}

void SequenceProducer::gather_window(size_t s, int64_t start, char* x, char* y) const {
  const int64_t len = options_.seq_len;
  const int64_t y_start = options_.targets == SequenceTargets::Next ? 1 : len;
  const bool with_y = options_.targets != SequenceTargets::None;
  const View& src = sources_[s];
  const auto index = static_cast<int64_t>(s);
  const ReadAt* file = readers_[s].get();
  const RowSpan w = source_rows(src, index, start, sampler_.window_steps());
  if (file == nullptr) {
    convert_rows(w.sub(0, len), index, start, options_.dtype, check_range_, x);
    if (with_y) {
      convert_rows(w.sub(y_start, options_.target_len()), index, start + y_start, options_.dtype,
                   check_range_, y);
    }
    return;
  }
  // By position: straight into the slots when nothing is converted, else the window once into
  // this worker's scratch and converted from there.
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
  static thread_local std::vector<char> scratch;
  if (scratch.size() < scratch_bytes_) scratch.resize(scratch_bytes_);
  file->read(scratch.data(), static_cast<size_t>(w.rows * row_bytes), offset);
  RowSpan copy = w;
  copy.first = scratch.data();
  copy.row_stride = w.cols;
  convert_rows(copy.sub(0, len), index, start, options_.dtype, check_range_, x);
  if (with_y) {
    convert_rows(copy.sub(y_start, options_.target_len()), index, start + y_start, options_.dtype,
                 check_range_, y);
  }
}

void SequenceProducer::fill(const ProducerPlan& plan, int64_t slot,
                            std::span<char* const> out) const {
  const SequencePlan& p = static_cast<const TypedPlan<SequencePlan>&>(plan).plan;
  const auto k = static_cast<size_t>(slot);
  gather_window(static_cast<size_t>(p.sources[k]), p.starts[k], out[0],
                out.size() > 1 ? out[1] : nullptr);
}

int64_t SequenceProducer::prefetch_distance() const {
  return kPrefetchWindows;
}

void SequenceProducer::prefetch(const ProducerPlan& plan, int64_t slot) const noexcept {
  const SequencePlan& p = static_cast<const TypedPlan<SequencePlan>&>(plan).plan;
  const auto k = static_cast<size_t>(slot);
  const auto s = static_cast<size_t>(p.sources[k]);
  if (readers_[s]) return;  // read by position: nothing of the mapping to load
  const View& src = sources_[s];
  const int64_t rows = sampler_.window_steps();
  if (!rows_inside(src, p.starts[k], rows)) return;  // gather_window reports it
  prefetch_rows(all_rows(src).sub(p.starts[k], rows), kPrefetchBytes);
}

void SequenceProducer::after_batch(int64_t slots) {
  unreleased_bytes_ += slots * window_cost_;
  if (unreleased_bytes_ < kReleaseBytes) return;
  unreleased_bytes_ = 0;
  // The pages stay in the page cache: a later read maps them again without I/O.
  for (size_t s = 0; s < sources_.size(); ++s) {
    if (release_[s]) advise(sources_[s], Advice::DontNeed);
  }
}

}  // namespace nocopy
