"""nocopy.Loader against a NumPy reference built from loader.plan(i); determinism, resume,
sharding, held batches, frameworks, validation, worker errors and shutdown paths."""

import gc
import os
import signal
import threading
import time

import numpy as np
import pytest

import nocopy as nc

torch = pytest.importorskip("torch")


def _images(n=13, h=20, w=24, c=3, dtype=np.uint8, seed=0):
    rng = np.random.default_rng(seed)
    if dtype == np.uint8:
        return rng.integers(0, 256, (n, h, w, c), dtype=np.uint8)
    return (rng.standard_normal((n, h, w, c)) * 50).astype(dtype)


def _bf16_bits(x32):
    """float32 -> bfloat16 bits, round to nearest even (what the loader stores)."""
    b = x32.view(np.uint32).astype(np.uint64)
    return ((b + 0x7FFF + ((b >> 16) & 1)) >> 16).astype(np.uint16)


def _reference(images, plan, crop, layout, dtype, mean, std, scale):
    """The batch recomputed with NumPy from the plan, as the loader defines it:
    x * a[c] + b[c] in float32 with a = scale / std, b = -mean / std rounded once from float64."""
    h, w = crop
    c = images.shape[3]
    mean64 = np.zeros(c) if mean is None else np.broadcast_to(np.asarray(mean, np.float64), (c,))
    std64 = np.ones(c) if std is None else np.broadcast_to(np.asarray(std, np.float64), (c,))
    a = (scale / std64).astype(np.float32)
    b = (-mean64 / std64).astype(np.float32)
    out = []
    for i, t, l, m in zip(plan.indices, plan.top, plan.left, plan.mirror):
        x = images[i, t:t + h, l:l + w, :]
        if m:
            x = x[:, ::-1, :]
        if dtype == "uint8":
            y = x.copy()
        else:
            y = x.astype(np.float32) * a + b
            if dtype == "float16":
                y = y.astype(np.float16)
            elif dtype == "bfloat16":
                y = _bf16_bits(y)
        out.append(y.transpose(2, 0, 1) if layout == "CHW" else y)
    return np.stack(out)


def _as_numpy(x, dtype):
    """A torch batch as NumPy (bfloat16 as its uint16 bits)."""
    if dtype == "bfloat16":
        return x.view(torch.int16).numpy().view(np.uint16)
    return x.numpy()


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16", "uint8"])
@pytest.mark.parametrize("layout", ["CHW", "HWC"])
@pytest.mark.parametrize("crop_mode", ["random", "center", "none"])
def test_every_batch_equals_numpy_reference(dtype, layout, crop_mode):
    images = _images()
    labels = np.arange(13) * 10
    norm = dtype != "uint8"
    crop = None if crop_mode == "none" else (7, 9)
    kwargs = dict(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]) if norm else {}
    loader = nc.Loader(images, labels, batch_size=4, crop=crop, crop_mode=crop_mode,
                       layout=layout, dtype=dtype, seed=5, num_threads=2, **kwargs)
    assert len(loader) == 4
    plans = [loader.plan(i) for i in range(len(loader))]
    seen = []
    for i, (x, y) in enumerate(loader):
        assert isinstance(x, torch.Tensor)
        assert x.data_ptr() % 64 == 0
        size = (20, 24) if crop is None else crop
        want = _reference(images, plans[i], size, layout, dtype, kwargs.get("mean"),
                          kwargs.get("std"), 1 / 255 if norm else 1.0)
        got = _as_numpy(x, dtype)
        assert got.shape == want.shape
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(y.numpy(), labels[plans[i].indices])
        seen.extend(plans[i].indices)
    assert sorted(seen) == list(range(13))  # one epoch covers the data once


def test_float_sources_scale_and_broadcast_mean():
    for src in (np.float32, np.float64, np.float16):
        images = _images(n=6, dtype=src)
        loader = nc.Loader(images, batch_size=3, crop=(5, 5), mean=0.5, std=2.0, scale=1.0,
                           output="numpy", seed=1)
        plan = loader.plan(0)
        x = next(iter(loader))
        # The loader reads every source as float32 first (float16 exactly, float64 rounded).
        want = _reference(images.astype(np.float32), plan, (5, 5), "CHW", "float32", 0.5, 2.0,
                          1.0)
        np.testing.assert_array_equal(x, want)


