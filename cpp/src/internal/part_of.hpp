// Which part of several laid end to end holds an index: the one shared lookup of the sources
// that read many sets as one (shards, a mixture's datasets).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace nocopy::internal {

/// The part holding index i, given each part's first index (`offsets`, increasing, offsets[0]
/// == 0) and i in [0, total).
inline size_t part_of(const std::vector<int64_t>& offsets, int64_t i) {
  const auto it = std::upper_bound(offsets.begin(), offsets.end(), i);
  return static_cast<size_t>(it - offsets.begin()) - 1;
}

}  // namespace nocopy::internal
