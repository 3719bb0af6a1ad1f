"""Sequences against NumPy: nc.windows equals sliding_window_view (zero-copy, read-only when
windows overlap), nc.open_raw equals np.memmap with open_npy's errors, and every SequenceLoader
batch equals its plan(i) recomputed with NumPy (shift / horizon targets, documents, series),
deterministic across thread counts, resumable, sharded disjointly, with clear errors."""

from __future__ import annotations

import errno
import os
import resource
import sys

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from numpy.lib.stride_tricks import sliding_window_view

import nocopy as nc


# --- nc.windows -----------------------------------------------------------------------------
@settings(max_examples=80, deadline=None)
@given(shape=st.lists(st.integers(0, 7), min_size=1, max_size=3), data=st.data())
def test_windows_equal_sliding_window_view(shape, data):
    x = np.arange(int(np.prod(shape)), dtype=np.int32).reshape(shape)
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    size = data.draw(st.integers(0, shape[axis]))
    step = data.draw(st.integers(1, 4))
    if data.draw(st.booleans()):  # negative and non-unit strides too
        x = x[..., ::-1]
    w = nc.windows(x, size, step=step, axis=axis)
    ref = sliding_window_view(x, size, axis=axis)
    ref = np.moveaxis(np.moveaxis(ref, axis if axis >= 0 else axis - 1, -1)[..., ::step],
                      -1, axis if axis >= 0 else axis - 1)
    got = np.asarray(w)
    assert got.shape == ref.shape and np.array_equal(got, ref)
    count = ref.shape[axis if axis >= 0 else axis - 1]
    assert w.readonly == (count > 1 and step < size)
    if got.size:
        assert nc.shares_memory(w, x)


def test_windows_match_the_spec_formula_and_write_through_when_disjoint():
    x = np.arange(20, dtype=np.float32).reshape(2, 10)
    w = nc.windows(x, 3, step=2)
    assert np.array_equal(np.asarray(w), sliding_window_view(x, 3, axis=-1)[..., ::2, :])
    assert w.readonly
    d = nc.windows(x, 2, step=2)  # disjoint windows: a writable view of the same memory
    assert not d.readonly
    np.asarray(d)[1, 3, 0] = -1
    assert x[1, 6] == -1
    assert np.asarray(d).__array_interface__["data"][0] == x.__array_interface__["data"][0]


def test_windows_errors():
    x = np.zeros((3, 4))
    with pytest.raises(ValueError, match="window size 5 is larger than axis 1 of length 4"):
        nc.windows(x, 5)
    with pytest.raises(ValueError, match="step 0 must be >= 1"):
        nc.windows(x, 2, step=0)
    with pytest.raises(ValueError, match="must be >= 0"):
        nc.windows(x, -1)
    with pytest.raises(IndexError):
        nc.windows(x, 2, axis=2)


def test_windows_with_a_step_past_the_last_start_however_large():
    # One window: its axis's stride is never used, so a step that would overflow it is valid,
    # as in NumPy's slicing.
    x = np.arange(10, dtype=np.int64)
    for step in (8, 2**40, 2**61, 2**63 - 1):
        w = nc.windows(x, 3, step=step)
        assert np.asarray(w).tolist() == sliding_window_view(x, 3)[::step].tolist() == [[0, 1, 2]]
    assert np.asarray(nc.windows(x, 3, step=7)).tolist() == [[0, 1, 2], [7, 8, 9]]


# --- nc.open_raw ----------------------------------------------------------------------------
def test_open_raw_equals_memmap(tmp_path):
    a = np.arange(1000, dtype=np.uint16)
    p = tmp_path / "train.bin"
    a.tofile(p)
    v = nc.open_raw(p, np.uint16)
    assert v.shape == (1000,) and v.readonly
    assert np.array_equal(np.asarray(v), np.memmap(p, np.uint16, "r"))
    v2 = nc.open_raw(str(p), "uint16", shape=(-1, 10), offset=200)
    assert np.array_equal(np.asarray(v2), np.memmap(p, np.uint16, "r", 200, (90, 10)))
    w = nc.open_raw(p, "uint16", mode="r+")
    np.asarray(w)[3] = 777
    del w
    assert np.fromfile(p, np.uint16)[3] == 777
    c = nc.open_raw(p, "uint16", mode="c")
    np.asarray(c)[4] = 1
    assert np.fromfile(p, np.uint16)[4] == 4


