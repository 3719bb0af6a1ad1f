// SequenceLoader: batches of windows of token streams or time series, gathered and converted by
// worker threads into pooled 64-byte aligned buffers and delivered in order: the batch engine
// (engine/batch_engine.hpp) running the sequence producer (sequence_producer.hpp, which also says
// how sources are read), with typed plans (SequencePlan) and batches (SequenceBatch).
//
// A stream over epochs like Loader (the epoch rule: engine/engine_state.hpp); what a batch holds
// is a pure function of (seed, epoch, batch index) (see SequenceSampler), so a saved state
// resumes with identical bytes whatever the thread count. Each batch is one buffer holding x and
// then y; its views own it, so a kept batch is never reused.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "nocopy/core/view.hpp"
#include "nocopy/pipeline/producers/sequence_options.hpp"
#include "nocopy/pipeline/producers/sequence_producer.hpp"
#include "nocopy/pipeline/producers/typed_loader.hpp"

namespace nocopy {

/// The multithreaded, prefetching, deterministic loader of sequence windows.
class SequenceLoader : public TypedLoader<SequenceProducer> {
 public:
  /// sources: 1-D arrays (tokens) or 2-D (T, F) arrays (series) of one dtype, on the CPU, any
  /// strides; a window never crosses from one source to the next. Validates the options and
  /// the data (std::invalid_argument / std::overflow_error / BufferError naming the value and
  /// the limit) and starts the threads; no work happens before the first next().
  /// With a `mixture`, the sources are its datasets' end to end, mixed by weight every epoch
  /// (see SequenceSampler).
  SequenceLoader(std::vector<View> sources, const SequenceOptions& options,
                 const std::optional<SequenceMixture>& mixture = std::nullopt);
  /// Sources opened on demand (the shards of a remote token dataset; see SequenceSource): the
  /// same windows as the sources given up front, each source opened when a worker first reads
  /// a window of it, the sources of the next fetch_ahead batches hinted to the provider.
  SequenceLoader(LazySequences sources, const SequenceOptions& options,
                 const std::optional<SequenceMixture>& mixture = std::nullopt);

  /// Windows per epoch over all ranks.
  int64_t windows_per_epoch() const { return typed_producer().sampler().windows_per_epoch(); }
  /// The options (validated).
  const SequenceOptions& options() const { return typed_producer().options(); }
};

}  // namespace nocopy