def test_strided_sources_channels_first_and_flipped():
    base = _images(n=8, h=20, w=24)
    for images in (np.ascontiguousarray(base.transpose(0, 3, 1, 2)).transpose(0, 2, 3, 1),
                   base[:, ::-1, ::2, :], base[::2]):
        loader = nc.Loader(images, batch_size=4, crop=(6, 6), output="numpy", dtype="float16")
        plan = loader.plan(0)
        x = next(iter(loader))
        np.testing.assert_array_equal(
            x, _reference(images, plan, (6, 6), "CHW", "float16", None, None, 1 / 255))


def test_same_bytes_whatever_the_thread_count():
    images = _images(n=40, h=16, w=16)
    runs = []
    for threads in (1, 2, 3):
        loader = nc.Loader(images, batch_size=6, crop=(8, 8), num_threads=threads, seed=9,
                           output="numpy")
        assert loader.num_threads == threads
        runs.append([x.copy() for _ in range(2) for x in loader])  # two epochs
    for other in runs[1:]:
        assert len(other) == len(runs[0]) == 14
        for a, b in zip(runs[0], other):
            np.testing.assert_array_equal(a, b)
    assert not np.array_equal(runs[0][0], runs[0][7])  # epoch 1 differs from epoch 0


def test_seed_and_epoch_change_the_batches():
    images = _images(n=20)
    a = nc.Loader(images, batch_size=5, crop=(6, 6), seed=1, output="numpy")
    b = nc.Loader(images, batch_size=5, crop=(6, 6), seed=2, output="numpy")
    assert not np.array_equal(a.plan(0).indices, b.plan(0).indices)
    first = a.plan(0)
    a.set_epoch(3)
    assert a.epoch == 3
    assert not np.array_equal(a.plan(0).indices, first.indices)
    a.set_epoch(0)
    np.testing.assert_array_equal(a.plan(0).indices, first.indices)
    np.testing.assert_array_equal(a.plan(0).top, first.top)


def test_resume_mid_epoch_gives_identical_batches():
    images = _images(n=30)
    a = nc.Loader(images, np.arange(30), batch_size=4, crop=(8, 8), seed=3, output="numpy",
                  num_threads=2)
    it = iter(a)
    for _ in range(8):  # the whole of epoch 0 ...
        next(it)
    for _ in it:
        pass
    it = iter(a)
    for _ in range(3):  # ... and 3 batches into epoch 1
        next(it)
    state = a.state_dict()
    assert (state["epoch"], state["batch"]) == (1, 3)
    rest = [(x.copy(), y.copy()) for x, y in it]
    assert len(rest) == 5
    b = nc.Loader(images, np.arange(30), batch_size=4, crop=(8, 8), seed=3, output="numpy",
                  num_threads=1)
    b.load_state_dict(state)
    for (x, y), (wx, wy) in zip(b, rest):
        np.testing.assert_array_equal(x, wx)
        np.testing.assert_array_equal(y, wy)
    assert b.state_dict()["epoch"] == 2
    with pytest.raises(ValueError, match="seed=3 but this loader has seed=4"):
        nc.Loader(images, batch_size=4, crop=(8, 8), seed=4).load_state_dict(state)
    with pytest.raises(ValueError, match="batch 9 is not in"):
        a.load_state_dict({**state, "batch": 9})


