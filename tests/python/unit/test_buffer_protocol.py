"""The buffer protocol of views follows CPython's rules for exporters, checked the way CPython's
Lib/test/test_buffer.py checks its own: for every request flag combination, on views of 0-4
dimensions (C-, Fortran- and non-contiguous, flipped, broadcast, read-only), a view exports
exactly what CPython's memoryview exports for the same memory, or both raise BufferError.
Before, a request without PyBUF_ND on a 2-d view reported ndim 2 with no shape and consumers
crashed (`_testbuffer.ndarray(v, getbuf=PyBUF_SIMPLE)` was a SIGSEGV)."""

from __future__ import annotations

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
