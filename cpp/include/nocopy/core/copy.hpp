// The explicit copies: strided copy from one view into another (same or converting dtype), and
// a copy into a new C-contiguous array. These are the only core functions that copy elements.
//
// Casting follows NumPy's astype (unsafe casting) with the C++ undefined cases defined: float ->
// integer truncates toward zero and saturates to the integer's range, NaN -> 0; anything -> bool
// is != 0; complex -> real keeps the real part. Large copies are split over threads.
#pragma once

#include <optional>

#include "nocopy/core/view.hpp"

namespace nocopy {

/// Bytes (read + written) below which a copy runs on the calling thread only: smaller copies
/// mostly hit the cache, where starting a helper thread costs more than it saves.
inline constexpr int64_t kParallelCopyBytes = int64_t{4} << 20;

/// Copies every element of `src` into `dst`, converting to dst's dtype; the shapes must be equal
/// (std::invalid_argument), dst writable (BufferError), both on the host. When the two byte ranges
/// overlap, the copy goes through a temporary so the result equals NumPy's `dst[...] = src`.
/// num_threads: 0 = all hardware threads; copies under kParallelCopyBytes use one. If dst itself
/// has overlapping elements (zero strides), which source element lands there is unspecified.
void copy(const View& src, const View& dst, int num_threads = 0);

/// Converts `n` elements of dtype `from` at `src` (byte stride `src_stride`) into `n` elements of
/// dtype `to` at `dst` (byte stride `dst_stride`) with copy()'s casting rules, on this thread and
/// without any checks: copy()'s inner loop, for callers that have checked their own bounds and
/// convert many short runs (the sequence loader's windows), where copy()'s planning would cost
/// more than the conversion. The ranges must not overlap.
void convert_elements(const void* src, int64_t src_stride, DType from, void* dst,
                      int64_t dst_stride, DType to, int64_t n);

/// A new 64-byte aligned, C-contiguous, writable array holding a copy of `src`, converted to
/// `dtype` when given (NumPy's ascontiguousarray / astype / copy). Throws CopyForbiddenError
/// inside a no-copy scope on this thread (copy_policy.hpp).
View copy_new(const View& src, std::optional<DType> dtype = {}, int num_threads = 0);

}  // namespace nocopy
