// Loader: the batch engine over an image producer, with typed plans and batches.
#include "nocopy/pipeline/producers/loader.hpp"

#include <memory>
#include <utility>

namespace nocopy {

Loader::Loader(View images, std::optional<View> labels, const LoaderOptions& options)
    : Loader(ImageSource(std::move(images)), std::move(labels), options) {}

Loader::Loader(ImageSource images, std::optional<View> labels, const LoaderOptions& options)
    : BatchEngine(
          std::make_unique<ImageProducer>(std::move(images), std::move(labels), validated(options)),
          options),
      options_(options) {}

BatchPlan Loader::plan(int64_t b) const {
  return static_cast<const ImageBatchPlan&>(*BatchEngine::plan(b)).plan;
}

BatchPlan Loader::plan(int64_t b, int64_t epoch) const {
  return static_cast<const ImageBatchPlan&>(*BatchEngine::plan(b, epoch)).plan;
}

Batch image_batch(EngineBatch&& batch) {
  // Built from the moved views, never default-constructed: a default View allocates, and
  // nothing may fail once the engine has delivered the batch.
  std::optional<View> labels;
  if (batch.outputs.size() > 1) labels.emplace(std::move(batch.outputs[1]));
  return Batch{std::move(batch.outputs[0]), std::move(labels), batch.epoch, batch.index};
}

NextStatus Loader::next(Batch& out, std::optional<std::chrono::nanoseconds> timeout) {
  EngineBatch batch;
  const NextStatus s = BatchEngine::next(batch, timeout);
  if (s == NextStatus::Ready) out = image_batch(std::move(batch));
  return s;
}

void inject_loader_fault_for_testing(Loader& loader, int64_t sample) {
  loader.inject_fault_for_testing(sample);
}

}  // namespace nocopy
