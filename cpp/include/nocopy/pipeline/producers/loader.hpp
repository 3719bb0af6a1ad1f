// Loader: batches of images with crop / resize / mirror / normalize fused into one pass, and
// their labels: the batch engine (position, epochs, prefetch, worker threads, resume, errors,
// statistics; engine/batch_engine.hpp) running the image producer (what each slot holds;
// image_producer.hpp). This class adds the typed views: BatchPlan for plan(), Batch for next().
//
// The loader is a stream over epochs (the epoch rule: engine/engine_state.hpp). What a batch
// holds is a pure function of (seed, epoch, batch index) (see ImageProducer), so a state saved with
// state() and restored with load_state() continues with identical bytes, whatever the thread
// count. Batch views own their buffer: a batch kept by the caller is never reused. Options:
// producers/loader_options.hpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

#include "nocopy/core/view.hpp"
#include "nocopy/pipeline/engine/batch_engine.hpp"
#include "nocopy/pipeline/producers/image_producer.hpp"
#include "nocopy/pipeline/producers/loader_options.hpp"
#include "nocopy/pipeline/sources/image_source.hpp"

namespace nocopy {

/// One delivered batch; its views keep the batch buffer alive.
struct Batch {
  /// (n, C, h, w) or (n, h, w, C), C-contiguous, 64-byte aligned.
  View images;
  /// (n, ...) gathered labels, when the loader has labels.
  std::optional<View> labels;
  /// Which batch of which epoch this is.
  int64_t epoch = 0, index = 0;
};

/// The multithreaded, prefetching, deterministic image batch loader.
class Loader : public BatchEngine {
 public:
  /// images: (N, H, W, C) on the CPU, any strides; labels: first axis N, any dtype, or none.
  /// Validates everything up front (std::invalid_argument / BufferError with the value and the
  /// limit) and starts the worker threads; no work happens before the first next().
  Loader(View images, std::optional<View> labels, const LoaderOptions& options);
  /// The same over any image source: a uniform array or an ImageSet of different-size images
  /// (labels, when given, have first axis N; an ImageSet's own labels are not implied here).
  Loader(ImageSource images, std::optional<View> labels, const LoaderOptions& options);

  /// Batches per whole epoch on this rank (>= 1).
  int64_t num_batches() const { return epoch_batches(); }
  /// Samples per whole epoch on this rank.
  int64_t samples_per_rank() const { return epoch_samples_per_rank(); }
  /// The options as given.
  const LoaderOptions& options() const { return options_; }
  /// The options resolved against the images (what the sampler and transform were built from).
  const LoaderConfig& config() const { return image_producer().config(); }
  /// The image producer.
  const ImageProducer& image_producer() const {
    return static_cast<const ImageProducer&>(producer());
  }

  /// The plan of batch `b` of the current epoch (std::out_of_range outside it).
  BatchPlan plan(int64_t b) const;
  /// The plan of batch `b` of any epoch in [0, kMaxEpoch].
  BatchPlan plan(int64_t b, int64_t epoch) const;
  /// Delivers the next batch (BatchEngine::next), as images and labels.
  NextStatus next(Batch& out, std::optional<std::chrono::nanoseconds> timeout = std::nullopt);

 private:
  LoaderOptions options_;
};

/// The images and labels of an engine batch of an image loader.
Batch image_batch(EngineBatch&& batch);

/// Test-only seam (not an option): workers of `loader` fail with a std::runtime_error when they
/// reach dataset index `sample` (-1: never), so tests can check how failures are delivered.
void inject_loader_fault_for_testing(Loader& loader, int64_t sample);

}  // namespace nocopy
