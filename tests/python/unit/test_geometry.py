"""Geometry is checked in one place (the View constructor): strides whose magnitude overflows
int64 in bytes (-2**63 above all, whose negation wraps) are refused on every way in: the buffer
protocol (np.lib.stride_tricks.as_strided), hand-built DLPack capsules (test_dlpack_import.py)
and the shared-memory unpickler. Before, a view of
`as_strided(x, (2,), (-2**63,))` was accepted and reading element 1 was a SIGSEGV."""

from __future__ import annotations

import numpy as np
import pytest

import nocopy as nc


def _strided(stride: int, dtype=np.uint8, n: int = 2):
    x = np.zeros(16, dtype)
    return np.lib.stride_tricks.as_strided(x, (n,), (stride,))


@pytest.mark.parametrize("dtype, stride", [
    (np.uint8, -2**63), (np.float64, -2**63), (np.float64, -2**63 + 8), (np.float64, 2**63 - 8)])
def test_buffer_import_refuses_overflowing_strides(stride, dtype):
    with pytest.raises(OverflowError, match="stride|extent"):
        nc.view(_strided(stride, dtype, 2))


def test_int64_min_byte_stride_is_refused_naming_it():
    with pytest.raises(OverflowError, match="stride -9223372036854775808"):
        nc.view(_strided(-2**63, np.uint8, 2))


@pytest.mark.parametrize("n", [0, 1])
def test_short_axes_export_sane_strides_so_their_views_are_fine(n):
    # NumPy's buffer export replaces the strides of empty and length-1 axes by contiguous ones.
    assert nc.view(_strided(-2**63, np.float64, n)).strides == (8,)


def test_a_huge_step_selecting_one_element_keeps_the_axis_stride():
    v = nc.view(np.arange(10))[::2**62]
    assert v.shape == (1,) and v.strides == (8,) and np.asarray(v)[0] == 0


def test_shared_memory_unpickler_refuses_overflowing_strides():
    from nocopy._storage import _view_from_reference
    sa = nc.SharedArray.create((16,), "uint8")
    try:
        with pytest.raises(OverflowError, match="stride"):
            _view_from_reference(sa.name, 8, (2,), (-2**63,), "uint8", False)
        v = _view_from_reference(sa.name, 8, (2,), (-8,), "uint8", False)
        assert v.strides == (-8,)
    finally:
        sa.close()
