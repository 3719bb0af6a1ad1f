"""The one C++ -> Python exception translator (cpp/bindings/errors.cpp): each core exception type
becomes the documented Python type (errno and filename for file errors, .sample/.batch/.epoch for
LoaderError), the raw v[key] slot goes through it too, and int arguments that do not fit in 64
bits are an OverflowError naming the argument."""

from __future__ import annotations

import errno
import re
from pathlib import Path

import numpy as np
import pytest

import nocopy as nc
from nocopy import _nocopy

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("err, cls", [
    (errno.ENOENT, FileNotFoundError),
    (errno.EACCES, PermissionError),
    (errno.EPERM, PermissionError),
    (errno.EISDIR, IsADirectoryError),
    (errno.EEXIST, FileExistsError),
    (errno.ENOSPC, OSError),
])
def test_file_error_is_the_oserror_subclass_of_its_errno_with_errno_and_filename(err, cls):
    with pytest.raises(cls) as info:
        _nocopy._raise_for_test("file", "/data/x.npy", err)
    e = info.value
    assert type(e) is cls or (cls is OSError and type(e) is OSError)
    assert e.errno == err
    assert e.filename == "/data/x.npy"
    assert "cannot open test file" in e.strerror


def test_file_error_filename_round_trips_undecodable_bytes_like_os_functions():
    name = "/tmp/caf\udce9.npy"  # a non-UTF-8 byte, as os.fsdecode gives it
    with pytest.raises(FileNotFoundError) as info:
        _nocopy._raise_for_test("file", name, errno.ENOENT)
    assert info.value.filename == name


def test_a_system_error_without_a_path_is_an_oserror_with_errno():
    with pytest.raises(PermissionError) as info:
        _nocopy._raise_for_test("system", "", errno.EACCES)
    assert info.value.errno == errno.EACCES and info.value.filename is None


def test_loader_error_is_a_runtime_error_carrying_sample_batch_epoch():
    assert issubclass(nc.LoaderError, RuntimeError)
    with pytest.raises(nc.LoaderError, match="sample 7 failed") as info:
        _nocopy._raise_for_test("loader")
    assert (info.value.sample, info.value.batch, info.value.epoch) == (7, 3, 2)
    assert nc.LoaderError("made in Python").sample is None  # class defaults


def test_copy_forbidden_error_is_one_type_shared_by_python_and_cpp():
    assert issubclass(nc.CopyForbiddenError, BufferError)
    with pytest.raises(nc.CopyForbiddenError):
        _nocopy._raise_for_test("copy_forbidden")


@pytest.mark.parametrize("kind, cls", [
    ("buffer", BufferError), ("type", TypeError), ("bad_cast", TypeError),
    ("overflow", OverflowError), ("bad_alloc", MemoryError), ("other", RuntimeError),
])
def test_standard_and_core_types(kind, cls):
    with pytest.raises(cls):
        _nocopy._raise_for_test(kind)


def test_subscript_slot_uses_the_translator():
    v = nc.view(np.arange(6).reshape(2, 3))
    with pytest.raises(IndexError, match="out of range|out of bounds"):
        v[5]
    with pytest.raises(TypeError, match="basic indexing"):
        v[[0, 1]]
    with pytest.raises(IndexError, match="too many"):
        v[0, 0, 0]


def test_no_binding_file_has_its_own_translator():
    """errors.cpp is the only place that maps C++ exceptions to Python errors (rethrowing with
    more context elsewhere is fine)."""
    pattern = re.compile(r"PyErr_Set\w*\(|PyErr_Format\(|register_exception_translator")
    offenders = [p.name for p in (ROOT / "cpp" / "bindings").glob("*.cpp")
                 if p.name != "errors.cpp" and pattern.search(p.read_text())]
    assert offenders == []


@pytest.mark.parametrize("call, name", [
    (lambda v: v.flip(2**63), "flip axis"),
    (lambda v: v.flip((0, -2**63 - 1)), "flip axis[1]"),
    (lambda v: v.permute(2**64), "permute"),
    (lambda v: v.reshape(6, 2**70), "reshape[1]"),
])
def test_ints_beyond_int64_are_overflow_errors_naming_the_argument(call, name):
    v = nc.view(np.zeros((2, 3)))
    with pytest.raises(OverflowError, match=re.escape(name)):
        call(v)


@pytest.mark.parametrize("axis", ["a", 1.0, [0.5], True])
def test_flip_with_a_non_integer_axis_is_a_type_error_naming_it(axis):
    with pytest.raises(TypeError, match="flip axis"):
        nc.view(np.zeros((2, 3))).flip(axis)


def test_flip_accepts_numpy_integers_and_sequences():
    a = np.arange(6).reshape(2, 3)
    np.testing.assert_array_equal(np.asarray(nc.view(a).flip(np.int64(1))), a[:, ::-1])
    np.testing.assert_array_equal(np.asarray(nc.view(a).flip([0, 1])), a[::-1, ::-1])
    np.testing.assert_array_equal(np.asarray(nc.view(a).flip()), a[::-1, ::-1])
