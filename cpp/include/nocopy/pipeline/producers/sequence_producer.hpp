// SequenceProducer: what one slot of a sequence batch holds: a window of a token stream or time
// series (x) and its targets (y), gathered and converted to the output type in one pass. The
// batch engine runs it (nocopy::SequenceLoader is the two together).
//
// How a source is read (storage_of / positional_reader, storage/read_at.hpp): memory-mapped
// sources get MADV_RANDOM. Up to 256 MiB of them in all are read through the mapping and stay
// resident (bounded by their size). Beyond that, contiguous sources that map a file (a
// SharedArray's segment is one, in /dev/shm) are read by position (pread, POSIX_FADV_RANDOM), so
// no page of the mapping becomes resident, and the others (strided views, a file or segment whose
// name now refers to another) through the mapping, the pages read unmapped again every 32 MiB of
// reads (MADV_DONTNEED; the file keeps them in its page cache; not for copy-on-write mappings).
// So the resident memory stays bounded however large the file. Windows read through a mapping
// are prefetched a few windows ahead (random windows are bound by memory latency).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "nocopy/core/view.hpp"
#include "nocopy/pipeline/engine/batch_engine.hpp"
#include "nocopy/pipeline/engine/batch_producer.hpp"
#include "nocopy/pipeline/producers/sequence_options.hpp"
#include "nocopy/pipeline/sampling/sequence_sampler.hpp"
#include "nocopy/storage/read_at.hpp"

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
  SequenceProducer(std::vector<View> sources, const SequenceOptions& options);

  std::string_view kind() const override { return "SequenceLoader"; }
  int64_t epoch_size() const override { return sampler_.windows_per_epoch(); }
  const std::vector<SlotOutput>& outputs() const override { return outputs_; }
  std::unique_ptr<ProducerPlan> plan(int64_t epoch, const ShardGeometry& geometry,
                                     int64_t b) const override;
  void fill(const ProducerPlan& plan, int64_t slot, std::span<char* const> out) const override;
  int64_t prefetch_distance() const override;
  void prefetch(const ProducerPlan& plan, int64_t slot) const noexcept override;
  int64_t sample_of(const ProducerPlan& plan, int64_t slot) const override;
  Stage fill_stage() const override { return reads_by_position_ ? Stage::Read : Stage::Kernel; }
  void after_batch(int64_t slots) override;
  std::vector<ByteRange> source_extents() const override;
  std::vector<CheckpointEntry> resume_key() const override;

  /// The options (validated).
  const SequenceOptions& options() const { return options_; }
  /// The window sampler.
  const SequenceSampler& sampler() const { return sampler_; }

 private:
  void gather_window(size_t source, int64_t start, char* x, char* y) const;

  SequenceOptions options_;
  std::vector<View> sources_;
  std::vector<int64_t> lengths_;
  SequenceSampler sampler_;
  std::vector<int64_t> sample_tail_;  // () for 1-D sources, (F) for 2-D ones
  bool check_range_ = false;
  std::vector<uint8_t> release_;  // 1 for sources whose read pages are released (large mappings)
  std::vector<std::unique_ptr<ReadAt>> readers_;  // positional readers of file / shm sources
  bool reads_by_position_ = false;
  size_t scratch_bytes_ = 0;      // a window's source bytes (x and y steps), for pread + convert
  int64_t window_cost_ = 0;       // resident bytes a window may map (its pages + fault-around)
  int64_t unreleased_bytes_ = 0;  // touched by after_batch only (the consumer)
  std::vector<SlotOutput> outputs_;
};

}  // namespace nocopy
