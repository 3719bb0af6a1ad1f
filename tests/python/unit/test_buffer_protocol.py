"""The buffer protocol of views follows CPython's rules for exporters, checked the way CPython's
Lib/test/test_buffer.py checks its own: for every request flag combination, on views of 0-4
dimensions (C-, Fortran- and non-contiguous, flipped, broadcast, read-only), a view exports
exactly what CPython's memoryview exports for the same memory, or both raise BufferError; and
PyBUF_FORMAT without PyBUF_ND, which memoryview alone refuses, is answered as array.array,
bytearray and NumPy answer it (checked through ctypes, field by field).
Before, a request without PyBUF_ND on a 2-d view reported ndim 2 with no shape and consumers
crashed (`_testbuffer.ndarray(v, getbuf=PyBUF_SIMPLE)` was a SIGSEGV)."""

from __future__ import annotations

import array
import ctypes
import hashlib
import io
import itertools

import numpy as np
import pytest

import nocopy as nc

try:
    import _testbuffer as tb
except ImportError:  # not every CPython build ships it
    tb = None


def _arrays():
    base = np.arange(2 * 3 * 4 * 5, dtype=np.int32)
    yield "0d", np.array(7, np.int32)
    yield "1d", base[:6]
    yield "1d-step", base[:12:2]
    yield "1d-flip", base[:6][::-1]
    yield "1d-empty", base[:0]
    yield "2d-C", base[:12].reshape(3, 4)
    yield "2d-F", np.asfortranarray(base[:12].reshape(3, 4))
    yield "2d-noncontig", base[:24].reshape(4, 6)[:, ::2]
    yield "2d-broadcast", np.broadcast_to(base[:4], (3, 4))
    yield "2d-len1", base[:4].reshape(1, 4)
    yield "3d-C", base[:24].reshape(2, 3, 4)
    yield "3d-F", np.asfortranarray(base[:24].reshape(2, 3, 4))
    yield "3d-transposed", base[:24].reshape(2, 3, 4).transpose(1, 0, 2)
    yield "4d-C", base.reshape(2, 3, 4, 5)
    yield "4d-F", np.asfortranarray(base.reshape(2, 3, 4, 5))
    yield "4d-noncontig", base.reshape(2, 3, 4, 5)[:, ::2, 1:, ::-2]
    yield "2d-float64", np.linspace(0, 1, 12).reshape(3, 4)
    yield "2d-uint8", np.arange(12, dtype=np.uint8).reshape(3, 4)


def _cases():
    for name, a in _arrays():
        yield pytest.param(a, id=name)
        yield pytest.param(_readonly(a), id=name + "-readonly")


def _readonly(a):
    r = a.view()
    r.flags.writeable = False
    return r


BASE_FLAGS = ["PyBUF_SIMPLE", "PyBUF_ND", "PyBUF_STRIDES", "PyBUF_INDIRECT",
              "PyBUF_C_CONTIGUOUS", "PyBUF_F_CONTIGUOUS", "PyBUF_ANY_CONTIGUOUS"]


def _flag_combinations():
    if tb is None:
        return []
    out = []
    for base, writable, fmt in itertools.product(BASE_FLAGS, (False, True), (False, True)):
        flags = getattr(tb, base) | (tb.PyBUF_WRITABLE if writable else 0) | (
            tb.PyBUF_FORMAT if fmt else 0)
        name = base + ("|WRITABLE" if writable else "") + ("|FORMAT" if fmt else "")
        out.append(pytest.param(flags, id=name))
    return out


def _export(obj, flags):
    """What a consumer asking with ``flags`` sees, or the exception type it gets."""
    try:
        n = tb.ndarray(obj, getbuf=flags)
    except BufferError:
        return BufferError
    return {"ndim": n.ndim, "shape": n.shape, "strides": n.strides, "format": n.format,
            "itemsize": n.itemsize, "nbytes": n.nbytes, "readonly": n.readonly,
            "bytes": n.tobytes(), "suboffsets": n.suboffsets,
            "contiguous": (n.c_contiguous, n.f_contiguous, n.contiguous)}


