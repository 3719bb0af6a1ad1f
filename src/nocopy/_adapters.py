"""Hand-off of views to NumPy, PyTorch, TensorFlow and JAX: zero-copy or a clear BufferError.

Each ``to_*`` function shares memory by default and checks afterwards that the framework really
did (by data pointer); when the target cannot share the view as it is, it raises BufferError
with the reason, unless ``copy=True`` asks for the one explicit copy. Frameworks are imported
lazily, only when used.
"""

from __future__ import annotations

import numpy as np

from ._api import copy_of, view
from ._dtypes import numpy_dtype


def _shared_or_raise(v, result_ptr: int, target: str) -> None:
    """Raise BufferError if the framework's result does not point at the view's memory."""
    if v.size > 0 and result_ptr != v.data_ptr:
        raise BufferError(
            f"{target} copied the data instead of sharing it (view at {v.data_ptr:#x}, result at "
            f"{result_ptr:#x}); pass copy=True to accept a copy")


def _require_compact(v, target: str) -> None:
    if not v.is_contiguous:
        raise BufferError(
            f"{target} needs compact row-major strides to share memory, but this view has "
            f"shape {v.shape} and byte strides {v.strides}; pass copy=True for a contiguous copy "
            "(or use nc.ascontiguous(v))")


def to_numpy(x, copy: bool = False) -> np.ndarray:
    """A NumPy array over the view's memory (read-only when the view is). ``copy=True`` returns
    an independent copy instead."""
    v = view(x)
    if v.device != "cpu":
        raise BufferError(f"the view is on {v.device}, not host memory; move it to the CPU with "
                          "its own framework first")
    if copy:
        v = copy_of(v)
    if v._dtype_name == "bfloat16":
        dt = numpy_dtype("bfloat16")
        if isinstance(dt, str):
            raise BufferError("NumPy has no bfloat16 without the ml_dtypes package; "
                              "use to_torch/to_jax or v.reinterpret('uint16')")
        return np.asarray(v.reinterpret("uint16")).view(dt)
    return np.asarray(v)


_torch_from_capsule = None


def _torch_importer():
    """torch's capsule importer (its C entry point when present: from_dlpack's Python-level
    negotiation costs more than the import itself)."""
    global _torch_from_capsule
    if _torch_from_capsule is None:
        import torch

        _torch_from_capsule = getattr(torch._C, "_from_dlpack", None) or torch.from_dlpack
    return _torch_from_capsule


def to_torch(x, copy: bool = False):
    """A torch.Tensor sharing the view's memory. torch has no read-only tensors, so a read-only
    view raises BufferError unless ``copy=True``; so do negative strides (torch cannot hold them).
    """
    from_capsule = _torch_from_capsule or _torch_importer()
    v = view(x)
    if copy:
        return from_capsule(copy_of(v).__dlpack__(max_version=(1, 1)))
    if v.readonly:
        raise BufferError(
            "torch has no read-only tensors, so a read-only view cannot be shared with torch "
            "without letting it write; pass copy=True for a writable copy, or use v.to_numpy() "
            "for a read-only NumPy array")
    t = from_capsule(v.__dlpack__(max_version=(1, 1)))
    if t.data_ptr() != v.data_ptr:
        _shared_or_raise(v, t.data_ptr(), "torch")
    return t


def _immutable_export(v):
    """An object whose __dlpack__ gives a legacy capsule even for read-only views; only for
    TensorFlow and JAX, whose tensors are immutable."""

    class _Export:
        def __dlpack__(self, stream=None, max_version=None, dl_device=None, copy=None):
            return v._immutable_consumer_capsule()

        def __dlpack_device__(self):
            return v.__dlpack_device__()

    return _Export()


def to_tf(x, copy: bool = False):
    """A tf.Tensor sharing the view's memory (TensorFlow tensors are immutable, so read-only
    views are fine). TensorFlow needs compact row-major strides; it shares only memory aligned
    to 64 bytes and otherwise copies, which this function detects and reports."""
    import tensorflow as tf

    v = view(x)
    if copy:
        v = copy_of(v)
    else:
        _require_compact(v, "TensorFlow")
    t = tf.experimental.dlpack.from_dlpack(v._immutable_consumer_capsule())
    if not copy:
        got = view(tf.experimental.dlpack.to_dlpack(t)).data_ptr
        _shared_or_raise(v, got, "TensorFlow")
    return t


def to_jax(x, copy: bool = False):
    """A jax.Array sharing the view's memory (JAX arrays are immutable, so read-only views are
    fine). JAX needs compact row-major strides and copies CPU buffers that are not suitably
    aligned, which this function detects and reports."""
    import jax

    v = view(x)
    if copy:
        v = copy_of(v)
    else:
        _require_compact(v, "JAX")
    arr = jax.dlpack.from_dlpack(_immutable_export(v))
    if not copy:
        _shared_or_raise(v, arr.unsafe_buffer_pointer(), "JAX")
    return arr
