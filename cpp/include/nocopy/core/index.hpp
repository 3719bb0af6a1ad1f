// Basic-indexing items (integer, slice, ellipsis, newaxis) with NumPy semantics.
//
// The bindings turn a Python index (an int, a slice, Ellipsis, None or a tuple of them) into a
// list of IndexItem; View::index applies it. Kept apart from View so parsers can be fuzzed.
#pragma once

#include <cstdint>
#include <optional>

namespace nocopy {

/// One element of an index tuple.
struct IndexItem {
  /// What the item selects.
  enum class Kind : uint8_t { Integer, Slice, Ellipsis, NewAxis };

  /// Which of the four kinds this item is.
  Kind kind = Kind::Slice;
  /// Integer: the index (negative counts from the end). Slice: start when has_start.
  int64_t start = 0;
  /// Slice: stop when has_stop.
  int64_t stop = 0;
  /// Slice: step, never 0 (default 1).
  int64_t step = 1;
  /// Slice: false means "from the natural beginning" (like a missing start in Python).
  bool has_start = false;
  /// Slice: false means "to the natural end".
  bool has_stop = false;

  /// An integer index: removes the axis.
  static IndexItem integer(int64_t i);
  /// A slice start:stop:step; std::nullopt for an omitted bound. Throws std::invalid_argument
  /// for a zero step.
  static IndexItem slice(std::optional<int64_t> start, std::optional<int64_t> stop,
                         int64_t step = 1);
  /// `...`: as many full slices as needed.
  static IndexItem ellipsis();
  /// `None`: inserts an axis of length 1.
  static IndexItem new_axis();
};

/// The resolved form of a slice on an axis of length `length`: first element, step and count.
struct SliceRange {
  int64_t start;
  int64_t step;
  int64_t count;
};

/// Resolves a slice against an axis length exactly like Python's slice.indices / NumPy:
/// negative bounds count from the end, out-of-range bounds clamp.
SliceRange resolve_slice(const IndexItem& item, int64_t length);

}  // namespace nocopy
