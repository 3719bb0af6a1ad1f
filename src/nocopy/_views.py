"""The public functions on views: view, crop, center_crop, ascontiguous, shares_memory."""

from __future__ import annotations

import numpy as np

from . import _nocopy
from ._dtypes import dtype_name
from ._nocopy import View


def view(obj) -> View:
    """A zero-copy View of ``obj``: a NumPy / torch / TensorFlow / JAX array, bytes (read-only),
    bytearray, mmap, memoryview, any buffer-protocol or ``__dlpack__`` object, or a DLPack
    capsule. The source stays alive as long as the view (or anything made from it) lives.
    Never copies.

    >>> import numpy as np, nocopy as nc
    >>> a = np.arange(12, dtype=np.uint8).reshape(3, 4)
    >>> v = nc.view(a)[1:, ::2]
    >>> v.shape, v.strides
    ((2, 2), (4, 2))
    """
    if type(obj) is View:
        return obj
    if getattr(getattr(obj, "dtype", None), "name", None) == "bfloat16" and isinstance(
            obj, np.ndarray):
        # NumPy bfloat16 (ml_dtypes) exports neither a buffer format nor DLPack: the same bytes
        # seen as uint16, relabelled. Still zero-copy.
        return _nocopy.view(obj.view(np.uint16)).reinterpret("bfloat16")
    try:
        return _nocopy.view(obj)
    except (BufferError, RuntimeError):
        # torch refuses __dlpack__ on tensors that require grad; the memory is the same.
        if getattr(obj, "requires_grad", False) and hasattr(obj, "detach"):
            return _nocopy.view(obj.detach())
        raise


def crop(x, top: int, left: int, height: int, width: int, axes=(-3, -2)) -> View:
    """Window ``[top:top+height, left:left+width]`` on two axes (default: H, W of an (..., H, W,
    C) array, so a batch (N, H, W, C) is cropped image by image). Never copies.

    >>> nc.crop(np.zeros((32, 512, 512, 3), np.uint8), 10, 20, 256, 256).shape
    (32, 256, 256, 3)
    """
    return view(x)._crop(top, left, height, width, tuple(axes))


def center_crop(x, size, axes=(-3, -2)) -> View:
    """Centered window of ``size`` (an int or (height, width)) on two axes; the offset rounds
    down. Never copies.

    >>> nc.center_crop(np.zeros((512, 512, 3), np.uint8), 256).shape
    (256, 256, 3)
    """
    h, w = (size, size) if isinstance(size, (int, np.integer)) else size
    return view(x)._center_crop(h, w, tuple(axes))


def copy_of(x, dtype=None, num_threads: int = 0) -> View:
    """A new 64-byte aligned, C-contiguous copy of ``x`` (optionally converted to ``dtype``),
    made by nocopy's multithreaded strided copy. Always copies (refused inside nc.no_copy())."""
    v = view(x)
    return _nocopy.ascontiguous(v, None if dtype is None else dtype_name(dtype), num_threads)


def ascontiguous(x, dtype=None, num_threads: int = 0) -> View:
    """``x`` as a C-contiguous view: the view itself when it already is one (with the requested
    dtype), else a copy (new 64-byte aligned memory, multithreaded strided copy).

    >>> nc.ascontiguous(nc.view(np.zeros((4, 4)))[:, ::2]).is_contiguous
    True
    """
    v = view(x)
    if v.is_contiguous and (dtype is None or dtype_name(dtype) == v._dtype_name):
        return v
    return copy_of(v, dtype, num_threads)


def _host_bytes(v: View):
    """A NumPy array over exactly the view's elements (bfloat16 seen as uint16)."""
    if v._dtype_name == "bfloat16":
        v = v.reinterpret("uint16")
    return np.asarray(v)


def shares_memory(a, b) -> bool:
    """True when two arrays of any framework (or views) have at least one byte in common.
    Exact (like ``np.shares_memory``) for host memory; arrays on different devices never share.

    >>> a = np.zeros(10); nc.shares_memory(a[:5], a[4:]), nc.shares_memory(a[:5], a[5:])
    (True, False)
    """
    va, vb = view(a), view(b)
    if va.device != vb.device:
        return False
    (a0, a1), (b0, b1) = va.byte_extent, vb.byte_extent
    if not (a0 < b1 and b0 < a1):
        return False
    if va.device != "cpu":
        return True  # overlapping address ranges on one device
    try:
        return bool(np.shares_memory(_host_bytes(va), _host_bytes(vb), max_work=10**6))
    except np.exceptions.TooHardError:
        return True
