"""DLPack import from hand-built capsules (ctypes): the deleter runs exactly once, flags and
devices are honoured, and bad tensors are refused with the deleter still called."""

import ctypes
import gc

import numpy as np
import pytest

import nocopy as nc


class DLDevice(ctypes.Structure):
    _fields_ = [("device_type", ctypes.c_int), ("device_id", ctypes.c_int32)]


class DLDataType(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8), ("lanes", ctypes.c_uint16)]


class DLTensor(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("device", DLDevice), ("ndim", ctypes.c_int32),
                ("dtype", DLDataType), ("shape", ctypes.POINTER(ctypes.c_int64)),
                ("strides", ctypes.POINTER(ctypes.c_int64)), ("byte_offset", ctypes.c_uint64)]


class DLManagedTensorVersioned(ctypes.Structure):
    pass


Deleter = ctypes.CFUNCTYPE(None, ctypes.POINTER(DLManagedTensorVersioned))
DLManagedTensorVersioned._fields_ = [
    ("major", ctypes.c_uint32), ("minor", ctypes.c_uint32), ("manager_ctx", ctypes.c_void_p),
    ("deleter", Deleter), ("flags", ctypes.c_uint64), ("dl_tensor", DLTensor)]

PyCapsule_New = ctypes.pythonapi.PyCapsule_New
PyCapsule_New.restype = ctypes.py_object
PyCapsule_New.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]


class Producer:
    """Builds one versioned capsule over a NumPy array and counts deleter calls."""

    def __init__(self, array, device=(1, 0), dtype=(2, 32, 1), flags=0, ndim=None, major=1,
                 shape=None, strides=None):
        """``shape`` and ``strides`` (in elements) replace the array's own geometry when given."""
        self.array = array
        self.deletions = 0
        shape = array.shape if shape is None else shape
        strides = [s // array.itemsize for s in array.strides] if strides is None else strides
        self.shape = (ctypes.c_int64 * len(shape))(*shape)
        self.strides = (ctypes.c_int64 * len(strides))(*strides)
        self.deleter = Deleter(self._delete)
        self.managed = DLManagedTensorVersioned(
            major, 1, None, self.deleter, flags,
            DLTensor(array.ctypes.data, DLDevice(*device), len(shape) if ndim is None else ndim,
                     DLDataType(*dtype), self.shape, self.strides, 0))

    def _delete(self, _ptr):
        self.deletions += 1

    def capsule(self):
        return PyCapsule_New(ctypes.addressof(self.managed), b"dltensor_versioned", None)


def test_cpu_capsule_deleter_once_after_last_view():
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    p = Producer(a)
    v = nc.view(p.capsule())
    s = v[1:, ::2]
    del v
    gc.collect()
    assert p.deletions == 0
    np.testing.assert_array_equal(np.asarray(s), a[1:, ::2])
    del s
    gc.collect()
    assert p.deletions == 1


def test_readonly_flag_makes_a_readonly_view():
    p = Producer(np.zeros(4, np.float32), flags=1)
    v = nc.view(p.capsule())
    assert v.readonly and not np.asarray(v).flags.writeable
    del v
    gc.collect()
    assert p.deletions == 1


def test_device_memory_is_carried_and_host_access_refused():
    p = Producer(np.zeros((2, 3), np.float32), device=(2, 0))
    v = nc.view(p.capsule())
    assert v.device == "cuda:0" and v.__dlpack_device__() == (2, 0)
    assert v[1:].shape == (1, 3)  # geometry works without touching memory
    with pytest.raises(BufferError, match="cuda:0"):
        np.asarray(v)
    with pytest.raises(BufferError):
        v.to_numpy()
    del v
    gc.collect()
    assert p.deletions == 1


@pytest.mark.parametrize("kwargs,exc,match", [
    ({"dtype": (2, 8, 1)}, TypeError, "not supported"),
    ({"dtype": (2, 32, 4)}, TypeError, "lanes=4"),
    ({"ndim": -1}, ValueError, "ndim -1"),
    ({"ndim": 70}, ValueError, "ndim 70"),
    ({"major": 2}, BufferError, "major version 2"),
])
def test_rejected_tensors_still_call_the_deleter(kwargs, exc, match):
    p = Producer(np.zeros((2, 3), np.float32), **kwargs)
    with pytest.raises(exc, match=match):
        nc.view(p.capsule())
    assert p.deletions == 1


def test_a_consumed_capsule_cannot_be_used_twice():
    p = Producer(np.zeros(3, np.float32))
    cap = p.capsule()
    v = nc.view(cap)
    with pytest.raises(TypeError, match="not an unused DLPack capsule"):
        nc.view(cap)
    del v
    gc.collect()
    assert p.deletions == 1


@pytest.mark.parametrize("stride", [-2**63, -2**63 + 1, 2**63 - 1, -(2**62) * 3 // 2])
def test_strides_whose_bytes_overflow_are_refused_with_the_deleter_called(stride):
    # The one geometry check (the View constructor) also guards DLPack imports: before, a stride
    # of -2**63 passed (its negation wraps) and reading element 1 was a SIGSEGV.
    p = Producer(np.zeros(8, np.uint64), dtype=(1, 64, 1), shape=[2], strides=[stride])
    with pytest.raises(OverflowError, match="stride"):
        nc.view(p.capsule())
    assert p.deletions == 1


@pytest.mark.parametrize("shape", [[0], [1]])
def test_int64_min_stride_is_refused_even_on_short_axes(shape):
    p = Producer(np.zeros(8, np.uint8), dtype=(1, 8, 1), shape=shape, strides=[-2**63])
    with pytest.raises(OverflowError, match="stride -9223372036854775808"):
        nc.view(p.capsule())
    assert p.deletions == 1


def test_the_largest_stride_on_a_length_one_axis_is_valid_and_flips():
    p = Producer(np.arange(8, dtype=np.uint8), dtype=(1, 8, 1), shape=[1], strides=[2**63 - 1])
    v = nc.view(p.capsule())
    assert v.strides == (2**63 - 1,) and v.flip(0).strides == (-(2**63 - 1),)
    assert int(np.asarray(v)[0]) == 0
