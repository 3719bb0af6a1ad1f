// Several image sources read as one (the shards of a sharded ImageSet, the datasets of a
// Mixture): sample i of the combined source is sample i - offsets[d] of part d, the part whose
// range holds i. The parts must agree on channels and element type; their images may differ in
// size (the combined source lists every size).
#pragma once

#include <vector>

#include "nocopy/pipeline/sources/image_source.hpp"

namespace nocopy {

/// The parts end to end, as one source; one part is returned as it is. std::invalid_argument
/// for no parts, an empty part, or parts that differ in channels or dtype (naming them).
ImageSourcePtr concat_image_sources(std::vector<ImageSourcePtr> parts);

}  // namespace nocopy