@pytest.mark.parametrize("n,world,drop_last", [(24, 3, False), (26, 3, False), (26, 3, True)])
def test_sharding_disjoint_and_covering(n, world, drop_last):
    images = _images(n=n, h=8, w=8)
    per_rank = []
    for rank in range(world):
        loader = nc.Loader(images, np.arange(n), batch_size=4, crop=(4, 4), rank=rank,
                           world_size=world, drop_last=drop_last, output="numpy", seed=11)
        per_rank.append(np.concatenate([y for _, y in loader]))
    lengths = {len(r) for r in per_rank}
    assert len(lengths) == 1  # every rank the same number of samples (and batches)
    allv = np.concatenate(per_rank)
    if n % world == 0 or drop_last:
        assert len(set(allv.tolist())) == len(allv)  # disjoint
        per_rank_samples = n // world
        if drop_last:
            per_rank_samples -= per_rank_samples % 4  # the partial batch is dropped
        assert len(allv) == per_rank_samples * world
    else:
        assert set(allv.tolist()) == set(range(n))  # covering, padded by wrapping
        assert len(allv) == -(-n // world) * world


def test_held_batches_unchanged_and_memory_bounded():
    images = _images(n=64, h=16, w=16)
    loader = nc.Loader(images, batch_size=8, crop=(8, 8), prefetch=2, num_threads=2, seed=0)
    it = iter(loader)
    kept = next(it)
    snapshot = kept.clone()
    ptr = kept.data_ptr()
    for _ in range(12):  # many further batches, across epochs
        for x in loader:
            assert x.data_ptr() != ptr
    assert torch.equal(kept, snapshot)
    assert loader._core.buffers_allocated <= 2 * 2 + 3
    del kept
    gc.collect()


def test_outputs_share_the_batch_buffer():
    images = _images(n=8)
    v = next(iter(nc.Loader(images, batch_size=4, crop=(8, 8), output="view")))
    assert isinstance(v, nc.View)
    assert v.data_ptr % 64 == 0 and v.is_contiguous and not v.readonly
    t = v.to_torch()
    assert t.data_ptr() == v.data_ptr
    a = np.asarray(v)
    a[0, 0, 0, 0] = 123.0
    assert t[0, 0, 0, 0].item() == 123.0  # one buffer, seen by both


def test_jax_and_tf_outputs():
    images = _images(n=8)
    ref = nc.Loader(images, np.arange(8), batch_size=4, crop=(8, 8), layout="HWC", seed=2,
                    output="numpy")
    want = [(x.copy(), y.copy()) for x, y in ref]
    try:
        import jax  # noqa: F401
        jl = nc.Loader(images, np.arange(8), batch_size=4, crop=(8, 8), layout="HWC", seed=2,
                       output="jax")
        for (x, y), (wx, wy) in zip(jl, want):
            np.testing.assert_array_equal(np.asarray(x), wx)
            np.testing.assert_array_equal(np.asarray(y), wy)
    except ImportError:
        pass
    tf = pytest.importorskip("tensorflow")
    tl = nc.Loader(images, np.arange(8), batch_size=4, crop=(8, 8), layout="HWC", seed=2,
                   output="tf")
    for (x, y), (wx, wy) in zip(tl, want):
        assert isinstance(x, tf.Tensor)
        np.testing.assert_array_equal(x.numpy(), wx)
        np.testing.assert_array_equal(y.numpy(), wy)
    dl = nc.Loader(images, np.arange(8), batch_size=4, crop=(8, 8), layout="HWC", seed=2,
                   output="numpy")
    ds = dl.as_tf_dataset()
    got = [(x.numpy(), y.numpy()) for x, y in ds]
    assert len(got) == 2
    for (x, y), (wx, wy) in zip(got, want):
        np.testing.assert_array_equal(x, wx)
        np.testing.assert_array_equal(y, wy)


def test_multi_axis_labels_gathered():
    images = _images(n=10)
    labels = np.arange(40, dtype=np.float64).reshape(10, 2, 2)[:, ::-1, :]  # strided
    loader = nc.Loader(images, labels, batch_size=3, crop=(4, 4), output="numpy")
    plan = loader.plan(0)
    _, y = next(iter(loader))
    np.testing.assert_array_equal(y, labels[plan.indices])


BAD = [
    (dict(crop=(30, 30)), ValueError, r"crop \(30, 30\) is larger than image \(20, 24\)"),
    (dict(layout="NCHW"), ValueError, "layout 'NCHW' is not one of"),
    (dict(mean=[0.5, 0.5]), ValueError, "mean has 2 values but the images have 3 channels"),
    (dict(std=[1, 0, 1]), ValueError, r"std\[1\] = 0 must be finite and non-zero"),
    (dict(rank=2, world_size=2), ValueError, r"rank 2 is not in \[0, world_size=2\)"),
    (dict(batch_size=0), ValueError, "batch_size 0 must be >= 1"),
    (dict(prefetch=0), ValueError, r"prefetch 0 is not in \[1, 1024\]"),
    (dict(num_threads=0), ValueError, r"num_threads 0 is not in \[1, 1024\]"),
    (dict(mirror=2.0), ValueError, r"mirror probability 2 is not in \[0, 1\]"),
    (dict(dtype="int32"), ValueError, "dtype 'int32' is not one of"),
    (dict(output="keras"), ValueError, "output 'keras' is not one of"),
    (dict(crop_mode="edge"), ValueError, "crop_mode 'edge' is not one of"),
    (dict(crop_mode="none"), ValueError, r"crop_mode 'none' keeps the whole image \(20, 24\)"),
    (dict(dtype="uint8", mean=[0.5]), ValueError, "uint8 output copies source bytes unchanged"),
    (dict(dtype="uint8", scale=1 / 255), ValueError, "scale must be 1"),
    (dict(batch_size=2.5), TypeError, "batch_size must be an integer"),
    (dict(seed=-1), ValueError, "seed -1 must be >= 0"),
    (dict(crop="big"), TypeError, "crop must be None, an int or a"),
    (dict(labels=np.arange(12)), ValueError, r"labels shape \(12,\) does not match images"),
]


@pytest.mark.parametrize("kwargs,exc,match", BAD)
def test_validation_at_construction(kwargs, exc, match):
    kwargs = {"crop": (8, 8), **kwargs}
    with pytest.raises(exc, match=match):
        nc.Loader(_images(), **kwargs)


def test_bad_images():
    with pytest.raises(ValueError, match=r"shape \(N, H, W, C\)"):
        nc.Loader(np.zeros((4, 8, 8), np.uint8), crop=(4, 4))
    with pytest.raises(ValueError, match="images dtype int32 is not supported"):
        nc.Loader(np.zeros((4, 8, 8, 3), np.int32), crop=(4, 4))
    with pytest.raises(ValueError, match="uint8 output copies source bytes and needs uint8"):
        nc.Loader(np.zeros((4, 8, 8, 3), np.float32), crop=(4, 4), dtype="uint8")


def test_exception_in_worker_reaches_consumer_with_sample_index():
    images = _images(n=20)
    loader = nc.Loader(images, batch_size=4, crop=(8, 8), shuffle=False, output="numpy")
    loader._core._inject_fault(9)  # the test-only seam of the C++ core
    got = []
    with pytest.raises(RuntimeError, match=r"loader worker failed on sample 9 \(batch 2 of "
                                           r"epoch 0\)"):
        for x in loader:
            got.append(x)
    assert len(got) == 2
    assert loader.state_dict()["batch"] == 2
    loader.set_epoch(0)
    assert next(iter(loader)).shape == (4, 3, 8, 8)


def _os_threads():
    return len(os.listdir("/proc/self/task"))


def test_break_del_and_close_stop_the_threads():
    images = _images(n=64, h=32, w=32)
    gc.collect()
    before = _os_threads()
    loader = nc.Loader(images, batch_size=8, crop=(16, 16), num_threads=3, prefetch=4,
                       output="view")  # no framework threads to blur the count
    assert _os_threads() == before + 3
    for i, _ in enumerate(loader):
        if i == 1:
            break  # batches in flight stay queued
    state = loader.state_dict()
    assert state["batch"] == 2
    assert next(iter(loader)).shape == (8, 3, 16, 16)  # iteration resumes at the position
    del loader
    gc.collect()
    assert _os_threads() == before
    with nc.Loader(images, batch_size=8, crop=(16, 16), num_threads=2, output="view") as loader:
        kept = next(iter(loader))
        snapshot = np.asarray(kept).copy()
    assert _os_threads() == before
    np.testing.assert_array_equal(np.asarray(kept), snapshot)  # still valid after close
    with pytest.raises(ValueError, match="closed"):
        len(loader)


def test_ctrl_c_while_waiting_raises_keyboard_interrupt():
    images = np.zeros((64, 512, 512, 3), np.uint8)
    loader = nc.Loader(images, batch_size=64, crop=None, crop_mode="none", num_threads=1,
                       output="view", prefetch=1)
    timer = threading.Timer(0.02, os.kill, (os.getpid(), signal.SIGINT))
    # Batches until the signal comes, however late the timer thread runs on a loaded machine
    # (a fixed count of batches can finish first); most of the time is spent waiting in C++.
    deadline = time.monotonic() + 60
    # Python's own Ctrl-C handler, whatever the runner left (a job started in the background by
    # a non-interactive shell inherits SIGINT ignored, and Python then installs no handler).
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            while time.monotonic() < deadline:
                loader.next_batch()
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, previous)
    del loader


