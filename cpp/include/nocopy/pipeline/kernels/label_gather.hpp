// The label of one sample copied into its batch slot: row `sample` of a labels array of any
// shape, dtype and strides, written dense.
#pragma once

#include <cstdint>
#include <span>

#include "nocopy/core/view.hpp"

namespace nocopy {

/// Copies labels[sample] (the axes after the first, `label_shape`) densely to `dst`. The caller
/// guarantees sample is in range and dst holds the row's bytes.
void gather_label(const View& labels, std::span<const int64_t> label_shape, int64_t sample,
                  char* dst);

}  // namespace nocopy
