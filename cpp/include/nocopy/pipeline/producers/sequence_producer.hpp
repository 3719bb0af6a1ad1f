// SequenceProducer: what one slot of a sequence batch holds: a window of a token stream or time
// series (x) and its targets (y), gathered and converted to the output type in one pass. Its plan
// of a batch is the SequenceSampler's; how windows are read is the SequenceSource's. The batch
// engine runs it (nocopy::SequenceLoader is the two together).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "nocopy/core/view.hpp"
#include "nocopy/pipeline/engine/batch_engine.hpp"
#include "nocopy/pipeline/engine/batch_producer.hpp"
#include "nocopy/pipeline/producers/sequence_options.hpp"
#include "nocopy/pipeline/sampling/sequence_sampler.hpp"
#include "nocopy/pipeline/sources/sequence_source.hpp"

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

/// The sequence loader's producer.
class SequenceProducer final : public BatchProducer {
 public:
  /// Its plan of a batch (held in a TypedPlan<SequencePlan>).
  using Plan = SequencePlan;
  /// One delivered batch.
  using Batch = SequenceBatch;
  /// The x and y of an engine batch of this producer.
  static Batch batch_of(EngineBatch&& batch);

  /// sources: 1-D arrays (tokens) or 2-D (T, F) arrays (series) of one dtype, on the CPU, any
  /// strides; a window never crosses from one source to the next. Validates the options and
  /// the data (std::invalid_argument / std::overflow_error / BufferError naming the value and
  /// the limit).
  /// With a `mixture`, the sources are its datasets' end to end and each epoch mixes them (see
  /// SequenceSampler).
  SequenceProducer(std::vector<View> sources, const SequenceOptions& options,
                   const std::optional<SequenceMixture>& mixture = std::nullopt);
  /// Sources opened on demand (the shards of a remote token dataset): windows are planned from
  /// their lengths; a worker opens a source when it first reads a window of it, and each plan
  /// hints the sources of its batch and of the `fetch_ahead` batches after it.
  SequenceProducer(LazySequences sources, const SequenceOptions& options,
                   const std::optional<SequenceMixture>& mixture = std::nullopt);

  std::string_view kind() const override { return "SequenceLoader"; }
  int64_t epoch_size() const override { return sampler_.windows_per_epoch(); }
  const std::vector<SlotOutput>& outputs() const override { return outputs_; }
  std::unique_ptr<ProducerPlan> plan(int64_t epoch, const ShardGeometry& geometry,
                                     int64_t b) const override;
  void fill(const ProducerPlan& plan, int64_t slot, std::span<char* const> out) const override;
  int64_t prefetch_distance() const override;
  void prefetch(const ProducerPlan& plan, int64_t slot) const noexcept override;
  int64_t sample_of(const ProducerPlan& plan, int64_t slot) const override;
  Stage fill_stage() const override {
    // Sources opened on demand spend their time opening (fetching) and reading.
    return source_.reads_by_position() || source_.lazy() ? Stage::Read : Stage::Kernel;
  }
  void after_batch(int64_t slots) override;
  std::vector<ByteRange> source_extents() const override;
  std::vector<CheckpointEntry> resume_key() const override;

  /// The options (validated).
  const SequenceOptions& options() const { return options_; }
  /// The window sampler.
  const SequenceSampler& sampler() const { return sampler_; }

 private:
  /// The checks and outputs shared by both constructors.
  void setup();
  /// Hints the sources of `plan` (batch b) and of the fetch_ahead batches after it.
  void hint_reads(int64_t epoch, const ShardGeometry& geometry, int64_t b,
                  const SequencePlan& plan) const;

  SequenceOptions options_;
  SequenceSource source_;
  SequenceSampler sampler_;
  bool check_range_ = false;
  std::vector<SlotOutput> outputs_;
  mutable std::mutex hinted_mutex_;  // guards the last batch whose sources were hinted
  mutable int64_t hinted_epoch_ = -1, hinted_last_ = -1;
};

}  // namespace nocopy
