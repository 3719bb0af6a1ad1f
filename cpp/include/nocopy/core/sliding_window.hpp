// Sliding windows: every `size`-long run of one axis, every `step` elements, as one view.
//
// The result is NumPy's sliding_window_view(x, size, axis)[..., ::step, :]: the windowed axis
// keeps its place and counts windows, and a new last axis runs along each window. Only strides
// change, so it never copies; windows that overlap share elements, so that view is read-only.
#pragma once

#include <cstdint>

#include "nocopy/core/view.hpp"

namespace nocopy {

/// Windows whose start advances by `step` (>= 1) along `axis`, each `size` (>= 0, at most the
/// axis length) elements long, on a new last axis. Read-only when two windows overlap.
/// std::invalid_argument names the size, step and axis length otherwise.
View sliding_windows(const View& v, int64_t size, int64_t step = 1, int64_t axis = -1);

/// Number of windows of `size` every `step` in an axis of `length` (0 when size > length).
int64_t window_count(int64_t length, int64_t size, int64_t step);

}  // namespace nocopy
