"""The copy guards: `nc.no_copy()` makes every copy nocopy would make raise CopyForbiddenError
(one per-thread state kept in the C++ core, so `__dlpack__(copy=True)` is refused too), and
`nc.assert_shares` / `guard.check` prove sharing by memory, across libraries."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import nocopy as nc


def test_copy_forbidden_error_is_a_buffer_error():
    assert issubclass(nc.CopyForbiddenError, BufferError)
    assert not issubclass(nc.NotSharedError, BufferError)
    assert issubclass(nc.NotSharedError, AssertionError)


@pytest.mark.parametrize("copying", [
    lambda v: v.copy(),
    lambda v: nc.ascontiguous(v),
    lambda v: v.to_numpy(copy=True),
    lambda v: v.__dlpack__(copy=True),
    lambda v: v.__dlpack__(copy=True, max_version=(1, 0)),
    lambda v: np.from_dlpack(v, copy=True),
    lambda v: nc.view(v).copy(dtype="float64"),
])
def test_every_nocopy_copy_is_refused_inside_the_block(copying):
    v = nc.view(np.arange(12, dtype=np.float32).reshape(3, 4))[:, ::2]
    with nc.no_copy():
        with pytest.raises(nc.CopyForbiddenError, match=r"no_copy.*\(3, 2\)|\(3, 2\).*no_copy"):
            copying(v)
    assert copying(v) is not None  # outside the block the same call copies


def test_zero_copy_paths_are_unaffected():
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    with nc.no_copy() as guard:
        v = nc.view(a)
        for shared in (v[1:, ::2], v.T, v.reshape(4, 3), np.asarray(v), np.from_dlpack(v),
                       nc.ascontiguous(v), v.to_numpy(), nc.crop(a, 0, 0, 2, 2, axes=(0, 1))):
            guard.check(shared, a)
    assert guard.checked == 8


def test_blocks_nest_and_decorate():
    v = nc.view(np.zeros((4, 4)))[:, ::2]

    @nc.no_copy()
    def inside():
        return v.copy()

    with nc.no_copy():
        with nc.no_copy():
            pass
        with pytest.raises(nc.CopyForbiddenError):  # still inside the outer block
            v.copy()
    v.copy()
    with pytest.raises(nc.CopyForbiddenError):
        inside()
    v.copy()  # the decorator left its level


def test_leaving_by_an_exception_restores_copies():
    v = nc.view(np.zeros(4))
    with pytest.raises(KeyError):
        with nc.no_copy():
            raise KeyError("x")
    assert not nc._copy_policy.copies_forbidden()
    v.copy()


def test_the_block_is_per_thread():
    v = nc.view(np.zeros((4, 4)))[:, ::2]
    seen = {}

    def other():
        seen["forbidden"] = nc._copy_policy.copies_forbidden()
        seen["copy"] = v.copy().shape

    with nc.no_copy():
        t = threading.Thread(target=other)
        t.start()
        t.join()
        with pytest.raises(nc.CopyForbiddenError):
            v.copy()
    assert seen == {"forbidden": False, "copy": (4, 2)}


def test_assert_shares_passes_for_views_and_fails_for_copies():
    a = np.arange(10.0)
    nc.assert_shares(a[2:5], a)
    nc.assert_shares(nc.view(a)[::3], a)
    nc.assert_shares(memoryview(a), nc.view(a))
    with pytest.raises(nc.NotSharedError, match="does not share memory"):
        nc.assert_shares(a.copy(), a)
    with pytest.raises(nc.NotSharedError, match="^checking: "):
        nc.assert_shares(a[:5], a[5:], "checking")  # disjoint halves of one buffer
    with nc.no_copy() as guard:
        assert guard.check(a[1:], a) is not None
        with pytest.raises(nc.NotSharedError):
            guard.check(np.ascontiguousarray(a[::2]), a)
    assert guard.checked == 1


def test_assert_shares_across_frameworks():
    torch = pytest.importorskip("torch")
    a = np.ones(16, np.float32)
    nc.assert_shares(torch.from_numpy(a), a)
    nc.assert_shares(nc.view(a).to_torch(), a)
    with pytest.raises(nc.NotSharedError):
        nc.assert_shares(torch.tensor(a), a)
