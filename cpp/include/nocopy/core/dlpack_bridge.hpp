// Conversions between Views and DLPack managed tensors (import and export, both ABI kinds), and
// nocopy's export policy (what __dlpack__ hands out, and when it refuses).
//
// Import takes ownership: the producer's deleter is called exactly once, when the last view of
// the memory is gone (or at once if the tensor is rejected). Export hands the consumer a tensor
// that keeps the view's owner alive until the consumer calls the deleter.
#pragma once

#include <optional>

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

/// What a consumer asked of __dlpack__ (already parsed and type-checked by the caller).
struct DLPackRequest {
  /// True when the consumer accepts DLPack >= 1.0 (max_version major >= 1): versioned tensor.
  bool versioned = false;
  /// copy=true: always a fresh copy; false or unset: never copy.
  std::optional<bool> copy;
  /// The device the consumer wants the tensor on; unset means the view's own.
  std::optional<Device> device;
};

/// A tensor handed to a consumer: exactly one of the two is set; the consumer owns it.
struct DLPackExport {
  /// Set for a versioned request.
  DLManagedTensorVersioned* versioned = nullptr;
  /// Set for a legacy request.
  DLManagedTensor* legacy = nullptr;
};

/// The export policy of __dlpack__: a view on another device than requested is a BufferError;
/// copy=true exports a fresh C-contiguous copy (flagged IS_COPIED; CopyForbiddenError inside a
/// no-copy scope); otherwise read-only views are refused with BufferError (torch ignores the
/// READ_ONLY flag and would write) and negative strides with BufferError naming the axis.
DLPackExport export_for_consumer(const View& view, const DLPackRequest& request);

/// A legacy tensor for consumers whose tensors are immutable (TensorFlow, JAX): they never
/// write, so a read-only view may be shared although the legacy ABI has no read-only flag.
DLManagedTensor* export_for_immutable_consumer(const View& view);

}  // namespace nocopy
