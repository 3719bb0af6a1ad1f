// Sliding-window geometry: one more axis, the windowed axis's stride scaled by the step.
#include "nocopy/core/sliding_window.hpp"

#include <stdexcept>
#include <string>
#include <vector>

#include "internal/checked_math.hpp"

namespace nocopy {

int64_t window_count(int64_t length, int64_t size, int64_t step) {
  if (size > length) return 0;
  return (length - size) / step + 1;
}

View sliding_windows(const View& v, int64_t size, int64_t step, int64_t axis) {
  const int64_t ax = v.normalize_axis(axis);
  const int64_t length = v.shape()[static_cast<size_t>(ax)];
  if (size < 0) {
    throw std::invalid_argument("window size " + std::to_string(size) + " must be >= 0");
  }
  if (step < 1) {
    throw std::invalid_argument("window step " + std::to_string(step) + " must be >= 1");
  }
  if (size > length) {
    throw std::invalid_argument("window size " + std::to_string(size) + " is larger than axis " +
                                std::to_string(ax) + " of length " + std::to_string(length) +
                                " in shape " + format_tuple(v.shape()));
  }
  const int64_t count = window_count(length, size, step);
  std::vector<int64_t> shape = v.shape();
  std::vector<int64_t> strides = v.strides();
  const int64_t stride = strides[static_cast<size_t>(ax)];
  shape[static_cast<size_t>(ax)] = count;
  // stride * step, as NumPy's slicing gives. With one window (or none) that stride is never
  // used, and a step past the last start (valid however large) could overflow it: the axis
  // keeps the element stride.
  strides[static_cast<size_t>(ax)] =
      count > 1 ? checked_mul(stride, step, "window stride") : stride;
  shape.push_back(size);
  strides.push_back(stride);
  // Two windows share an element when a later one starts before an earlier one ends.
  const bool overlap = count > 1 && step < size;
  return View(v.data(), v.dtype(), std::move(shape), std::move(strides), v.owner(),
              v.readonly() || overlap, v.device());
}

}  // namespace nocopy
