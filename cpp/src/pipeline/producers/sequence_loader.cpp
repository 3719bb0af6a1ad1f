// SequenceLoader: the batch engine over a sequence producer, with typed plans and batches.
#include "nocopy/pipeline/producers/sequence_loader.hpp"

#include <memory>
#include <utility>

namespace nocopy {

SequenceLoader::SequenceLoader(std::vector<View> sources, const SequenceOptions& options)
    : BatchEngine(std::make_unique<SequenceProducer>(std::move(sources), options), options) {}

SequencePlan SequenceLoader::plan(int64_t b) const {
  return static_cast<const SequenceBatchPlan&>(*BatchEngine::plan(b)).plan;
}

SequencePlan SequenceLoader::plan(int64_t b, int64_t epoch) const {
  return static_cast<const SequenceBatchPlan&>(*BatchEngine::plan(b, epoch)).plan;
}

SequenceBatch sequence_batch(EngineBatch&& batch) {
  // Built from the moved views, never default-constructed: a default View allocates, and
  // nothing may fail once the engine has delivered the batch.
  std::optional<View> y;
  if (batch.outputs.size() > 1) y.emplace(std::move(batch.outputs[1]));
  return SequenceBatch{std::move(batch.outputs[0]), std::move(y), batch.epoch, batch.index};
}

NextStatus SequenceLoader::next(SequenceBatch& out,
                                std::optional<std::chrono::nanoseconds> timeout) {
  EngineBatch batch;
  const NextStatus s = BatchEngine::next(batch, timeout);
  if (s == NextStatus::Ready) out = sequence_batch(std::move(batch));
  return s;
}

}  // namespace nocopy
