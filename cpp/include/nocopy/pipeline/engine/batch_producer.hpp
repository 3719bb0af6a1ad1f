// BatchProducer: the one interface a new kind of loader implements. A producer says what one
// batch slot holds (its outputs), plans a batch as a pure function of (epoch, the global
// positions of its slots) and fills one slot; the BatchEngine does everything else (position,
// epochs, sharding, prefetch, worker threads, buffers, errors, resume, statistics).
//
// Contract: plan() is called by the engine (with its state lock held, one call at a time) and
// must depend only on its arguments and the producer's configuration. fill() is called from
// worker threads, concurrently for different slots of the same or different batches, and must
// write exactly the slot bytes of each output; it reports a failing sample by throwing (the
// engine turns it into a LoaderError naming sample_of(plan, slot), or substitutes it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "nocopy/core/dtype.hpp"
#include "nocopy/core/view.hpp"
#include "nocopy/pipeline/engine/engine_state.hpp"
#include "nocopy/pipeline/engine/engine_stats.hpp"
#include "nocopy/pipeline/sampling/shard.hpp"

namespace nocopy {

/// One output array of every batch: its name, element type and the shape of one slot (the
/// batch axis is added in front).
struct SlotOutput {
  /// "images", "labels", "x", "y", ...
  std::string name;
  /// Element type.
  DType dtype = DType::UInt8;
  /// Shape of one slot.
  std::vector<int64_t> shape;
  /// Bytes of one slot (product of shape times the itemsize; overflow-checked by the engine).
  size_t slot_bytes() const;
};

/// A producer's plan of one batch; each producer derives its own. Immutable once made.
struct ProducerPlan {
  virtual ~ProducerPlan() = default;
  /// Slots in the batch.
  int64_t size = 0;
};

/// A producer's plan held as its own type `T` (what most producers use).
template <class T>
struct TypedPlan final : ProducerPlan {
  /// The producer's plan of the batch.
  T plan;
};

/// What a kind of loader implements (see the file comment).
class BatchProducer {
 public:
  virtual ~BatchProducer() = default;

  /// The loader's kind, as checkpoints name it ("Loader", "SequenceLoader").
  virtual std::string_view kind() const = 0;
  /// Positions in one epoch's order over all ranks (>= 1): the dataset size, the windows per
  /// epoch.
  virtual int64_t epoch_size() const = 0;
  /// The outputs of a slot, in the order batches return them.
  virtual const std::vector<SlotOutput>& outputs() const = 0;
  /// Plans batch `b` of `epoch` whose slots read the global positions `geometry.global(b, k)`.
  virtual std::unique_ptr<ProducerPlan> plan(int64_t epoch, const ShardGeometry& geometry,
                                             int64_t b) const = 0;
  /// Writes slot `slot` of `plan`: out[o] is where output o of that slot starts (slot_bytes()
  /// bytes). Throws for a sample that cannot be produced.
  virtual void fill(const ProducerPlan& plan, int64_t slot, std::span<char* const> out) const = 0;
  /// Slots fill() should be told about ahead (prefetch()), 0 for none.
  virtual int64_t prefetch_distance() const { return 0; }
  /// Starts loading what slot `slot` will read (a hint; must not throw).
  virtual void prefetch(const ProducerPlan& /*plan*/, int64_t /*slot*/) const noexcept {}
  /// The sample slot `slot` reads, as errors and skip lists name it (a dataset index, the
  /// number of a sequence).
  virtual int64_t sample_of(const ProducerPlan& plan, int64_t slot) const = 0;
  /// The stage fill() spends its time in (for statistics).
  virtual Stage fill_stage() const { return Stage::Kernel; }
  /// Batch-level work on a complete batch before it is delivered (MixUp / CutMix): `outputs`
  /// holds each output's region (plan.size slots, one after another). Runs once per batch, in
  /// the consumer's thread; must not throw for a batch whose slots were all filled.
  virtual void finish_batch(const ProducerPlan& /*plan*/,
                            std::span<char* const> /*outputs*/) const {}
  /// Called by the consumer after each delivered batch of `slots` slots (housekeeping such as
  /// releasing pages read from large mappings); never concurrently with itself.
  virtual void after_batch(int64_t /*slots*/) {}
  /// The memory the producer reads (its sources): batch buffers must never overlap it.
  virtual std::vector<ByteRange> source_extents() const = 0;
  /// The producer's configuration the order of its batches depends on (the engine adds its own:
  /// batch_size, world_size, rank, drop_last).
  virtual std::vector<CheckpointEntry> resume_key() const = 0;
};

}  // namespace nocopy
