// VideoLoader: the batch engine over a video producer.
#include "nocopy/pipeline/producers/video_loader.hpp"

#include <memory>
#include <utility>

namespace nocopy {

VideoLoader::VideoLoader(VideoSourcePtr videos, std::optional<View> labels,
                         const VideoLoaderOptions& options, VideoTransformPtr transforms,
                         SampleOrderPtr order)
    : TypedLoader(std::make_unique<VideoProducer>(std::move(videos), std::move(labels), options,
                                                  std::move(transforms), std::move(order)),
                  options) {}

}  // namespace nocopy