# --- properties and examples ------------------------------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 9), h=st.integers(1, 7), w=st.integers(1, 7), c=st.integers(1, 5),
       data=st.data())
def test_property_any_geometry_matches_reference(n, h, w, c, data):
    ch = data.draw(st.integers(1, h))
    cw = data.draw(st.integers(1, w))
    batch = data.draw(st.integers(1, 4))
    world = data.draw(st.integers(1, 3))
    rank = data.draw(st.integers(0, world - 1))
    layout = data.draw(st.sampled_from(["CHW", "HWC"]))
    dtype = data.draw(st.sampled_from(["float32", "float16", "uint8"]))
    drop_last = data.draw(st.booleans())
    images = _images(n=n, h=h, w=w, c=c, seed=n * 7 + h)
    kwargs = {} if dtype == "uint8" else dict(mean=0.3, std=[0.5 + k for k in range(c)])
    kwargs.update(batch_size=batch, crop=(ch, cw), layout=layout, dtype=dtype, rank=rank,
                  world_size=world, drop_last=drop_last, mirror=0.5,
                  seed=data.draw(st.integers(0, 2**64 - 1)), output="numpy", num_threads=2)
    if drop_last and n // world < batch:  # no batch at all: refused at construction
        with pytest.raises(ValueError, match="drop_last leaves no batch"):
            nc.Loader(images, np.arange(n), **kwargs)
        return
    loader = nc.Loader(images, np.arange(n), **kwargs)
    plans = [loader.plan(i) for i in range(len(loader))]
    count = 0
    for i, (x, y) in enumerate(loader):
        want = _reference(images, plans[i], (ch, cw), layout, dtype, kwargs.get("mean"),
                          kwargs.get("std"), 1 / 255 if dtype != "uint8" else 1.0)
        np.testing.assert_array_equal(x, want)
        np.testing.assert_array_equal(y, plans[i].indices)
        count += 1
    assert count == len(plans)