def test_windows_and_open_raw_integer_arguments(tmp_path):
    # the bindings' shared int64_arg / int64_args: TypeError or OverflowError naming the argument
    x = np.zeros((3, 4))
    for name in ("size", "step", "axis"):
        args = dict(size=2, step=1, axis=-1)
        for bad in (2.0, "1", True, None):
            with pytest.raises(TypeError, match=f"{name} must be an integer, got"):
                nc.windows(x, **{**args, name: bad})
        with pytest.raises(OverflowError, match=f"{name} 9223372036854775808 does not fit"):
            nc.windows(x, **{**args, name: 2**63})
    assert nc.windows(x, np.int16(2), step=np.uint8(2)).shape == (3, 2, 2)
    p = tmp_path / "raw.bin"
    np.arange(8, dtype=np.uint16).tofile(p)
    with pytest.raises(TypeError, match=r"shape\[1\] must be an integer, got float"):
        nc.open_raw(p, np.uint16, shape=(2, 2.0))
    with pytest.raises(TypeError, match="shape must be a sequence of integers"):
        nc.open_raw(p, np.uint16, shape=2.0)
    with pytest.raises(OverflowError, match="shape 9223372036854775808 does not fit"):
        nc.open_raw(p, np.uint16, shape=2**63)
    with pytest.raises(TypeError, match="offset must be an integer, got float"):
        nc.open_raw(p, np.uint16, offset=2.0)
    with pytest.raises(OverflowError, match="offset 9223372036854775808 does not fit"):
        nc.open_raw(p, np.uint16, offset=2**63)
    with pytest.raises(ValueError, match="offset -2 must be >= 0"):
        nc.open_raw(p, np.uint16, offset=-2)
    assert np.asarray(nc.open_raw(p, np.uint16, shape=np.int64(3), offset=np.int8(4))).tolist() \
        == [2, 3, 4]
    # A NumPy array of integers is a shape, as for np.memmap (its __index__ fails unless 0-d).
    for shape in (np.array([2, 4]), np.array([2, 4], np.uint8), [np.int64(2), 4]):
        assert nc.open_raw(p, np.uint16, shape=shape).shape == (2, 4)
    assert nc.open_raw(p, np.uint16, shape=np.array(8)).shape == (8,)
    with pytest.raises(TypeError, match=r"shape\[0\] must be an integer, got float64"):
        nc.open_raw(p, np.uint16, shape=np.array([2.0, 4.0]))


def test_open_raw_errors(tmp_path):
    p = tmp_path / "odd.bin"
    p.write_bytes(b"abc")
    with pytest.raises(ValueError, match="not a whole number of uint16"):
        nc.open_raw(p, "uint16")
    with pytest.raises(ValueError, match="needs 8 bytes"):
        nc.open_raw(p, "uint16", shape=(4,))
    with pytest.raises(ValueError, match="past the end"):
        nc.open_raw(p, "uint8", offset=4)
    with pytest.raises(ValueError, match="multiple of the item size"):
        nc.open_raw(p, "uint16", offset=1)
    (tmp_path / "empty.bin").write_bytes(b"")
    with pytest.raises(ValueError, match="empty"):
        nc.open_raw(tmp_path / "empty.bin", "uint8")
    with pytest.raises(FileNotFoundError) as e:
        nc.open_raw(tmp_path / "missing.bin", "uint8")
    assert e.value.errno == errno.ENOENT and e.value.filename == str(tmp_path / "missing.bin")
    with pytest.raises(IsADirectoryError) as e:  # as open_npy
        nc.open_raw(tmp_path, "uint8")
    assert e.value.errno == errno.EISDIR
    with pytest.raises(IsADirectoryError):
        nc.open_npy(tmp_path)
    with pytest.raises(ValueError):
        nc.open_raw(str(p) + "\0junk", "uint8")
    with pytest.raises(ValueError, match="mode"):
        nc.open_raw(p, "uint8", mode="w")


