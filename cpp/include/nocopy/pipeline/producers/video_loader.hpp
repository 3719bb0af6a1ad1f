// VideoLoader: batches of video clips and their labels: the batch engine (position, epochs,
// prefetch, worker threads, resume, errors, statistics; engine/batch_engine.hpp) running the
// video producer (what each slot holds; video_producer.hpp), with typed plans (VideoPlan) and
// batches (VideoBatch). What a batch holds is a pure function of (seed, epoch, batch index).
#pragma once

#include <cstdint>
#include <optional>

#include "nocopy/core/view.hpp"
#include "nocopy/pipeline/producers/typed_loader.hpp"
#include "nocopy/pipeline/producers/video_options.hpp"
#include "nocopy/pipeline/producers/video_producer.hpp"

namespace nocopy {

/// The multithreaded, prefetching, deterministic video clip loader.
class VideoLoader : public TypedLoader<VideoProducer> {
 public:
  /// videos: a VideoSet's source; labels: first axis N, any dtype, or none; transforms: a
  /// compiled nocopy.transforms pipeline drawn once per clip, or null (frames as decoded);
  /// order: a mixture's order of clip ids, or null (every clip once an epoch). Validates
  /// everything up front (std::invalid_argument naming the value and the limit) and starts the
  /// worker threads; no work happens before the first next().
  VideoLoader(VideoSourcePtr videos, std::optional<View> labels, const VideoLoaderOptions& options,
              VideoTransformPtr transforms = nullptr, SampleOrderPtr order = nullptr);

  /// Clips per epoch over all ranks (videos x clips_per_video, or a mixture's size).
  int64_t clips_per_epoch() const { return typed_producer().epoch_size(); }
  /// The options (validated).
  const VideoLoaderOptions& options() const { return typed_producer().options(); }
};

}  // namespace nocopy