@pytest.mark.skipif(tb is None, reason="_testbuffer is not importable")
@pytest.mark.parametrize("flags", _flag_combinations())
@pytest.mark.parametrize("a", list(_cases()))
def test_every_request_exports_what_cpython_memoryview_exports(a, flags):
    reference = _export(memoryview(a), flags)
    if flags & tb.PyBUF_FORMAT and flags & tb.PyBUF_ND != tb.PyBUF_ND:
        # memoryview alone refuses PyBUF_FORMAT without PyBUF_ND; array.array, bytearray and
        # NumPy answer it (test_format_without_nd_is_answered_like_array_array): the flat answer,
        # with the format.
        assert reference is BufferError
        reference = _export(memoryview(a), flags & ~tb.PyBUF_FORMAT)
        if reference is not BufferError:
            reference["format"] = memoryview(a).format
    got = _export(nc.view(a), flags)
    assert got == reference


@pytest.mark.parametrize("a", list(_cases()))
def test_flat_byte_consumers_read_contiguous_views_and_refuse_others(a):
    v = nc.view(a)
    if a.flags.c_contiguous:
        assert hashlib.md5(v).hexdigest() == hashlib.md5(a.tobytes()).hexdigest()
        assert bytes(memoryview(v)) == a.tobytes()
    else:
        with pytest.raises(BufferError):
            hashlib.md5(v)
        with pytest.raises(BufferError):
            hashlib.md5(memoryview(a))  # CPython's exporter refuses the same way


def test_the_issue_reproducer_no_longer_crashes():
    v = nc.view(np.zeros((2, 3), np.int32))
    assert hashlib.md5(nc.view(np.zeros((2, 3)))).hexdigest() == hashlib.md5(
        np.zeros((2, 3)).tobytes()).hexdigest()
    if tb is not None:
        n = tb.ndarray(v, getbuf=tb.PyBUF_SIMPLE)
        assert (n.ndim, n.nbytes, n.tobytes()) == (1, 24, bytes(24))


@pytest.mark.parametrize("a", list(_cases()))
def test_full_requests_share_memory_and_round_trip(a):
    v = nc.view(a)
    m = memoryview(v)
    assert m.readonly == (not a.flags.writeable)
    assert (m.ndim, m.shape, m.strides) == (a.ndim, a.shape, a.strides)
    assert m.format == memoryview(a).format
    back = np.asarray(v)
    np.testing.assert_array_equal(back, a)
    if a.size:
        assert np.shares_memory(back, a)


def test_writable_request_on_a_readonly_view_is_a_buffer_error_naming_it():
    v = nc.view(np.zeros(3)).as_readonly()
    assert hashlib.md5(v).digest() == hashlib.md5(np.zeros(3).tobytes()).digest()  # reads work
    with pytest.raises(TypeError, match="read-write"):  # CPython's wording for BufferError here
        io.BytesIO(bytes(24)).readinto(v)
    if tb is not None:
        with pytest.raises(BufferError, match="read-only"):
            tb.ndarray(v, getbuf=tb.PyBUF_WRITABLE)


def test_bfloat16_views_export_flat_bytes_but_no_typed_buffer():
    pytest.importorskip("ml_dtypes")
    v = nc.view(np.arange(4, dtype=np.uint16)).reinterpret("bfloat16")
    assert hashlib.md5(v).hexdigest() == hashlib.md5(np.arange(4, dtype=np.uint16)).hexdigest()
    with pytest.raises(BufferError, match="no buffer-protocol format"):
        memoryview(v)


class _PyBuffer(ctypes.Structure):
    """CPython's Py_buffer, to call PyObject_GetBuffer as a C consumer does."""

    _fields_ = [("buf", ctypes.c_void_p), ("obj", ctypes.py_object), ("len", ctypes.c_ssize_t),
                ("itemsize", ctypes.c_ssize_t), ("readonly", ctypes.c_int),
                ("ndim", ctypes.c_int), ("format", ctypes.c_char_p),
                ("shape", ctypes.POINTER(ctypes.c_ssize_t)),
                ("strides", ctypes.POINTER(ctypes.c_ssize_t)), ("suboffsets", ctypes.c_void_p),
                ("internal", ctypes.c_void_p)]


