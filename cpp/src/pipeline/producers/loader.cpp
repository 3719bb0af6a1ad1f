// Loader: the batch engine over an image producer.
#include "nocopy/pipeline/producers/loader.hpp"

#include <memory>
#include <utility>

namespace nocopy {

Loader::Loader(View images, std::optional<View> labels, const LoaderOptions& options)
    : Loader(image_source(std::move(images)), std::move(labels), options) {}

Loader::Loader(ImageSet images, std::optional<View> labels, const LoaderOptions& options)
    : Loader(image_source(std::move(images)), std::move(labels), options) {}

Loader::Loader(ImageSourcePtr images, std::optional<View> labels, const LoaderOptions& options)
    : TypedLoader(
          std::make_unique<ImageProducer>(std::move(images), std::move(labels), validated(options)),
          options),
      options_(options) {}

Loader::Loader(ImageSourcePtr images, std::optional<View> labels, const LoaderOptions& options,
               TransformProgramPtr transforms, BatchMixPtr batch_transforms)
    : Loader(std::move(images), std::move(labels), options, std::move(transforms),
             std::move(batch_transforms), nullptr) {}

Loader::Loader(ImageSourcePtr images, std::optional<View> labels, const LoaderOptions& options,
               TransformProgramPtr transforms, BatchMixPtr batch_transforms, SampleOrderPtr order)
    : TypedLoader(std::make_unique<ImageProducer>(std::move(images), std::move(labels),
                                                  validated(options), std::move(transforms),
                                                  std::move(batch_transforms), std::move(order)),
                  options),
      options_(options) {}

void inject_loader_fault_for_testing(Loader& loader, int64_t sample) {
  loader.inject_fault_for_testing(sample);
}

}  // namespace nocopy
