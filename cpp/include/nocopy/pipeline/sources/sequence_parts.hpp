// Sequence parts end to end: the datasets of a mixture, some given up front (views), some opened
// on demand (a remote token dataset's shards), read as one list of sequences opened on demand.
// A view is "opened" at once (it is already there); a part opened on demand keeps its provider,
// each of its sequences opened and hinted through it by its own number.
#pragma once

#include <variant>
#include <vector>

#include "nocopy/core/view.hpp"
#include "nocopy/pipeline/sources/sequence_source.hpp"

namespace nocopy {

/// One part: sequences given up front, or opened on demand.
using SequencePart = std::variant<std::vector<View>, LazySequences>;

/// The parts' sequences end to end as sequences opened on demand: their lengths, dtype and row
/// shape (every part's the same: std::invalid_argument naming the part otherwise), and as many
/// kept open as the parts opened on demand keep together plus one per view.
LazySequences concat_sequence_parts(std::vector<SequencePart> parts);

}  // namespace nocopy