def test_open_raw_of_a_fifo_raises_instead_of_blocking(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match="not a regular file"):
        nc.open_raw(fifo, "uint8")


# --- SequenceLoader -------------------------------------------------------------------------
def reference_batch(sources, plan, seq_len, targets, horizon, dtype):
    xs, ys = [], []
    for s, t in zip(plan.sources, plan.starts):
        src = np.asarray(sources[s])
        xs.append(src[t:t + seq_len].astype(dtype))
        if targets == "next":
            ys.append(src[t + 1:t + 1 + seq_len].astype(dtype))
        elif targets == "horizon":
            ys.append(src[t + seq_len:t + seq_len + horizon].astype(dtype))
    return np.stack(xs), (np.stack(ys) if ys else None)


def check_epoch(loader, sources, seq_len, targets="next", horizon=1, dtype=np.int64):
    plans = [loader.plan(i) for i in range(len(loader))]
    batches = list(loader)
    assert len(batches) == len(plans)
    for plan, batch in zip(plans, batches):
        x, y = (batch, None) if targets is None else batch
        rx, ry = reference_batch(sources, plan, seq_len, targets, horizon, dtype)
        assert x.dtype == rx.dtype and np.array_equal(x, rx)
        if targets is not None:
            assert np.array_equal(y, ry)
        for s, t in zip(plan.sources, plan.starts):  # no window crosses a boundary
            assert 0 <= t and t + seq_len + (0 if targets is None else
                                             1 if targets == "next" else horizon) \
                <= len(sources[s])
    return plans


@settings(max_examples=40, deadline=None)
@given(lengths=st.lists(st.integers(1, 60), min_size=1, max_size=4),
       seq_len=st.integers(1, 12), batch=st.integers(1, 5),
       targets=st.sampled_from(["next", "horizon", None]), horizon=st.integers(1, 5),
       step=st.sampled_from([None, 1, 3, 7]), features=st.sampled_from([0, 3]),
       dtype=st.sampled_from(["int64", "int32", "float32"]), seed=st.integers(0, 2**64 - 1),
       drop_last=st.booleans())
def test_batches_equal_their_plan_recomputed_with_numpy(lengths, seq_len, batch, targets,
                                                        horizon, step, features, dtype, seed,
                                                        drop_last):
    rng = np.random.default_rng(len(lengths) * 1000 + seq_len)
    shape = (lambda n: (n,)) if features == 0 else (lambda n: (n, features))
    sources = [rng.integers(0, 60000, shape(n)).astype(np.uint16) for n in lengths]
    need = seq_len + (0 if targets is None else 1 if targets == "next" else horizon)
    kwargs = dict(targets=targets, horizon=horizon, step=step, dtype=dtype, seed=seed,
                  drop_last=drop_last, output="numpy", num_threads=2)
    if max(lengths) < need:
        with pytest.raises(ValueError, match="longer than the data|does not fit"):
            nc.SequenceLoader(sources, seq_len, batch, **kwargs)
        return
    try:
        loader = nc.SequenceLoader(sources, seq_len, batch, **kwargs)
    except ValueError as exc:  # drop_last leaving no batch is refused, as for nc.Loader
        assert drop_last and "drop_last leaves no batch" in str(exc)
        return
    assert len(loader) > 0
    check_epoch(loader, sources, seq_len, targets, horizon, np.dtype(dtype))


def test_step_mode_covers_every_window_once_per_epoch():
    docs = [np.arange(n, dtype=np.uint32) + 1000 * i for i, n in enumerate([50, 7, 33, 64])]
    loader = nc.SequenceLoader(docs, 8, 4, step=5, drop_last=False, output="numpy")
    starts = sorted((int(s), int(t)) for i in range(len(loader))
                    for s, t in zip(*loader.plan(i)))
    expected = sorted((s, t) for s, d in enumerate(docs) for t in range(0, len(d) - 9 + 1, 5))
    assert starts == expected  # 9 = 8 + the next-step target; doc 1 (7 tokens) has none
    loader.set_epoch(1)
    other = [tuple(loader.plan(i).starts) for i in range(len(loader))]
    loader.set_epoch(0)
    assert other != [tuple(loader.plan(i).starts) for i in range(len(loader))]


