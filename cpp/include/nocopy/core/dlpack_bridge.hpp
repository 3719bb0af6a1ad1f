// Conversions between Views and DLPack managed tensors (import and export, both ABI kinds).
//
// Import takes ownership: the producer's deleter is called exactly once, when the last view of
// the memory is gone (or at once if the tensor is rejected). Export hands the consumer a tensor
// that keeps the view's owner alive until the consumer calls the deleter.
#pragma once

#include "nocopy/core/dlpack.hpp"
#include "nocopy/core/view.hpp"

namespace nocopy {

/// Wraps a versioned DLPack tensor; its READ_ONLY flag makes the view read-only. On error
/// (unsupported dtype, bad geometry, major version != 1) the deleter is called and an exception
/// thrown.
View import_dlpack(DLManagedTensorVersioned* tensor);

/// Wraps a legacy DLPack tensor (null strides mean row-major). Same ownership rules.
View import_dlpack(DLManagedTensor* tensor);

/// Exports a view as a versioned tensor (flags carry read-only and, when `copied`, IS_COPIED).
/// Throws BufferError for negative strides, naming the axis.
DLManagedTensorVersioned* export_dlpack_versioned(const View& view, bool copied = false);

/// Exports a view as a legacy tensor. Throws BufferError for negative strides and for read-only
/// views (a legacy consumer cannot be told not to write).
DLManagedTensor* export_dlpack_legacy(const View& view);

/// Throws BufferError unless every stride is >= 0 (what DLPack consumers accept).
void require_nonnegative_strides(const View& view);

}  // namespace nocopy