@pytest.mark.parametrize("script", ["loader_torch_train.py", "loader_keras_train.py",
                                    "loader_jax_train.py"])
def test_training_examples_run(script):
    import subprocess
    import sys

    if script.startswith("loader_keras"):
        pytest.importorskip("keras")
    if script.startswith("loader_jax"):
        pytest.importorskip("jax")
    path = os.path.join(os.path.dirname(__file__), "..", "..", "..", "examples", script)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run([sys.executable, path], capture_output=True, text=True, timeout=300,
                          env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "final loss" in proc.stdout


def _task_count():
    return len(os.listdir("/proc/self/task"))


def test_close_joins_workers_even_with_a_live_iterator():
    import gc

    before = _task_count()
    loader = nc.Loader(np.zeros((8, 16, 16, 3), np.uint8), batch_size=2, crop=(8, 8),
                       output="numpy", num_threads=2)
    it = iter(loader)
    next(it)
    assert _task_count() >= before + 2
    loader.close()
    gc.collect()
    assert _task_count() == before
    with pytest.raises(ValueError, match="closed"):
        next(it)


def test_forked_child_gets_a_clear_error_not_a_hang():
    loader = nc.Loader(np.zeros((8, 16, 16, 3), np.uint8), batch_size=2, crop=(8, 8),
                       output="numpy")
    import subprocess
    import sys

    # Fork from a clean interpreter (this test process may hold JAX/TF threads).
    code = (
        "import os, numpy as np, nocopy as nc\n"
        "L = nc.Loader(np.zeros((8, 16, 16, 3), np.uint8), batch_size=2, crop=(8, 8),"
        " output='numpy')\n"
        "L.next_batch()\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    try:\n"
        "        L.next_batch()\n"
        "        os._exit(3)\n"
        "    except RuntimeError as e:\n"
        "        os._exit(0 if 'forked child' in str(e) else 4)\n"
        "print(os.waitpid(pid, 0)[1])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "0"
    assert loader.next_batch().shape == (2, 3, 8, 8)
