"""Shared fixtures and helpers for the Python tests."""

import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("JAX_PLATFORMS", "cpu")


def data_ptr(arr) -> int:
    """Address of element 0 of a NumPy array."""
    return arr.__array_interface__["data"][0]


@pytest.fixture
def aligned():
    """Factory: a C-contiguous NumPy array whose data is 64-byte aligned (what TF/JAX share)."""
    keep = []

    def make(shape, dtype=np.float32, offset_bytes=0):
        dtype = np.dtype(dtype)
        n = int(np.prod(shape)) * dtype.itemsize
        buf = np.empty(n + 128, np.uint8)
        keep.append(buf)
        off = (-data_ptr(buf)) % 64 + offset_bytes
        arr = buf[off:off + n].view(dtype).reshape(shape)
        arr[...] = np.arange(arr.size).reshape(shape).astype(dtype)
        return arr

    return make
