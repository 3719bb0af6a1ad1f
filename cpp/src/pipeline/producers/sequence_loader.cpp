// SequenceLoader: the batch engine over a sequence producer.
#include "nocopy/pipeline/producers/sequence_loader.hpp"

#include <memory>
#include <utility>

namespace nocopy {

SequenceLoader::SequenceLoader(std::vector<View> sources, const SequenceOptions& options,
                               const std::optional<SequenceMixture>& mixture)
    : TypedLoader(std::make_unique<SequenceProducer>(std::move(sources), options, mixture),
                  options) {}

SequenceLoader::SequenceLoader(LazySequences sources, const SequenceOptions& options,
                               const std::optional<SequenceMixture>& mixture)
    : TypedLoader(std::make_unique<SequenceProducer>(std::move(sources), options, mixture),
                  options) {}

}  // namespace nocopy
