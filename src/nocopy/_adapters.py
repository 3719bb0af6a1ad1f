"""Hand-off of views to NumPy, PyTorch, TensorFlow and JAX: zero-copy or a clear BufferError.

Each ``to_*`` function shares memory by default and checks afterwards that the framework really
did (by data pointer); when the target cannot share the view as it is, it raises BufferError
with the reason, unless ``copy=True`` asks for the one explicit copy. Frameworks are imported
lazily, only when used.
"""

from __future__ import annotations

import numpy as np

from ._views import copy_of, view
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
    an independent copy instead.

    >>> a = np.arange(6, dtype=np.int32).reshape(2, 3)
    >>> b = nc.view(a)[:, 1:].to_numpy()
    >>> b.shape, np.shares_memory(a, b)
    ((2, 2), True)
    """
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

    >>> images = np.zeros((4, 64, 64, 3), np.uint8)
    >>> t = nc.center_crop(images, 32).permute(0, 3, 1, 2).to_torch()   # NCHW, same memory
    >>> tuple(t.shape), nc.shares_memory(t, images)
    ((4, 3, 32, 32), True)
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


def _require_tf_aligned(v) -> None:
    """TensorFlow's kernels CHECK that tensor data is 64-byte aligned and abort the process
    otherwise (TF 2.21, e.g. tf.gather, tf.reduce_sum, t + 1), although its DLPack import
    accepts any address: refuse such views before TF sees them."""
    if v.size > 0 and v.data_ptr % _TF_ALIGNMENT:
        raise BufferError(
            f"TensorFlow kernels need data aligned to {_TF_ALIGNMENT} bytes (on misaligned data "
            "ops such as tf.gather abort the process), but this view starts at "
            f"{v.data_ptr:#x}, {v.data_ptr % _TF_ALIGNMENT} bytes past a boundary; pass "
            "copy=True for an aligned copy, or keep the data in memory nocopy allocated "
            "(v.copy(), nc.SharedArray, nc.create_npy)")


_TF_ALIGNMENT = 64


def to_tf(x, copy: bool = False):
    """A tf.Tensor sharing the view's memory (TensorFlow tensors are immutable, so read-only
    views are fine). TensorFlow needs compact row-major strides and data aligned to 64 bytes:
    its DLPack import accepts any address (TF 2.21), but kernels such as tf.gather and
    tf.reduce_sum then abort the whole process on misaligned data, so such views raise
    BufferError here (copy=True gives an aligned copy; NumPy's large arrays usually start 16
    bytes past a boundary, nocopy's own allocations never do). If TF ever copies instead of
    sharing, this function detects it by data pointer and raises BufferError.

    >>> import tensorflow as tf
    >>> a = nc.view(np.arange(64, dtype=np.float32)).copy().reshape(8, 8)   # 64-byte aligned
    >>> t = a[1:].to_tf()                               # rows of 32 bytes: 32 is not aligned
    Traceback (most recent call last):
    BufferError: TensorFlow kernels need data aligned to 64 bytes...
    >>> t = a.to_tf()
    >>> tuple(t.shape), nc.shares_memory(t, a), float(tf.reduce_sum(t))
    ((8, 8), True, 2016.0)
    """
    import tensorflow as tf

    v = view(x)
    if copy:
        v = copy_of(v)
    else:
        _require_compact(v, "TensorFlow")
        _require_tf_aligned(v)
    t = tf.experimental.dlpack.from_dlpack(v._immutable_consumer_capsule())
    if not copy:
        got = view(tf.experimental.dlpack.to_dlpack(t)).data_ptr
        _shared_or_raise(v, got, "TensorFlow")
    return t


def to_jax(x, copy: bool = False):
    """A jax.Array sharing the view's memory (JAX arrays are immutable, so read-only views are
    fine). JAX needs compact row-major strides and copies CPU buffers that are not suitably
    aligned, which this function detects and reports.

    >>> a = np.frombuffer(bytearray(4 * 64 * 5), np.float32)
    >>> aligned = a[(-a.ctypes.data % 64) // 4:][:64].reshape(8, 8)   # 64-byte aligned memory
    >>> x = nc.view(aligned).to_jax()
    >>> x.shape, nc.shares_memory(x, aligned)
    ((8, 8), True)
    """
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
