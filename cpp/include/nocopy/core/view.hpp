// View: a typed, strided, N-dimensional window on memory that someone else owns.
//
// A view is a pointer + dtype + shape + strides (in elements) + read-only flag + device + a shared
// owner. Every operation here is O(ndim) and never copies: it returns a new view of the same
// memory with the same owner, so memory lives as long as the last view of it.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "nocopy/core/device.hpp"
#include "nocopy/core/dtype.hpp"
#include "nocopy/core/index.hpp"
#include "nocopy/core/owner.hpp"

namespace nocopy {

/// Most axes a view may have (NumPy's limit).
inline constexpr int64_t kMaxDims = 64;

/// A half-open byte address range [begin, end); empty when begin == end.
struct ByteRange {
  uintptr_t begin = 0;
  uintptr_t end = 0;
  /// True when the two ranges have at least one byte in common.
  bool overlaps(const ByteRange& o) const { return begin < o.end && o.begin < end; }
};

/// A zero-copy N-d view of memory held alive by its owner.
class View {
 public:
  /// An empty 0-element, 1-d uint8 view with no owner.
  View();

  /// Wraps memory: checks ndim <= 64, non-negative shape, and that the byte extent fits in
  /// int64 (std::invalid_argument / std::overflow_error otherwise). `strides` are in elements.
  View(void* data, DType dtype, std::vector<int64_t> shape, std::vector<int64_t> strides,
       OwnerPtr owner, bool readonly = false, Device device = {});

  /// Wraps memory laid out in C (row-major) order.
  static View c_contiguous(void* data, DType dtype, std::vector<int64_t> shape, OwnerPtr owner,
                           bool readonly = false);

  /// Allocates a new 64-byte aligned, C-contiguous, writable array (uninitialized).
  static View empty(DType dtype, std::vector<int64_t> shape);

  // --- geometry ---------------------------------------------------------------------------
  /// Address of element (0, ..., 0).
  void* data() const { return data_; }
  /// Typed address of element (0, ..., 0).
  template <class T>
  T* data_as() const {
    return static_cast<T*>(data_);
  }
  /// Element type.
  DType dtype() const { return dtype_; }
  /// Element size in bytes.
  size_t itemsize() const { return nocopy::itemsize(dtype_); }
  /// Number of axes (0 for a scalar view).
  int64_t ndim() const { return static_cast<int64_t>(shape_.size()); }
  /// Extent of each axis (elements).
  const std::vector<int64_t>& shape() const { return shape_; }
  /// Strides in elements (NumPy's byte strides divided by the item size).
  const std::vector<int64_t>& strides() const { return strides_; }
  /// Number of elements (product of the shape).
  int64_t size() const { return size_; }
  /// size() * itemsize().
  int64_t nbytes() const { return size_ * static_cast<int64_t>(itemsize()); }
  /// True when writes through this view are refused (bytes, read-only mappings, ...).
  bool readonly() const { return readonly_; }
  /// Where the memory lives (host memory unless imported from a device tensor).
  const Device& device() const { return device_; }
  /// What keeps the memory alive; shared by every view of it (may be null for raw wraps).
  const OwnerPtr& owner() const { return owner_; }

  /// Row-major contiguous (size-1 axes and empty views ignore strides, like NumPy).
  bool is_c_contiguous() const;
  /// Column-major contiguous.
  bool is_f_contiguous() const;
  /// The bytes the view can touch, for overlap tests.
  ByteRange byte_extent() const;
  /// Axis number in [0, ndim) for a possibly negative `axis`; std::out_of_range otherwise.
  int64_t normalize_axis(int64_t axis) const;
  /// Throws BufferError naming `what` when the memory is not on the CPU.
  void require_host(const char* what) const;
  /// Throws BufferError naming `what` when the view is read-only.
  void require_writable(const char* what) const;

  // --- copy-free operations ---------------------------------------------------------------
  /// NumPy basic indexing (integers, slices, one ellipsis, newaxis).
  View index(std::span<const IndexItem> items) const;
  /// Slice of one axis: start:stop:step with Python semantics.
  View slice(int64_t axis, std::optional<int64_t> start, std::optional<int64_t> stop,
             int64_t step = 1) const;
  /// Reorders axes: result axis i is input axis axes[i] (a permutation; negatives allowed).
  View permute(std::span<const int64_t> axes) const;
  /// Reverses the order of all axes.
  View transpose() const;
  /// Reverses one axis (negative stride afterwards).
  View flip(int64_t axis) const;
  /// Same elements in a new shape (one -1 allowed) when strides allow it; std::invalid_argument
  /// saying a copy is needed otherwise.
  View reshape(std::span<const int64_t> new_shape) const;
  /// Window rows [top, top+height) x cols [left, left+width) on the two given axes.
  View crop(int64_t top, int64_t left, int64_t height, int64_t width,
            std::pair<int64_t, int64_t> axes = {-3, -2}) const;
  /// Centered window of (height, width) on the two given axes (offset rounds down).
  View center_crop(int64_t height, int64_t width,
                   std::pair<int64_t, int64_t> axes = {-3, -2}) const;
  /// The same view, marked read-only.
  View as_readonly() const;
  /// The same bytes seen as another dtype of the same item size.
  View reinterpret(DType dtype) const;

  /// "View(shape=(2, 3), dtype=float32, strides=(3, 1))" (strides in elements).
  std::string describe() const;

 private:
  void* data_;
  DType dtype_;
  std::vector<int64_t> shape_;
  std::vector<int64_t> strides_;
  int64_t size_;
  bool readonly_;
  Device device_;
  OwnerPtr owner_;
};

/// Element strides of a compact array of `shape`: row-major, or column-major when `fortran`.
/// Length-0 axes count as 1 so the strides stay meaningful; std::overflow_error when they
/// do not fit in int64.
std::vector<int64_t> contiguous_strides(std::span<const int64_t> shape, bool fortran = false);

/// "(2, 3)" for printing shapes and axes in messages.
std::string format_tuple(std::span<const int64_t> values);

}  // namespace nocopy
