// SequenceLoader: the batch engine over a sequence producer.
#include "nocopy/pipeline/producers/sequence_loader.hpp"

#include <memory>
#include <utility>

namespace nocopy {

SequenceLoader::SequenceLoader(std::vector<View> sources, const SequenceOptions& options)
    : TypedLoader(std::make_unique<SequenceProducer>(std::move(sources), options), options) {}

SequenceLoader::SequenceLoader(LazySequences sources, const SequenceOptions& options)
    : TypedLoader(std::make_unique<SequenceProducer>(std::move(sources), options), options) {}

}  // namespace nocopy
