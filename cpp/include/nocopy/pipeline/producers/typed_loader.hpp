// TypedLoader: a batch engine running one kind of producer, with that producer's plans and
// batches as types instead of the engine's generic ones. nocopy::Loader and
// nocopy::SequenceLoader are TypedLoader<ImageProducer> and TypedLoader<SequenceProducer>; a new
// kind of loader is its producer (engine/batch_producer.hpp) plus this template.
//
// A Producer used here declares `Plan` (its plan of a batch, held in a TypedPlan<Plan>),
// `Batch` (one delivered batch) and `static Batch batch_of(EngineBatch&&)`.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <utility>

#include "nocopy/pipeline/engine/batch_engine.hpp"

namespace nocopy {

/// A batch type {first output, optional second output, epoch, index} (Batch, SequenceBatch) from
/// an engine batch, built from the moved views, never default-constructed: a default View
/// allocates, and nothing may fail once the engine has delivered the batch.
template <class Batch>
Batch batch_of_outputs(EngineBatch&& batch) {
  std::optional<View> second;
  if (batch.outputs.size() > 1) second.emplace(std::move(batch.outputs[1]));
  return Batch{std::move(batch.outputs[0]), std::move(second), batch.epoch, batch.index};
}

/// The batch engine over `Producer`, with typed plan() and next().
template <class Producer>
class TypedLoader : public BatchEngine {
 public:
  /// The producer's plan of one batch.
  using Plan = typename Producer::Plan;
  /// One delivered batch.
  using Batch = typename Producer::Batch;

  /// Batches per whole epoch on this rank (>= 1).
  int64_t num_batches() const { return epoch_batches(); }
  /// Samples per whole epoch on this rank.
  int64_t samples_per_rank() const { return epoch_samples_per_rank(); }
  /// The producer, as its own type.
  const Producer& typed_producer() const { return static_cast<const Producer&>(producer()); }

  /// The plan of batch `b` of the current epoch (std::out_of_range outside it).
  Plan plan(int64_t b) const { return typed(BatchEngine::plan(b)); }
  /// The plan of batch `b` of any epoch in [0, kMaxEpoch].
  Plan plan(int64_t b, int64_t epoch) const { return typed(BatchEngine::plan(b, epoch)); }
  /// Delivers the next batch (BatchEngine::next), as the producer's batch type.
  NextStatus next(Batch& out, std::optional<std::chrono::nanoseconds> timeout = std::nullopt) {
    EngineBatch batch;
    const NextStatus s = BatchEngine::next(batch, timeout);
    if (s == NextStatus::Ready) out = Producer::batch_of(std::move(batch));
    return s;
  }

 protected:
  /// Starts the engine over `producer` (see BatchEngine's constructor).
  TypedLoader(std::unique_ptr<Producer> producer, const EngineOptions& options)
      : BatchEngine(std::move(producer), options) {}

 private:
  static Plan typed(const std::unique_ptr<ProducerPlan>& p) {
    return static_cast<const TypedPlan<Plan>&>(*p).plan;
  }
};

}  // namespace nocopy