def test_random_starts_count_and_spread():
    tokens = np.arange(100_000, dtype=np.uint16)
    loader = nc.SequenceLoader(tokens, 100, 10, output="numpy")
    assert loader.windows_per_epoch == 1000 and len(loader) == 100
    starts = np.concatenate([loader.plan(i).starts for i in range(len(loader))])
    assert starts.min() >= 0 and starts.max() <= 100_000 - 101
    assert len(np.unique(starts)) > 900  # uniform draws over 99,900 starts rarely collide


def test_same_bytes_whatever_the_thread_count_and_after_resume():
    tokens = np.random.default_rng(1).integers(0, 50000, 20_000).astype(np.uint16)
    runs = []
    for threads in (1, 2, 3):
        loader = nc.SequenceLoader(tokens, 64, 16, seed=7, num_threads=threads, output="numpy")
        runs.append([np.array(x).copy() for x, _ in loader])
    assert all(len(r) == len(runs[0]) for r in runs)
    for r in runs[1:]:
        assert all(np.array_equal(a, b) for a, b in zip(runs[0], r))
    loader = nc.SequenceLoader(tokens, 64, 16, seed=7, output="numpy")
    it = iter(loader)
    for _ in range(5):
        next(it)
    state = loader.state_dict()
    resumed = nc.SequenceLoader(tokens, 64, 16, seed=7, output="numpy")
    resumed.load_state_dict(state)
    rest = [np.array(x) for x, _ in resumed]
    assert len(rest) == len(runs[0]) - 5
    assert all(np.array_equal(a, b) for a, b in zip(rest, runs[0][5:]))
    other = nc.SequenceLoader(tokens, 64, 16, seed=8, output="numpy")
    with pytest.raises(ValueError, match="seed=7"):
        other.load_state_dict(state)


@pytest.mark.parametrize("step", [None, 4])
def test_shards_are_disjoint_and_cover_and_equal(step):
    tokens = np.arange(4000, dtype=np.uint16)
    world = 3
    loaders = [nc.SequenceLoader(tokens, 16, 8, step=step, rank=r, world_size=world,
                                 drop_last=True, output="numpy") for r in range(world)]
    assert len({len(lo) for lo in loaders}) == 1
    if step is None:  # the ranks split the global positions of one epoch's draws
        full = nc.SequenceLoader(tokens, 16, 8, step=step, output="numpy")
        merged = np.concatenate([lo.plan(i).starts for lo in loaders for i in range(len(lo))])
        assert len(merged) == len(loaders[0]) * 8 * world
        allstarts = np.concatenate([full.plan(i).starts for i in range(len(full))])
        assert sorted(merged) == sorted(allstarts[:len(merged)])
    else:
        seen = [set(int(t) for i in range(len(lo)) for t in lo.plan(i).starts)
                for lo in loaders]
        for a in range(world):
            for b in range(a + 1, world):
                assert not seen[a] & seen[b]
        windows = set(range(0, 4000 - 17 + 1, 4))
        union = set().union(*seen)
        assert union <= windows and len(windows) - len(union) < world * 8 + world


def test_series_with_horizon_float32():
    t = np.random.default_rng(0).standard_normal((3000, 32)).astype(np.float32)
    loader = nc.SequenceLoader(t, 512, 4, targets="horizon", horizon=24, dtype="float32",
                               output="numpy")
    plan = loader.plan(0)
    x, y = next(iter(loader))
    assert x.shape == (4, 512, 32) and y.shape == (4, 24, 32) and x.dtype == np.float32
    s = plan.starts[0]
    assert np.array_equal(x[0], t[s:s + 512]) and np.array_equal(y[0], t[s + 512:s + 536])
    assert x.ctypes.data % 64 == 0


def test_batches_are_zero_copy_exports_of_pooled_buffers():
    torch = pytest.importorskip("torch")
    tokens = np.arange(5000, dtype=np.uint16)
    loader = nc.SequenceLoader(tokens, 32, 4, output="torch")
    x, y = next(iter(loader))
    assert isinstance(x, torch.Tensor) and x.dtype == torch.int64
    assert x.data_ptr() % 64 == 0 and y.data_ptr() >= x.data_ptr() + x.numel() * 8
    held = x.clone()
    for _ in range(6):  # a kept batch is never overwritten by later ones
        next(iter(loader))
    assert torch.equal(x, held)