_get_buffer = ctypes.pythonapi.PyObject_GetBuffer
_get_buffer.argtypes = [ctypes.py_object, ctypes.POINTER(_PyBuffer), ctypes.c_int]
_release_buffer = ctypes.pythonapi.PyBuffer_Release
_release_buffer.argtypes = [ctypes.POINTER(_PyBuffer)]

PYBUF_WRITABLE, PYBUF_FORMAT, PYBUF_ND, PYBUF_STRIDES = 0x1, 0x4, 0x8, 0x18


def _get(obj, flags):
    """The Py_buffer a C consumer asking with `flags` gets (the fields that matter), or the
    exception type."""
    b = _PyBuffer()
    try:
        _get_buffer(obj, ctypes.byref(b), flags)
    except (BufferError, ValueError, TypeError) as exc:
        return type(exc)
    try:
        return {"format": b.format, "ndim": b.ndim, "itemsize": b.itemsize, "len": b.len,
                "readonly": b.readonly, "shape": None if not b.shape else list(b.shape[:b.ndim]),
                "strides": None if not b.strides else list(b.strides[:b.ndim]),
                "bytes": ctypes.string_at(b.buf, b.len)}
    finally:
        _release_buffer(ctypes.byref(b))


FORMAT_WITHOUT_ND = [PYBUF_FORMAT, PYBUF_FORMAT | PYBUF_WRITABLE]


@pytest.mark.parametrize("flags", FORMAT_WITHOUT_ND + [0, PYBUF_WRITABLE, PYBUF_ND | PYBUF_FORMAT,
                                                      PYBUF_STRIDES | PYBUF_FORMAT])
@pytest.mark.parametrize("typecode", ["b", "B", "h", "i", "q", "Q", "f", "d"])
def test_format_without_nd_is_answered_like_array_array(typecode, flags):
    """array.array, CPython's typed 1-d exporter, is the reference for every field. ('l' is left
    out: views name 64-bit integers 'q' whatever C type the exporter used.)"""
    ref = array.array(typecode, range(5))
    assert _get(nc.view(ref), flags) == _get(ref, flags)


@pytest.mark.parametrize("flags", FORMAT_WITHOUT_ND)
def test_format_without_nd_on_bytes_and_arrays_of_any_dimension(flags):
    # bytearray: format 'B', one axis, no shape or strides.
    ba = bytearray(b"abcdef")
    assert _get(nc.view(ba), flags) == _get(ba, flags)
    # A C-contiguous array of any dimension: NumPy's answer, except that NumPy says ndim 0 with
    # no shape, where CPython's exporters (array.array, bytearray, memoryview's flat answer)
    # say one axis: views say 1 as they do for PyBUF_SIMPLE.
    for a in (np.arange(24, dtype=np.float32).reshape(2, 3, 4), np.array(7, np.int32),
              np.zeros((2, 0), np.uint16)):
        want = _get(a, flags)
        assert want["ndim"] == 0 and want["shape"] is None
        got = _get(nc.view(a), flags)
        assert got == dict(want, ndim=1)
        assert got["format"] == memoryview(a).format.encode()
        assert got["len"] == a.nbytes and got["itemsize"] == a.itemsize
    # What cannot be honoured is still refused: no strides asked for on a strided view, a
    # writable buffer of a read-only view.
    assert _get(nc.view(np.arange(6.0)[::2]), flags) is BufferError
    assert _get(np.arange(6.0)[::2], flags) is ValueError  # NumPy's exception type here
    if flags & PYBUF_WRITABLE:
        assert _get(nc.view(b"abc"), flags) is BufferError
        assert _get(b"abc", flags) is BufferError
