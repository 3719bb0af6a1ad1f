"""Where an array's bytes live, for any framework: the byte range [lo, hi) its elements span,
a fresh byte snapshot of its logical contents, and a wait for pending (asynchronous) work.

Used by the audit's probes and by the runtime guards. Frameworks are never imported here: an
object is recognised by its type's module, so this works whatever is installed.
"""

from __future__ import annotations

import ctypes
from typing import Any

import numpy as np

# PyCapsule access for DLPack capsules (we read the DLTensor; the capsule's own destructor
# then releases the producer's memory as the protocol requires).
_get_pointer = ctypes.pythonapi.PyCapsule_GetPointer
_get_pointer.restype = ctypes.c_void_p
_get_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
_get_name = ctypes.pythonapi.PyCapsule_GetName
_get_name.restype = ctypes.c_char_p
_get_name.argtypes = [ctypes.py_object]


class _DLTensor(ctypes.Structure):
    """The DLPack DLTensor layout (data, device, ndim, dtype, shape, strides in elements,
    byte_offset), enough to find the bytes a capsule describes."""

    _fields_ = [
        ("data", ctypes.c_void_p),
        ("device_type", ctypes.c_int32),
        ("device_id", ctypes.c_int32),
        ("ndim", ctypes.c_int32),
        ("code", ctypes.c_uint8),
        ("bits", ctypes.c_uint8),
        ("lanes", ctypes.c_uint16),
        ("shape", ctypes.POINTER(ctypes.c_int64)),
        ("strides", ctypes.POINTER(ctypes.c_int64)),
        ("byte_offset", ctypes.c_uint64),
    ]


# In a versioned capsule the DLTensor follows version (2 x u32), manager_ctx, deleter, flags.
_VERSIONED_TENSOR_OFFSET = 8 + 8 + 8 + 8


def _span(ptr: int, shape, strides_bytes, itemsize: int) -> tuple[int, int]:
    """Byte range touched by an array at ``ptr`` with the given shape and byte strides."""
    if any(int(n) == 0 for n in shape):
        return (ptr, ptr)
    lo = hi = ptr
    for n, s in zip(shape, strides_bytes):
        reach = (int(n) - 1) * int(s)
        if reach < 0:
            lo += reach
        else:
            hi += reach
    return (lo, hi + itemsize)


def capsule_range(capsule) -> tuple[int, int]:
    """Byte range of the tensor a DLPack capsule (legacy or versioned) describes."""
    name = _get_name(capsule)
    p = _get_pointer(capsule, name)
    if name == b"dltensor_versioned":
        p += _VERSIONED_TENSOR_OFFSET
    t = _DLTensor.from_address(p)
    shape = [t.shape[i] for i in range(t.ndim)]
    itemsize = max(1, t.bits * t.lanes // 8)
    if t.strides:
        strides = [t.strides[i] * itemsize for i in range(t.ndim)]
    else:
        strides = _c_strides(shape, itemsize)
    return _span((t.data or 0) + t.byte_offset, shape, strides, itemsize)


def _c_strides(shape, itemsize: int) -> list[int]:
    """Row-major byte strides of a compact array."""
    out, acc = [], itemsize
    for n in reversed(shape):
        out.append(acc)
        acc *= max(int(n), 1)
    return out[::-1]


def _family(obj: Any) -> str:
    """The framework an object belongs to, from its type's module (no imports)."""
    mod = type(obj).__module__ or ""
    for fam in ("torch", "tensorflow", "jax", "jaxlib", "nocopy"):
        if mod == fam or mod.startswith(fam + "."):
            return "jax" if fam == "jaxlib" else fam
    return "other"


def data_range(obj: Any) -> tuple[int, int] | None:
    """Byte range [lo, hi) of ``obj``'s elements in this process, or None when it cannot be
    told (an object with no data pointer we can read). Never copies ``obj``'s data."""
    if isinstance(obj, np.ndarray):
        return _span(obj.ctypes.data, obj.shape, obj.strides, obj.itemsize)
    if isinstance(obj, (bytes, bytearray, memoryview)):
        m = obj if isinstance(obj, memoryview) else memoryview(obj)
        if m.nbytes == 0:
            return None
        a = np.asarray(m) if m.ndim > 0 else np.frombuffer(m.cast("B"), np.uint8)
        return _span(a.ctypes.data, a.shape, a.strides, a.itemsize)
    fam = _family(obj)
    if fam == "torch":
        t = obj.detach()
        es = t.element_size()
        return _span(t.data_ptr(), t.shape, [s * es for s in t.stride()], es)
    if fam == "jax":
        try:
            return capsule_range(obj.__dlpack__())
        except Exception:  # noqa: BLE001 - fall back to the raw pointer of a compact buffer
            p = obj.unsafe_buffer_pointer()
            return (p, p + obj.nbytes)
    if fam == "tensorflow":
        import tensorflow as tf  # already imported: the object is a TF tensor

        return capsule_range(tf.experimental.dlpack.to_dlpack(obj))
    if fam == "nocopy" and hasattr(obj, "data_ptr") and hasattr(obj, "strides"):
        return _span(int(obj.data_ptr), obj.shape, obj.strides, obj.itemsize)
    if fam == "nocopy" and _family(getattr(obj, "view", None)) == "nocopy":
        return data_range(obj.view)  # a SharedArray: its whole-array view
    if hasattr(obj, "__array_interface__"):
        a = np.asarray(obj)
        return _span(a.ctypes.data, a.shape, a.strides, a.itemsize)
    if hasattr(obj, "__dlpack__"):
        return capsule_range(obj.__dlpack__())
    try:
        return data_range(memoryview(obj))
    except TypeError:
        return None


def overlaps(a: tuple[int, int] | None, b: tuple[int, int] | None) -> bool | None:
    """Whether two byte ranges intersect; None when either is unknown. Empty ranges never do."""
    if a is None or b is None:
        return None
    return a[0] < b[1] and b[0] < a[1] and a[0] < a[1] and b[0] < b[1]


def finish(obj: Any) -> None:
    """Waits for work a framework may still be doing on ``obj`` (JAX dispatches copies
    asynchronously), so timings and probes see the finished result."""
    if _family(obj) == "jax" and hasattr(obj, "block_until_ready"):
        obj.block_until_ready()


def snapshot(obj: Any) -> bytes:
    """A fresh copy of ``obj``'s logical contents (C order), read from its memory now: never a
    framework's cached host copy (JAX caches np.asarray results, so it is read via DLPack)."""
    if isinstance(obj, np.ndarray):
        return obj.tobytes()
    if isinstance(obj, memoryview):
        return obj.tobytes()
    if isinstance(obj, (bytes, bytearray)):
        return bytes(obj)
    fam = _family(obj)
    if fam == "torch":
        return obj.detach().cpu().numpy().tobytes()
    if fam == "jax":
        finish(obj)
        return np.from_dlpack(obj).tobytes()
    if fam == "tensorflow":
        return obj.numpy().tobytes()
    return np.asarray(obj).tobytes()