def test_errors_are_clear():
    tokens = np.arange(100, dtype=np.uint16)
    with pytest.raises(ValueError, match="seq_len 200 is longer than the data"):
        nc.SequenceLoader(tokens, 200, 4)
    with pytest.raises(ValueError, match="horizon 10 does not fit"):
        nc.SequenceLoader(tokens, 95, 4, targets="horizon", horizon=10, output="numpy")
    with pytest.raises(ValueError, match="not an integer type"):
        nc.SequenceLoader(np.zeros(100, np.float32), 10, 4, output="numpy")
    with pytest.raises(ValueError, match="targets 'x'"):
        nc.SequenceLoader(tokens, 10, 4, targets="x", output="numpy")
    with pytest.raises(ValueError, match="batch_size 0"):
        nc.SequenceLoader(tokens, 10, 0, output="numpy")
    with pytest.raises(ValueError, match="rank 2"):
        nc.SequenceLoader(tokens, 10, 4, rank=2, world_size=2, output="numpy")
    with pytest.raises(ValueError, match="shuffle=False needs step"):
        nc.SequenceLoader(tokens, 10, 4, shuffle=False, output="numpy")
    with pytest.raises(ValueError, match="same number of features"):
        nc.SequenceLoader([np.zeros((50, 2)), np.zeros((50, 3))], 10, 4, dtype="float32",
                          output="numpy")
    with pytest.raises(TypeError, match="seq_len must be an integer, got float"):
        nc.SequenceLoader(tokens, 10.5, 4, output="numpy")
    with pytest.raises(ValueError, match="seq_len 0 must be >= 1"):
        nc.SequenceLoader(tokens, 0, 4, output="numpy")
    with pytest.raises(ValueError, match="step 0 must be >= 1"):
        nc.SequenceLoader(tokens, 10, 4, step=0, output="numpy")
    with pytest.raises(ValueError, match="num_threads -1"):
        nc.SequenceLoader(tokens, 10, 4, num_threads=-1, output="numpy")
    with pytest.raises(ValueError, match="output"):
        nc.SequenceLoader(tokens, 10, 4, output="pandas")
    big = np.full(100, 70000, np.uint32)
    loader = nc.SequenceLoader(big, 10, 4, dtype="int16", output="numpy")
    with pytest.raises(OverflowError, match="token value 70000 at step .* does not fit in "
                                            "dtype int16"):
        next(iter(loader))
    ok = nc.SequenceLoader(big, 10, 4, dtype="int32", output="numpy")
    assert int(next(iter(ok))[0][0, 0]) == 70000
    # float16 holds integers up to 65519 in magnitude: larger ones would become infinite.
    with pytest.raises(OverflowError, match=r"token value 70000 .* does not fit in dtype "
                                            r"float16 \[-65519, 65519\]"):
        next(iter(nc.SequenceLoader(big, 10, 4, dtype="float16", output="numpy")))
    edge = np.array([65519, 1, 2, 65535] * 25, np.uint16)
    with pytest.raises(OverflowError, match="token value 65535"):
        next(iter(nc.SequenceLoader(edge, 10, 4, dtype="float16", step=4, output="numpy")))
    fits = nc.SequenceLoader(edge[:3], 2, 1, dtype="float16", step=1, shuffle=False,
                             targets=None, output="numpy")
    first = next(iter(fits))
    assert first.dtype == np.float16 and np.isfinite(first).all()
    assert first.tolist() == [[65504.0, 1.0]]  # 65519 rounds to float16's largest, not to inf
    assert np.array_equal(next(iter(nc.SequenceLoader(big, 10, 4, dtype="float32",
                                                      output="numpy")))[0], np.full((4, 10),
                                                                                   70000.0))


