// Loader: batches of images with crop / resize / mirror / normalize fused into one pass, and
// their labels: the batch engine (position, epochs, prefetch, worker threads, resume, errors,
// statistics; engine/batch_engine.hpp) running the image producer (what each slot holds;
// image_producer.hpp), with typed plans (BatchPlan) and batches (Batch).
//
// The loader is a stream over epochs (the epoch rule: engine/engine_state.hpp). What a batch
// holds is a pure function of (seed, epoch, batch index) (see ImageProducer), so a state saved
// with state() and restored with load_state() continues with identical bytes, whatever the
// thread count. Batch views own their buffer: a batch kept by the caller is never reused.
// Options: producers/loader_options.hpp.
#pragma once

#include <cstdint>
#include <optional>

#include "nocopy/core/view.hpp"
#include "nocopy/pipeline/producers/image_producer.hpp"
#include "nocopy/pipeline/producers/loader_options.hpp"
#include "nocopy/pipeline/producers/typed_loader.hpp"
#include "nocopy/pipeline/sources/image_source.hpp"

namespace nocopy {

/// The multithreaded, prefetching, deterministic image batch loader.
class Loader : public TypedLoader<ImageProducer> {
 public:
  /// images: (N, H, W, C) on the CPU, any strides; labels: first axis N, any dtype, or none.
  /// Validates everything up front (std::invalid_argument / BufferError with the value and the
  /// limit) and starts the worker threads; no work happens before the first next().
  Loader(View images, std::optional<View> labels, const LoaderOptions& options);
  /// The same over an ImageSet of different-size images, raw or JPEG (labels, when given, have
  /// first axis N; the set's own labels are not implied here).
  Loader(ImageSet images, std::optional<View> labels, const LoaderOptions& options);
  /// The same over any image source (sources/image_source.hpp).
  Loader(ImageSourcePtr images, std::optional<View> labels, const LoaderOptions& options);
  /// The same with a transforms pipeline in place of the shorthand augmentation options, and
  /// batch transforms (either may be null; ImageProducer's constructor says what is checked).
  Loader(ImageSourcePtr images, std::optional<View> labels, const LoaderOptions& options,
         TransformProgramPtr transforms, BatchMixPtr batch_transforms);
  /// The same with the epochs following `order` (a Mixture's MixtureOrder over the images);
  /// any of the three may be null.
  Loader(ImageSourcePtr images, std::optional<View> labels, const LoaderOptions& options,
         TransformProgramPtr transforms, BatchMixPtr batch_transforms, SampleOrderPtr order);

  /// The options as given.
  const LoaderOptions& options() const { return options_; }
  /// The options resolved against the images (what the plans and the kernels use).
  const LoaderConfig& config() const { return typed_producer().config(); }

 private:
  LoaderOptions options_;
};

/// Test-only seam (not an option): workers of `loader` fail with a std::runtime_error when they
/// reach dataset index `sample` (-1: never), so tests can check how failures are delivered.
void inject_loader_fault_for_testing(Loader& loader, int64_t sample);

}  // namespace nocopy
