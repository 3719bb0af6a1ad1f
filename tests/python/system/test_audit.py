"""Tests for `python -m nocopy audit` / nc.audit() (quick mode) and the runtime guards
nc.assert_shares and nc.no_copy. Facts asserted here must hold on any machine."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import numpy as np
import pytest

import nocopy as nc
from nocopy import _memory_ranges as ranges
from nocopy._cli.audit import probes, run
from nocopy._cli.audit.catalog import CATALOG, select
from nocopy._cli.audit.sources import CONDITIONS

HAS_TORCH = importlib.util.find_spec("torch") is not None
HAS_TF = importlib.util.find_spec("tensorflow") is not None
HAS_JAX = importlib.util.find_spec("jax") is not None

FIELDS = {"path": str, "condition": str, "framework": str, "version": str}


@pytest.fixture(scope="module")
def result():
    """One quick audit of the rows the tests look at (keeps the run short)."""
    pattern = (r"^(a\.copy\(\)|a\[r0:r1\]|memoryview\(a\)\[r0:r1, c0:c1\]|memoryview\(a\)\.tobytes"
               r"|torch\.(from_numpy|tensor|from_dlpack)\(a\)|tf\.(tensor|experimental)"
               r"|jax\.dlpack|np\.load|np\.ndarray\(shape|nc\.view\(a\)$|nc\.view\(a\)\.to_torch"
               r"|nc\.SharedArray|nc\.open_npy|pickle)")
    return run(only=pattern, quick=True)


def _row(result, path, condition):
    hits = [r for r in result["rows"] if r["path"] == path and r["condition"] == condition]
    assert len(hits) == 1, f"no single row {path} [{condition}] in {len(result['rows'])} rows"
    return hits[0]


def test_rows_have_every_field_with_the_right_type(result):
    assert result["rows"]
    for r in result["rows"]:
        for k, t in FIELDS.items():
            assert isinstance(r[k], t), (k, r)
        assert r["condition"] in CONDITIONS
        assert r["shares_memory"] in (True, False, None)
        assert r["scaling"] in ("O(1)", "O(n)", None)
        assert r["extra_rss_bytes"] is None or isinstance(r["extra_rss_bytes"], int)
        assert r["error"] is None or (isinstance(r["error"], str) and r["error"])
        if r["error"] is None:
            assert isinstance(r["shares_memory"], bool) and r["scaling"] is not None
        else:
            assert r["shares_memory"] is None and r["scaling"] is None


def test_numpy_facts(result):
    sl = _row(result, "a[r0:r1]", "contiguous")
    assert sl["shares_memory"] is True and sl["scaling"] == "O(1)"
    cp = _row(result, "a.copy()", "contiguous")
    assert cp["shares_memory"] is False and cp["scaling"] == "O(n)"
    # a copy of the 16 MiB quick-mode input adds at least most of its size to RSS
    assert cp["extra_rss_bytes"] > 0.75 * cp["sizes"][1]
    assert _row(result, 'np.load(path, mmap_mode="r")', "mmap")["shares_memory"] is True
    assert _row(result, "np.load(path)", "mmap")["shares_memory"] is False


def test_memoryview_facts(result):
    nd = _row(result, "memoryview(a)[r0:r1, c0:c1]", "contiguous")
    assert nd["error"].startswith("NotImplementedError")
    tb = _row(result, "memoryview(a).tobytes()", "contiguous")
    assert tb["shares_memory"] is False and tb["scaling"] == "O(n)"


def test_shared_memory_attach_shares(result):
    r = _row(result, "np.ndarray(shape, dtype, buffer=SharedMemory(name=name).buf)",
             "shared-memory")
    assert r["shares_memory"] is True and r["write_through"] is True


@pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed")
def test_torch_facts(result):
    fn = _row(result, "torch.from_numpy(a)", "contiguous")
    assert fn["shares_memory"] is True and fn["scaling"] == "O(1)"
    assert fn["pointer_overlap"] is True and fn["write_through"] is True
    assert _row(result, "torch.tensor(a)", "sliced")["shares_memory"] is False
    neg = _row(result, "torch.from_numpy(a)", "negative-strides")
    assert neg["error"].startswith("ValueError")
    ro = _row(result, "torch.from_numpy(a)", "readonly")
    assert ro["shares_memory"] is True and ro["result_writable"] is True


@pytest.mark.skipif(not HAS_TF, reason="tensorflow is not installed")
def test_tf_facts(result):
    assert _row(result, "tf.tensor(a)", "contiguous")["error"].startswith("AttributeError")
    dl = _row(result, "tf.experimental.dlpack.from_dlpack(a.__dlpack__())", "contiguous")
    assert dl["shares_memory"] is True


def test_nocopy_rows_share(result):
    if not hasattr(nc, "view"):
        pytest.skip("this build has no nc.view")
    for cond in ("contiguous", "sliced", "negative-strides", "readonly", "mmap"):
        r = _row(result, "nc.view(a)", cond)
        assert r["shares_memory"] is True and r["scaling"] == "O(1)", r
    if HAS_TORCH:
        assert _row(result, "nc.view(a).to_torch()", "contiguous")["shares_memory"] is True
        refused = _row(result, "nc.view(a).to_torch()", "negative-strides")
        assert refused["error"].startswith("BufferError")


def test_storage_rows(result):
    # pickling an ndarray over multiprocessing shared memory sends the bytes...
    assert _row(result, "pickle.loads(pickle.dumps(a))", "shared-memory")["shares_memory"] is False
    if not hasattr(nc, "SharedArray"):
        pytest.skip("this build has no nc.SharedArray")
    # ...a nocopy view of a SharedArray pickles by reference, and attach maps the same pages
    for path in ("nc.SharedArray.attach(name)", "pickle.loads(pickle.dumps(sa.view[r0:r1]))"):
        r = _row(result, path, "shared-memory")
        assert r["shares_memory"] is True and r["scaling"] == "O(1)", r
    assert _row(result, 'nc.open_npy(path, mode="r")', "mmap")["shares_memory"] is True


def test_a_crashing_path_becomes_a_row(result):
    # torch.from_dlpack of a negative-stride array aborts some torch builds; either way the
    # audit reports a row and keeps going.
    if not HAS_TORCH:
        pytest.skip("torch is not installed")
    r = _row(result, "torch.from_dlpack(a)", "negative-strides")
    assert r["shares_memory"] is None and r["error"]
    assert _row(result, "torch.from_dlpack(a)", "contiguous")["shares_memory"] is True


def test_every_seed_path_is_in_the_catalog():
    select(None)
    paths = {e.path for e in CATALOG}
    for p in ("memoryview(a)[::2]  # a 1-D", "memoryview(a)[r0:r1, c0:c1]",
              "memoryview(a).tobytes()", "a[r0:r1]", "a.copy()", "torch.from_numpy(a)",
              "torch.as_tensor(a)", "torch.tensor(a)",
              "torch.frombuffer(memoryview(a), dtype=torch.float32)", "torch.from_dlpack(a)",
              "tf.convert_to_tensor(a)", "tf.constant(a)",
              "tf.convert_to_tensor(memoryview(a))", "tf.tensor(a)",
              "tf.experimental.dlpack.from_dlpack(a.__dlpack__())", "jnp.asarray(a)",
              "jax.dlpack.from_dlpack(a)",
              "np.ndarray(shape, dtype, buffer=SharedMemory(name=name).buf)"):
        assert p in paths, p
    conds = {e.condition for e in CATALOG if e.path == "tf.convert_to_tensor(a)"}
    assert {"contiguous", "misaligned", "sliced"} <= conds


def test_only_filters():
    rows, skipped = select("tf\\.tensor")
    assert {e.path for e in rows} | {k.split(" [")[0] for k in skipped} == {"tf.tensor(a)"}
    assert select("no-such-path-anywhere")[0] == []


def test_cli_json_parses_and_filters():
    out = subprocess.run([sys.executable, "-m", "nocopy", "audit", "--json", "--quick",
                          "--only", r"^a\.copy\(\)$"], capture_output=True, text=True,
                         timeout=300, check=True).stdout
    data = json.loads(out)
    assert [r["path"] for r in data["rows"]] == ["a.copy()"]
    assert data["rows"][0]["shares_memory"] is False
    assert data["machine"]["cores"] >= 1


def test_cli_markdown_states_machine_and_table():
    out = subprocess.run([sys.executable, "-m", "nocopy", "audit", "--markdown", "--quick",
                          "--only", r"^a\[r0:r1\]$"], capture_output=True, text=True,
                         timeout=300, check=True).stdout
    assert out.startswith("# What really copies")
    assert "CPU:" in out and "| numpy | `a[r0:r1]` | contiguous | yes | O(1) |" in out


def test_scaling_rule():
    assert probes.scaling(1e-5, 1e-5, 255 << 20, 2.5e-4) == "O(1)"
    assert probes.scaling(1e-4, 5e-2, 255 << 20, 2.5e-4) == "O(n)"
    assert probes.scaling(1e-3, 1.2e-3, 255 << 20, 2.5e-4) == "O(1)"  # jitter, not a copy


def test_ranges_of_views_and_copies():
    a = np.arange(100, dtype=np.float32)
    ra = ranges.data_range(a)
    assert ra == (a.ctypes.data, a.ctypes.data + 400)
    assert ranges.data_range(a[::-1]) == ra
    assert ranges.overlaps(ranges.data_range(memoryview(a)[10:20]), ra)
    assert not ranges.overlaps(ranges.data_range(a.copy()), ra)
    assert not ranges.overlaps(ranges.data_range(a[:50]), ranges.data_range(a[50:]))


# ---- guards ------------------------------------------------------------------------------------

def test_assert_shares_passes_and_fails():
    a = np.zeros((4, 6), np.float32)
    nc.assert_shares(a[1:, ::2], a)
    nc.assert_shares(memoryview(a), a)
    with pytest.raises(nc.NotSharedError, match="does not share memory") as ei:
        nc.assert_shares(a.copy(), a)
    assert isinstance(ei.value, AssertionError)
    with pytest.raises(nc.NotSharedError, match="^mine: "):
        nc.assert_shares(a[:2], a[2:], "mine")


@pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed")
def test_assert_shares_across_frameworks_torch():
    import torch

    a = np.ones(1000, np.float32)
    nc.assert_shares(torch.from_numpy(a), a)
    with pytest.raises(nc.NotSharedError, match="torch.Tensor"):
        nc.assert_shares(torch.tensor(a), a)


@pytest.mark.skipif(not HAS_JAX, reason="jax is not installed")
def test_assert_shares_jax_copy_detected():
    import jax.numpy as jnp

    a = np.ones(1000, np.float32)
    with pytest.raises(nc.NotSharedError):
        nc.assert_shares(jnp.array(a), a)


def test_no_copy_refuses_nocopy_copies_and_checks():
    a = np.arange(48, dtype=np.float32).reshape(6, 8)
    with nc.no_copy() as guard:
        v = nc.view(a)[:, ::2]
        assert guard.check(np.asarray(v), a) is not None
        with pytest.raises(nc.CopyForbiddenError, match="no_copy"):
            v.copy()
        with pytest.raises(nc.CopyForbiddenError):
            nc.ascontiguous(v)
        with pytest.raises(BufferError):
            v.to_numpy(copy=True)
        assert nc.ascontiguous(nc.view(a)) is not None  # already contiguous: no copy, allowed
        with pytest.raises(nc.NotSharedError):
            guard.check(a.copy(), a)
    assert guard.checked == 1
    if hasattr(nc._nocopy, "ascontiguous"):  # the copy kernel is bound: outside, it copies
        np.testing.assert_array_equal(np.asarray(v.copy()), a[:, ::2])


def test_no_copy_nests_and_decorates():
    a = np.zeros((4, 4))[:, ::2]

    @nc.no_copy()
    def inner():
        nc.view(a).copy()

    with nc.no_copy():
        with nc.no_copy():
            pass
        with pytest.raises(nc.CopyForbiddenError):
            nc.view(a).copy()
    with pytest.raises(nc.CopyForbiddenError):
        inner()


def test_no_copy_is_per_thread():
    import threading

    a = np.zeros((4, 4))[:, ::2]
    errors = []

    def other():
        try:
            nc.view(a).copy()
        except nc.CopyForbiddenError as exc:
            errors.append(exc)
        except AttributeError:  # the copy kernel is not bound in this build
            pass

    with nc.no_copy():
        t = threading.Thread(target=other)
        t.start()
        t.join()
    assert errors == []