def test_buffers_are_sized_by_the_largest_batch_that_can_occur():
    # A batch_size above the windows per rank only makes one smaller batch: the buffers hold
    # that batch, not batch_size windows (here 10**10 x 16 x 8 bytes would be 1.3 TB).
    tokens = np.arange(1000, dtype=np.uint16)
    loader = nc.SequenceLoader(tokens, 16, 10**10, step=16, drop_last=False, output="numpy")
    assert len(loader) == 1 and loader.windows_per_epoch == 62
    x, y = loader.next_batch()
    assert x.shape == y.shape == (62, 16)
    assert loader._core.buffer_bytes <= 2 * 62 * 16 * 8 + 64  # x, then y 64-byte aligned
    sharded = nc.SequenceLoader(tokens, 16, 10**6, step=16, drop_last=False, world_size=3,
                                rank=2, output="numpy")
    assert sharded._core.buffer_bytes <= 2 * 21 * 16 * 8 + 64  # ceil(62 / 3) per rank
    assert sharded.next_batch()[0].shape == (21, 16)


INT_ARGS = ("seq_len", "batch_size", "horizon", "step", "seed", "num_threads", "prefetch",
            "rank", "world_size")


@pytest.mark.parametrize("name", INT_ARGS)
def test_integer_arguments_are_checked_by_the_shared_helpers(name):
    # One conversion for every integer (the bindings' int64_arg / uint64_arg): TypeError naming
    # the argument for a float, a str, a bool or None; OverflowError naming it and the value
    # past the int64 range (2**64 for the unsigned seed); NumPy integers are integers.
    tokens = np.arange(1000, dtype=np.uint16)
    base = dict(data=tokens, seq_len=10, batch_size=4, output="numpy")
    if name == "horizon":
        base["targets"] = "horizon"
    for bad in (2.0, "3", True, np.bool_(True)) + (() if name in ("step", "num_threads")
                                                   else (None,)):
        with pytest.raises(TypeError, match=f"{name} must be an integer, got"):
            nc.SequenceLoader(**{**base, name: bad})
    big = 2**64 if name == "seed" else 2**63
    with pytest.raises(OverflowError, match=f"{name} {big} "):
        nc.SequenceLoader(**{**base, name: big})
    ok = {"rank": 0, "world_size": 1, "num_threads": 1}.get(name, 2)
    loader = nc.SequenceLoader(**{**base, name: np.int32(ok)})
    assert loader.next_batch()[0].shape[0] <= 4
    with pytest.raises(TypeError, match="batch must be an integer, got str"):
        loader.plan("0")
    with pytest.raises(OverflowError, match="epoch 9223372036854775808 does not fit"):
        loader.load_state_dict({**loader.state_dict(), "epoch": 2**63})
    with pytest.raises(TypeError, match="batch must be an integer, got float"):
        loader.load_state_dict({**loader.state_dict(), "batch": 1.0})


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc/self/statm")
@pytest.mark.parametrize("read", ["pread", "mapping"])
def test_rss_stays_bounded_over_a_sparse_token_file(tmp_path, read):
    # 1 GiB of uint16 tokens as a sparse file (no disk): 2,000 batches of 32 x 1024 read 128 MiB
    # of windows. The contiguous file view is read with pread (the mapping is never touched); a
    # strided view of it is read through the mapping, each window faulting its pages in, and the
    # loader unmaps them again.
    path = tmp_path / "tokens.bin"
    with open(path, "wb") as f:
        f.truncate(1 << 30)
    tokens = nc.open_raw(path, np.uint16)
    if read == "mapping":
        tokens = nc.open_raw(path, np.uint16, shape=(-1, 2))[:, 0]
    loader = nc.SequenceLoader(tokens, 1024, 32, output="numpy", num_threads=2)
    for _ in range(50):
        loader.next_batch()
    before = _rss_bytes()
    for _ in range(2000):
        loader.next_batch()
    growth = _rss_bytes() - before
    assert growth < 64 << 20, f"RSS grew by {growth >> 20} MiB"


