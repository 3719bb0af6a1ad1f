"""Bad input gets a clear Python exception naming the value and the limit, never a crash."""

import numpy as np
import pytest

import nocopy as nc


@pytest.fixture
def v():
    return nc.view(np.arange(24, dtype=np.int32).reshape(2, 3, 4))


@pytest.mark.parametrize("obj", [42, 3.5, "text", None, object(), [1, 2, 3]])
def test_view_of_non_arrays(obj):
    with pytest.raises(TypeError, match="neither the buffer protocol nor __dlpack__"):
        nc.view(obj)


def test_unsupported_dtypes():
    with pytest.raises(TypeError, match="not a supported dtype"):
        nc.view(np.zeros(3, dtype=">i4"))
    with pytest.raises((TypeError, BufferError, ValueError)):
        nc.view(np.zeros(3, dtype=object))
    with pytest.raises((TypeError, BufferError, ValueError)):
        nc.view(np.zeros(3, dtype=[("a", "i4"), ("b", "f4")]))


@pytest.mark.parametrize("key,exc,match", [
    ((0, 0, 4), IndexError, "index 4 is out of bounds for axis 2 with size 4"),
    ((-3,), IndexError, "index -3 is out of bounds for axis 0 with size 2"),
    ((0, 0, 0, 0), IndexError, "too many indices"),
    ((Ellipsis, Ellipsis), IndexError, "single ellipsis"),
    ((10**30,), IndexError, "cannot fit"),
    ((slice(0, 2, 0),), ValueError, "step cannot be zero"),
    (([0, 1],), TypeError, "basic indexing only"),
    ((np.array([0, 1]),), TypeError, "basic indexing only"),
    ((True,), TypeError, "advanced"),
    ((1.5,), IndexError, "valid view indices"),  # NumPy: IndexError (issue 10, item 15)
    (("a",), IndexError, "valid view indices"),
])
def test_bad_indices(v, key, exc, match):
    with pytest.raises(exc, match=match):
        v[key]


def test_huge_slice_bounds_clamp_like_numpy(v):
    a = np.asarray(v)
    assert v[-(10**30):10**30].shape == a[-(10**30):10**30].shape
    assert v[::-(10**30)].shape == a[::-(10**30)].shape
    assert v[:, 10**30:].shape == a[:, 10**30:].shape
    assert v[np.int64(1)].shape == a[np.int64(1)].shape


def test_bad_shape_operations(v):
    with pytest.raises(ValueError, match="repeat axis"):
        v.permute(0, 0, 1)
    with pytest.raises(ValueError, match="needs 3 axes"):
        v.permute(0, 1)
    with pytest.raises(IndexError, match="axis 5 is out of bounds"):
        v.permute(0, 1, 5)
    with pytest.raises(IndexError, match="axis 3 is out of bounds"):
        v.flip(3)
    with pytest.raises(TypeError, match="must be an integer"):
        v.permute("a", 1, 2)
    with pytest.raises(OverflowError):
        v.reshape(2**62, 2**62)
    with pytest.raises(OverflowError):
        v.reshape(2**70)
    with pytest.raises(ValueError, match="negative dimension"):
        v.reshape(-2, -12)
    with pytest.raises(ValueError, match="cannot reinterpret"):
        v.reinterpret("float64")
    with pytest.raises(ValueError, match="unsupported dtype"):
        v.reinterpret("float128")


def test_bad_crops(v):
    with pytest.raises(ValueError, match=r"crop \(5, 5\) is larger than image \(3, 4\) on axes \(1, 2\)"):
        nc.center_crop(v, 5, axes=(1, 2))
    with pytest.raises(ValueError, match="negative"):
        nc.crop(v, 0, 0, -1, 2)
    with pytest.raises(IndexError, match="does not fit"):
        nc.crop(v, 2, 0, 2, 2)
    with pytest.raises(IndexError, match="out of bounds"):
        nc.crop(v, 0, 0, 1, 1, axes=(0, 7))


def test_bad_dtype_names():
    from nocopy._dtypes import dtype_name

    with pytest.raises(ValueError):
        dtype_name(np.dtype("U3"))
    assert dtype_name(np.float32) == "float32"
    assert dtype_name("uint8") == "uint8"


def test_uninitialized_view_instances_raise_instead_of_reading_garbage():
    x = nc.View.__new__(nc.View)
    with pytest.raises(TypeError, match="uninitialized"):
        x[0]
    with pytest.raises(TypeError, match="uninitialized"):
        memoryview(x)


def test_big_endian_dtypes_are_refused_not_silently_made_native():
    with pytest.raises(ValueError, match="byte order"):
        nc.ascontiguous(np.zeros(3, np.float32), np.dtype(">f4"))
