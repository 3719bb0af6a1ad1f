"""Bad arguments to views and their DLPack export are TypeError / ValueError / OverflowError
naming the argument (never `RuntimeError: std::bad_cast`), NumPy's own producer arguments are
accepted, and indexing and iteration follow NumPy (v[0.0] and v['x'] are IndexError; views
iterate over their first axis)."""

from __future__ import annotations

import numpy as np
import pytest

import nocopy as nc


@pytest.fixture
def v():
    return nc.view(np.arange(6, dtype=np.float32).reshape(2, 3))


@pytest.mark.parametrize("kwargs, exc, name", [
    ({"max_version": "ab"}, TypeError, "max_version"),
    ({"max_version": (1.5, 0)}, TypeError, "max_version"),
    ({"max_version": (1,)}, ValueError, "max_version"),
    ({"max_version": (2**63, 0)}, OverflowError, "max_version"),
    ({"copy": "yes"}, TypeError, "copy"),
    ({"copy": 1}, TypeError, "copy"),
    ({"dl_device": (1,)}, ValueError, "dl_device"),
    ({"dl_device": "cpu"}, TypeError, "dl_device"),
    ({"dl_device": (1, 2**40)}, OverflowError, "dl_device"),
    ({"stream": 1}, ValueError, "stream"),
])
def test_bad_dlpack_arguments_name_the_argument(v, kwargs, exc, name):
    with pytest.raises(exc, match=name):
        v.__dlpack__(**kwargs)


@pytest.mark.parametrize("copy", [True, np.True_, False, np.False_, None])
def test_numpy_from_dlpack_accepts_numpy_and_python_bools(copy):
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    out = np.from_dlpack(nc.view(a), copy=copy)
    np.testing.assert_array_equal(out, a)
    assert np.shares_memory(out, a) == (not bool(copy))


def test_dlpack_device_must_match(v):
    with pytest.raises(BufferError, match="device"):
        v.__dlpack__(dl_device=(2, 0))
    assert v.__dlpack__(dl_device=(1, 0), max_version=(1, 0)) is not None


def test_copy_true_exports_a_copy_even_of_read_only_views():
    a = np.arange(4.0)
    cap = nc.view(a).as_readonly().__dlpack__(copy=True, max_version=(1, 0))
    out = nc.view(cap)
    np.testing.assert_array_equal(np.asarray(out), a)
    assert not nc.shares_memory(out, a) and not out.readonly


def test_nocopy_view_hook_returning_a_non_view_is_a_type_error():
    class Fake:
        def __nocopy_view__(self):
            return 42

    with pytest.raises(TypeError, match="__nocopy_view__"):
        nc.view(Fake())


@pytest.mark.parametrize("key", [0.0, 1.5, "x", b"x", object(), np.float64(0)])
def test_float_string_and_other_scalar_indices_are_index_errors_like_numpy(v, key):
    with pytest.raises(IndexError):
        np.arange(6).reshape(2, 3)[key]
    with pytest.raises(IndexError, match="valid"):
        v[key]
    with pytest.raises(IndexError):
        v[0, key]


@pytest.mark.parametrize("key", [[0, 1], np.array([0]), True, np.bool_(False), (0, [1])])
def test_advanced_indices_stay_type_errors(v, key):
    with pytest.raises(TypeError, match="basic indexing"):
        v[key]


def test_views_iterate_over_the_first_axis_like_numpy():
    a = np.arange(12).reshape(3, 4)
    rows = list(nc.view(a))
    assert len(rows) == 3
    for got, want in zip(rows, a):
        np.testing.assert_array_equal(np.asarray(got), want)
        assert nc.shares_memory(got, a)
    assert [int(np.asarray(x)) for x in nc.view(np.arange(3))] == [0, 1, 2]
    assert list(nc.view(np.zeros((0, 2)))) == []
    with pytest.raises(TypeError, match="0-d"):
        iter(nc.view(np.array(1.0)))


@pytest.mark.parametrize("call", [
    lambda v: v.permute("ab"), lambda v: v.reshape(1.5), lambda v: v.transpose([0.0, 1]),
])
def test_shape_methods_reject_non_integers_with_type_error(v, call):
    with pytest.raises(TypeError, match="integer"):
        call(v)