@pytest.mark.parametrize("mode", ["r", "r+", "c"])
def test_mapped_sources_of_every_mode_read_correctly(tmp_path, mode):
    # 40 MiB of tokens (read through the mapping, which stays resident): batches equal their
    # plan; copy-on-write mappings keep their private writes.
    tokens = np.random.default_rng(3).integers(0, 60000, 20 * 2**20).astype(np.uint16)
    path = tmp_path / "tokens.npy"
    np.save(path, tokens)
    v = nc.open_npy(path, mode=mode)
    if mode == "c":
        np.asarray(v)[:1000] = 7  # private writes that MADV_DONTNEED would discard
    ref = np.asarray(v).copy()
    loader = nc.SequenceLoader(v, 1024, 32, output="numpy", num_threads=2)
    for i in range(40):
        plan = loader.plan(i)
        x, _ = loader.next_batch()
        want = np.stack([ref[t:t + 1024] for t in plan.starts]).astype(np.int64)
        assert np.array_equal(x, want)
    assert (np.asarray(v)[:1000] == (7 if mode == "c" else ref[:1000])).all()


def _mapping_rss(path, readonly=None) -> int:
    """Resident bytes of this process's mappings of `path` (/proc/self/smaps): all of them, or
    only the read-only (readonly=True) or writable (False) ones. A removed file's mappings
    end in " (deleted)"."""
    total, inside = 0, False
    with open("/proc/self/smaps") as f:
        for line in f:
            head = line.split()
            if "-" in head[0] and len(head) >= 5:  # a mapping's first line
                name = line.rstrip("\n").removesuffix(" (deleted)")
                inside = name.endswith(str(path)) and (
                    readonly is None or head[1].startswith("r-") == readonly)
            elif inside and head[0] == "Rss:":
                total += int(head[1]) * 1024
    return total


BIG = (256 << 20) + (4 << 20)  # over the 256 MiB the loader leaves resident


def _big_file(path, dtype, block_seed=4):
    """A file of BIG bytes: one random 1 MiB block of `dtype` values, repeated."""
    block = np.random.default_rng(block_seed).integers(0, 30_000, (1 << 20) // np.dtype(dtype)
                                                      .itemsize).astype(dtype).tobytes()
    with open(path, "wb") as f:
        for _ in range(BIG >> 20):
            f.write(block)


def _pread_window(path, dtype, features, start, steps):
    row = np.dtype(dtype).itemsize * max(features, 1)
    fd = os.open(path, os.O_RDONLY)
    try:
        raw = os.pread(fd, steps * row, start * row)
    finally:
        os.close(fd)
    a = np.frombuffer(raw, dtype)
    return a if features == 0 else a.reshape(steps, features)


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc/self/smaps")
@pytest.mark.parametrize("dtype,out,features", [(np.uint16, "int64", 0), (np.uint16, "uint16", 0),
                                                (np.float32, "float32", 4),
                                                (np.float32, "float16", 4)])
def test_large_file_sources_are_read_with_pread_and_leave_the_mapping_untouched(
        tmp_path, dtype, out, features):
    # Over 256 MiB of mapped data, a contiguous open_raw view is read with pread: every batch
    # equals NumPy's astype of its plan read from the file (not the mapping), no page of the
    # mapping becomes resident, and writes through another r+ mapping show in later batches.
    path = tmp_path / "data.bin"
    _big_file(path, dtype)
    shape = None if features == 0 else (-1, features)
    v = nc.open_raw(path, dtype, shape=shape)
    targets, extra = ("next", 1) if features == 0 else ("horizon", 5)
    loader = nc.SequenceLoader(v, 100, 8, targets=targets, horizon=5, dtype=out, output="numpy",
                               num_threads=2)
    for i in range(8):
        if i == 3:  # batches 3 and 4 are already gathered (prefetch=2); 5 on see the write
            writer = np.asarray(nc.open_raw(path, dtype, mode="r+"))
            writer[:] = 7
            del writer
        plan = loader.plan(loader.state_dict()["batch"])
        x, y = loader.next_batch()
        if i in (3, 4):
            continue
        for k, t in enumerate(plan.starts):
            w = _pread_window(path, dtype, features, int(t), 100 + extra)
            assert i < 5 or (w == 7).all()
            assert x.dtype == np.dtype(out) and np.array_equal(x[k], w[:100].astype(out))
            assert np.array_equal(y[k], w[1:101].astype(out) if features == 0 else
                                  w[100:105].astype(out))
    import gc

    gc.collect()  # the writer's mapping is gone
    assert _mapping_rss(path) == 0


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc/self/smaps")
def test_large_shared_arrays_are_read_with_pread_and_leave_the_mapping_untouched():
    # Over 256 MiB, a SharedArray's segment is read with pread like a file (it is one, on
    # tmpfs): an attacher's batches equal their plan, its own mapping of the segment never
    # becomes resident, and writes by the creator show in later batches.
    n = BIG // 2
    block = np.random.default_rng(6).integers(0, 60_000, 1 << 19).astype(np.uint16)
    with nc.SharedArray.create((n,), np.uint16) as created:
        data = np.asarray(created)
        data[:] = np.resize(block, n)
        attached = nc.SharedArray.attach(created.name, readonly=True)
        loader = nc.SequenceLoader(attached.view, 1000, 8, output="numpy", num_threads=2)
        for i in range(8):
            if i == 3:  # batches 3 and 4 are already gathered (prefetch=2); 5 on see the write
                data[:] = 9
            plan = loader.plan(loader.state_dict()["batch"])
            x, y = loader.next_batch()
            if i in (3, 4):
                continue
            want = np.stack([block[(t + np.arange(1001)) % block.size] if i < 3 else
                             np.full(1001, 9) for t in plan.starts]).astype(np.int64)
            assert np.array_equal(x, want[:, :1000]) and np.array_equal(y, want[:, 1:])
        assert _mapping_rss(f"/dev/shm/{created.name}", readonly=True) == 0
        loader.close()
        attached.close()


