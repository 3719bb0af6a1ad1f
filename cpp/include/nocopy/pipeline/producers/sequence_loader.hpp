// SequenceLoader: batches of windows of token streams or time series, gathered and converted by
// worker threads into pooled 64-byte aligned buffers and delivered in order: the batch engine
// (engine/batch_engine.hpp) running the sequence producer (sequence_producer.hpp, which also says
// how sources are read). This class adds the typed views: SequencePlan for plan(),
// SequenceBatch for next().
//
// A stream over epochs like Loader (the epoch rule: engine/engine_state.hpp); what a batch holds
// is a pure function of (seed, epoch, batch index) (see SequenceSampler), so a saved state
// resumes with identical bytes whatever the thread count. Each batch is one buffer holding x and
// then y; its views own it, so a kept batch is never reused.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

#include "nocopy/core/view.hpp"
#include "nocopy/pipeline/engine/batch_engine.hpp"
#include "nocopy/pipeline/producers/sequence_options.hpp"
#include "nocopy/pipeline/producers/sequence_producer.hpp"
#include "nocopy/pipeline/sampling/sequence_sampler.hpp"

namespace nocopy {

/// One delivered batch of windows; its views keep the batch buffer alive.
struct SequenceBatch {
  /// (n, seq_len) for 1-D sources, (n, seq_len, F) for (T, F) ones; C-contiguous, aligned.
  View x;
  /// (n, seq_len[, F]) next-step targets or (n, horizon[, F]); none with SequenceTargets::None.
  std::optional<View> y;
  /// Which batch of which epoch this is.
  int64_t epoch = 0, index = 0;
};

/// The multithreaded, prefetching, deterministic loader of sequence windows.
class SequenceLoader : public BatchEngine {
 public:
  /// sources: 1-D arrays (tokens) or 2-D (T, F) arrays (series) of one dtype, on the CPU, any
  /// strides; a window never crosses from one source to the next. Validates the options and
  /// the data (std::invalid_argument / std::overflow_error / BufferError naming the value and
  /// the limit) and starts the threads; no work happens before the first next().
  SequenceLoader(std::vector<View> sources, const SequenceOptions& options);

  /// Batches per (whole) epoch on this rank.
  int64_t num_batches() const { return epoch_batches(); }
  /// Windows per (whole) epoch on this rank.
  int64_t samples_per_rank() const { return epoch_samples_per_rank(); }
  /// Windows per epoch over all ranks.
  int64_t windows_per_epoch() const { return sequence_producer().sampler().windows_per_epoch(); }
  /// The options (validated).
  const SequenceOptions& options() const { return sequence_producer().options(); }
  /// The sequence producer.
  const SequenceProducer& sequence_producer() const {
    return static_cast<const SequenceProducer&>(producer());
  }

  /// The windows of batch `b` of the current epoch (std::out_of_range outside it).
  SequencePlan plan(int64_t b) const;
  /// The windows of batch `b` of any epoch in [0, kMaxEpoch].
  SequencePlan plan(int64_t b, int64_t epoch) const;
  /// Delivers the next batch (BatchEngine::next), as x and y.
  NextStatus next(SequenceBatch& out,
                  std::optional<std::chrono::nanoseconds> timeout = std::nullopt);
};

/// The x and y of an engine batch of a sequence loader.
SequenceBatch sequence_batch(EngineBatch&& batch);

}  // namespace nocopy