def test_small_mapped_sources_stay_resident_and_read_correctly(tmp_path):
    # Under 256 MiB in all, mapped sources are read through the mapping, which stays resident.
    data = np.random.default_rng(5).integers(0, 60_000, 2_000_000).astype(np.uint16)
    path = tmp_path / "small.bin"
    data.tofile(path)
    loader = nc.SequenceLoader(nc.open_raw(path, np.uint16), 1000, 16, output="numpy")
    for _ in range(20):
        plan = loader.plan(loader.state_dict()["batch"])
        x, _ = loader.next_batch()
        assert np.array_equal(x, np.stack([data[t:t + 1000] for t in plan.starts]))
    assert _mapping_rss(path) > 0


def test_a_pread_source_range_checks_and_a_truncated_file_raises(tmp_path):
    path = tmp_path / "big.bin"
    with open(path, "wb") as f:  # uint32 70000 everywhere: no window fits int16
        block = np.full(1 << 18, 70_000, np.uint32).tobytes()
        for _ in range(BIG >> 20):
            f.write(block)
    loader = nc.SequenceLoader(nc.open_raw(path, np.uint32), 60, 4, dtype="int16",
                               output="numpy")
    with pytest.raises(OverflowError, match=r"token value 70000 at step \d+ of sequence 0 does "
                                            r"not fit in dtype int16 \[-32768, 32767\]"):
        loader.next_batch()
    del loader
    loader = nc.SequenceLoader(nc.open_raw(path, np.uint32), 100, 4, dtype="int64",
                               output="numpy")
    assert (loader.next_batch()[0] == 70_000).all()
    os.truncate(path, 0)  # reading the mapping now would be SIGBUS; pread reports it
    with pytest.raises(RuntimeError, match="truncated after it was mapped"):
        for _ in range(4):  # the batches already in flight (prefetch=2) were read before
            loader.next_batch()


@pytest.mark.parametrize("make", [lambda a: a[::-2], lambda a: a[::3],
                                  lambda a: a.reshape(-1, 6)[::-1, ::2],
                                  lambda a: a.reshape(-1, 6)[:, 1:5],
                                  lambda a: np.asfortranarray(a.reshape(-1, 6))])
def test_strided_sources_equal_numpy(make):
    # Non-contiguous sources (negative and non-unit steps, sliced features, Fortran order) go
    # through the per-run and per-row conversions: batches equal NumPy's astype of the plan.
    src = make(np.random.default_rng(6).integers(0, 60_000, 60_000).astype(np.uint16))
    loader = nc.SequenceLoader(src, 50, 8, dtype="int32" if src.ndim == 1 else "float32",
                               output="numpy")
    check_epoch(loader, [src], 50, "next", 1, np.dtype("int32" if src.ndim == 1 else "float32"))
