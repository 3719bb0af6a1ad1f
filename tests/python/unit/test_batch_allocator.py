"""Batch buffers from a user allocator (allocator=fn) and from torch's pinned host memory
(pin_memory=True), for nc.Loader and nc.SequenceLoader: by data pointers, every batch is written
straight into a buffer fn returned; buffers are reused across batches and epochs; a kept batch
keeps its buffer (values checked against a loader on the default heap); fn's errors propagate and
bad returns raise TypeError / ValueError; the GIL is handled with many threads, a deep prefetch
and another thread using the loader; deleting the loader, forking and exiting are safe; and
pin_memory=True says why it cannot work on a machine without CUDA (its success path is run
against a stand-in for torch's pinned allocator, which proves the alignment logic only: the
CUDA path itself is not verified here)."""

from __future__ import annotations

import gc
import re
import subprocess
import sys
import textwrap
import time
import weakref

import numpy as np
import pytest

import nocopy as nc
from nocopy import _batch_allocator

IMAGES = np.random.default_rng(0).integers(0, 256, (60, 20, 20, 3), dtype=np.uint8)
LABELS = np.arange(60)
TOKENS = np.random.default_rng(1).integers(0, 50_000, 20_000).astype(np.uint16)


def ptr(a) -> int:
    """Address of element 0 of a NumPy array."""
    return a.__array_interface__["data"][0]


class Block(np.ndarray):
    """A NumPy array type that supports weak references (to see when the loader lets go)."""


class Recorder:
    """An allocator: fresh 64-byte aligned NumPy buffers, each recorded with its address."""

    def __init__(self, kind=np.ndarray):
        self.calls = []  # nbytes of every call
        self.buffers = []  # weak references to the buffers handed out
        self.addresses = set()
        self.kind = kind

    def __call__(self, nbytes):
        self.calls.append(nbytes)
        raw = np.zeros(nbytes + 64, np.uint8)
        off = -ptr(raw) % 64
        buf = raw[off:off + nbytes].view(self.kind)
        self.addresses.add(ptr(buf))
        self.buffers.append(weakref.ref(buf) if self.kind is Block else buf)
        return buf

    def alive(self) -> int:
        return sum(r() is not None for r in self.buffers)


def image_loader(**kw):
    opts = dict(batch_size=8, crop=12, seed=3, output="numpy", num_threads=2)
    opts.update(kw)
    return nc.Loader(IMAGES, LABELS, **opts)


def token_loader(**kw):
    opts = dict(seq_len=32, batch_size=8, step=32, seed=5, output="numpy", num_threads=2)
    opts.update(kw)
    return nc.SequenceLoader(TOKENS, **opts)


# --- batches land in the caller's buffers ---------------------------------------------------
@pytest.mark.parametrize("prefetch", [1, 3])
def test_loader_batches_are_written_straight_into_allocator_buffers(prefetch):
    fn = Recorder()
    loader = image_loader(allocator=fn, prefetch=prefetch)
    ref = image_loader(prefetch=prefetch)
    for (x, y), (xr, yr) in zip(loader, ref):
        assert ptr(x) in fn.addresses  # the batch starts exactly at a buffer fn returned
        assert np.array_equal(x, xr) and np.array_equal(y, yr)
    assert all(n % 64 == 0 and n >= loader._core.buffer_bytes for n in fn.calls)


def test_loader_torch_batches_are_the_allocator_buffers():
    torch = pytest.importorskip("torch")
    fn = Recorder()
    loader = image_loader(allocator=fn, output="torch")
    ref = image_loader()
    for (x, _), (xr, _) in zip(loader, ref):
        assert isinstance(x, torch.Tensor) and x.data_ptr() in fn.addresses
        assert np.array_equal(x.numpy(), xr)


@pytest.mark.parametrize("targets", ["next", "horizon", None])
def test_sequence_batches_are_written_straight_into_allocator_buffers(targets):
    fn = Recorder()
    kw = dict(targets=targets, horizon=4)
    loader = token_loader(allocator=fn, **kw)
    ref = token_loader(**kw)
    for got, want in zip(loader, ref):
        got = got if isinstance(got, tuple) else (got,)
        want = want if isinstance(want, tuple) else (want,)
        assert ptr(got[0]) in fn.addresses
        for g, w in zip(got, want):
            assert np.array_equal(g, w)
        if targets is not None:  # y lies in the same buffer, after x
            start, n = ptr(got[0]), fn.calls[0]  # every call asks for one batch's bytes
            assert start < ptr(got[1]) and ptr(got[1]) + got[1].nbytes <= start + n


def test_batches_equal_the_plan_recomputed_with_numpy():
    fn = Recorder()
    loader = token_loader(allocator=fn)
    plans = [loader.plan(i) for i in range(len(loader))]  # the epoch about to be delivered
    for p, (x, y) in zip(plans, loader):
        want = np.stack([TOKENS[s:s + 33] for s in p.starts]).astype(np.int64)
        assert np.array_equal(x, want[:, :-1]) and np.array_equal(y, want[:, 1:])


# --- reuse ----------------------------------------------------------------------------------
@pytest.mark.parametrize("make", [image_loader, token_loader])
def test_buffers_are_reused_across_batches_and_epochs(make):
    fn = Recorder()
    prefetch, threads = 2, 2
    loader = make(allocator=fn, prefetch=prefetch, num_threads=threads)
    uses = {}  # batches delivered in each buffer
    for _ in range(8):
        for batch in loader:
            uses[ptr(batch[0])] = uses.get(ptr(batch[0]), 0) + 1
    del batch
    batches = sum(uses.values())
    # In use at once: `prefetch` batches, the one the loop holds, and per worker thread one it
    # has just finished and not yet let go of; the pool keeps prefetch + 2 spares. So the calls
    # stay within twice that however many batches go by.
    assert batches >= 8 * 7
    assert 1 <= len(fn.calls) <= 2 * (prefetch + 2 + threads)
    assert max(uses.values()) >= batches // len(fn.calls)  # the same buffers, batch after batch
    assert set(uses) <= fn.addresses
    assert loader._core.buffers_allocated <= len(fn.calls)


def test_a_kept_batch_keeps_its_buffer_and_is_never_overwritten():
    fn = Recorder()
    loader = image_loader(allocator=fn, prefetch=2)
    ref = image_loader(prefetch=2)
    kept = [x for x, _ in loader]  # every batch of epoch 0, held
    want = [x.copy() for x, _ in ref]
    for _ in range(3):  # later epochs need other buffers: the kept ones are in use
        for x, _ in loader:
            assert all(ptr(x) != ptr(k) for k in kept)
    assert len({ptr(k) for k in kept}) == len(kept)
    for k, w in zip(kept, want):
        assert ptr(k) in fn.addresses and np.array_equal(k, w)


def test_the_allocator_s_buffers_are_released_with_the_last_batch():
    fn = Recorder(kind=Block)
    loader = image_loader(allocator=fn)
    kept = next(iter(loader))[0]
    del loader
    gc.collect()
    assert fn.alive() >= 1  # the held batch keeps its buffer (and the loader's memory) alive
    assert np.array_equal(kept, next(iter(image_loader()))[0])
    del kept
    deadline = time.monotonic() + 10
    while fn.alive() and time.monotonic() < deadline:  # a worker's release is queued for the GIL
        gc.collect()
        time.sleep(0.01)
    assert fn.alive() == 0


def test_deleting_the_loader_while_batches_live_is_safe():
    fn = Recorder()
    seq = Recorder()
    loader = image_loader(allocator=fn, prefetch=4, num_threads=3)
    tokens = token_loader(allocator=seq, prefetch=4, num_threads=3)
    it, jt = iter(loader), iter(tokens)
    held = [next(it) for _ in range(3)]
    held_seq = [next(jt) for _ in range(3)]
    del it, jt, loader, tokens  # workers are stopped with batches in flight
    gc.collect()
    for (x, _), (xr, _) in zip(held, image_loader()):
        assert ptr(x) in fn.addresses and np.array_equal(x, xr)
    for (x, y), (xr, yr) in zip(held_seq, token_loader()):
        assert np.array_equal(x, xr) and np.array_equal(y, yr)


def test_close_keeps_delivered_batches():
    fn = Recorder()
    with image_loader(allocator=fn) as loader:
        x, _ = next(iter(loader))
    assert ptr(x) in fn.addresses and np.array_equal(x, next(iter(image_loader()))[0])


# --- one arena ------------------------------------------------------------------------------
@pytest.mark.parametrize("make", [image_loader, token_loader])
def test_views_of_one_numpy_arena(make):
    arena = np.zeros(8 << 20, np.uint8)
    base = -ptr(arena) % 64
    state = {"next": base, "calls": 0}

    def fn(nbytes):
        start = state["next"]
        state["next"] += nbytes  # nbytes is a multiple of 64: the next slice stays aligned
        state["calls"] += 1
        return arena[start:start + nbytes]

    loader, ref = make(allocator=fn), make()
    for _ in range(3):
        for got, want in zip(loader, ref):
            assert np.shares_memory(got[0], arena) and np.array_equal(got[0], want[0])
            assert np.array_equal(got[1], want[1])
    assert state["calls"] <= 2 * (2 + 2 + 2)  # reused: see the test above


# --- errors ---------------------------------------------------------------------------------
class Refused(Exception):
    pass


@pytest.mark.parametrize("make", [image_loader, token_loader])
def test_an_exception_raised_by_the_allocator_propagates_unchanged(make):
    failures = {"left": 1}
    good = Recorder()

    def fn(nbytes):
        if failures["left"]:
            failures["left"] -= 1
            raise Refused(f"no memory for {nbytes}")
        return good(nbytes)

    loader = make(allocator=fn)
    with pytest.raises(Refused, match="no memory for"):
        loader.next_batch()
    # the position did not move: the retry delivers batch 0 into a good buffer
    got, want = loader.next_batch(), make().next_batch()
    assert ptr(got[0]) in good.addresses and np.array_equal(got[0], want[0])


REENTRY_CHILD = """
import sys, numpy as np, nocopy as nc
kind, call = sys.argv[1], sys.argv[2]
holder = {}

def fn(nbytes):
    loader = holder["loader"]
    getattr(loader, call)(*([0] if call == "plan" else []))  # calls back into its own loader
    raise AssertionError("the call back returned")

if kind == "images":
    loader = nc.Loader(np.zeros((16, 8, 8, 3), np.uint8), batch_size=4, crop=4,
                       output="numpy", allocator=fn)
else:
    loader = nc.SequenceLoader(np.arange(1000, dtype=np.uint16), 16, 4, output="numpy",
                               allocator=fn)
holder["loader"] = loader
try:
    loader.next_batch()
except RuntimeError as e:
    assert "called back into it" in str(e), e
    print("refused")
"""


@pytest.mark.parametrize("kind", ["images", "sequence"])
@pytest.mark.parametrize("call", ["next_batch", "plan", "state_dict", "close", "__len__"])
def test_an_allocator_that_calls_its_own_loader_is_refused_not_a_deadlock(kind, call):
    # The allocator runs while the loader holds its state lock: a call back used to wait for
    # itself forever. Run in a child, so that a regression times out instead of hanging here.
    out = subprocess.run([sys.executable, "-c", REENTRY_CHILD, kind, call], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "refused", out.stdout + out.stderr


def _aligned(n):
    raw = np.zeros(n + 64, np.uint8)
    off = -ptr(raw) % 64
    return raw[off:off + n]


def _misaligned(n):
    raw = np.zeros(n + 128, np.uint8)
    off = -ptr(raw) % 64 + 8
    return raw[off:off + n]


SAME = _aligned(1 << 20)

BAD_RETURNS = [
    (lambda n: None, TypeError, "nc.view does not accept"),
    (lambda n: 12, TypeError, "nc.view does not accept"),
    (lambda n: "text", TypeError, "nc.view does not accept"),
    (lambda n: bytes(n + 64), ValueError, "read-only"),
    (lambda n: _aligned(n)[: n - 64], ValueError, r"holds only \d+ bytes; it must hold at least"),
    (lambda n: _misaligned(n), ValueError, "not 64-byte aligned"),
    (lambda n: _aligned(2 * n)[::2], ValueError, "not contiguous"),
    (lambda n: SAME, ValueError, "overlaps the buffer"),  # the same memory twice
]


@pytest.mark.parametrize("make", [image_loader, token_loader])
@pytest.mark.parametrize("fn, error, message", BAD_RETURNS)
def test_bad_returns_raise_the_right_error(make, fn, error, message):
    loader = make(allocator=fn, prefetch=2)
    with pytest.raises(error, match=message) as info:
        loader.next_batch()
    # the message names the allocator and the size it was asked for
    assert re.match(r"allocator <function .*> returned .*\b\d+ bytes", str(info.value))


def test_a_read_only_torch_or_numpy_buffer_is_refused():
    buf = _aligned(1 << 20)
    buf.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        image_loader(allocator=lambda n: buf[:n]).next_batch()


@pytest.mark.parametrize("make", [image_loader, token_loader])
def test_option_errors(make):
    with pytest.raises(TypeError, match="allocator must be a callable"):
        make(allocator=42)
    with pytest.raises(ValueError, match="not both"):
        make(allocator=Recorder(), pin_memory=True)
    with pytest.raises(TypeError, match="pin_memory must be a bool"):
        make(pin_memory="yes")


def test_other_buffer_types_work():
    torch = pytest.importorskip("torch")

    def tensor(nbytes):  # a torch tensor (DLPack), 64-byte aligned by torch's CPU allocator
        t = torch.empty(nbytes + 64, dtype=torch.uint8)
        off = -t.data_ptr() % 64
        return t[off:off + nbytes]

    for fn in (tensor, lambda n: memoryview(_aligned(n))):
        for (x, _), (xr, _) in zip(image_loader(allocator=fn), image_loader()):
            assert np.array_equal(x, xr)


# --- threads and the GIL --------------------------------------------------------------------
def _run(code: str, timeout: int = 120) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


GIL_SCRIPT = """
import threading, time
import numpy as np, nocopy as nc

calls = []
def fn(nbytes):
    time.sleep(0.001)                       # gives the GIL away while it is called
    raw = np.zeros(nbytes + 64, np.uint8)
    off = -raw.__array_interface__["data"][0] % 64
    calls.append(nbytes)
    return raw[off:off + nbytes]

images = np.random.default_rng(0).integers(0, 256, (64, 24, 24, 3), dtype=np.uint8)
tokens = np.random.default_rng(1).integers(0, 1000, 50_000).astype(np.uint16)
loaders = [
    (nc.Loader(images, np.arange(64), batch_size=4, crop=16, num_threads=4, prefetch=6,
               output="numpy", allocator=fn),
     nc.Loader(images, np.arange(64), batch_size=4, crop=16, num_threads=1, prefetch=1,
               output="numpy")),
    (nc.SequenceLoader(tokens, seq_len=64, batch_size=4, num_threads=4, prefetch=6,
                       output="numpy", allocator=fn),
     nc.SequenceLoader(tokens, seq_len=64, batch_size=4, num_threads=1, prefetch=1,
                       output="numpy")),
]
for loader, ref in loaders:
    stop = threading.Event()
    def poke():                             # another thread reads the position meanwhile
        while not stop.is_set():
            loader.state_dict(); loader.plan(0); len(loader); loader.epoch
            if isinstance(loader, nc.Loader):
                loader.num_skipped; loader.skipped_samples
    t = threading.Thread(target=poke)
    t.start()
    kept = []
    for epoch in range(3):
        for i, (got, want) in enumerate(zip(loader, ref)):
            assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])
            if i % 3 == 0:
                kept.append(got[0])         # held batches force new allocations
        loader.set_epoch(epoch + 1)         # drops batches in flight (released on any thread)
        ref.set_epoch(epoch + 1)
    stop.set()
    t.join()
print("ok", len(calls))
"""


def test_gil_handling_with_many_threads_a_deep_prefetch_and_a_second_python_thread():
    out = _run(GIL_SCRIPT).stdout
    assert out.startswith("ok ") and int(out.split()[1]) > 6


def test_a_forked_child_and_interpreter_exit_release_safely():
    _run("""
        import gc, os, numpy as np, nocopy as nc
        def fn(nbytes):
            raw = np.zeros(nbytes + 64, np.uint8)
            off = -raw.__array_interface__["data"][0] % 64
            return raw[off:off + nbytes]
        images = np.zeros((32, 16, 16, 3), np.uint8)
        loader = nc.Loader(images, batch_size=4, crop=8, num_threads=2, prefetch=3,
                           output="numpy", allocator=fn)
        x = loader.next_batch()
        pid = os.fork()
        if pid == 0:                       # the child drops the loader and the batch
            del x, loader
            gc.collect()
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
        assert float(x.sum()) == 0.0
        # the process exits with a loader, a batch and spare buffers still alive
        keep = (loader, x, nc.SequenceLoader(np.arange(5000), seq_len=8, batch_size=4,
                                             output="numpy", allocator=fn).next_batch())
    """)


# --- pin_memory -----------------------------------------------------------------------------
def test_pin_memory_without_cuda_says_why():
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present: bench/gpu_check.py measures pin_memory=True")
    for make in (image_loader, token_loader):
        with pytest.raises(RuntimeError, match=r"needs a CUDA device.*is_available\(\) is False"):
            make(pin_memory=True)


def test_pin_memory_without_torch_says_why(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` raises ImportError
    with pytest.raises(RuntimeError, match="torch is not installed"):
        image_loader(pin_memory=True)


def test_pin_memory_asks_torch_for_pinned_blocks_and_aligns_them(monkeypatch):
    """With a stand-in for torch's pinned allocator that returns blocks 1 byte past a 64-byte
    boundary: every block is asked for with pin_memory=True, and each batch starts at a 64-byte
    aligned address inside the over-allocated block. (This checks the Python side only; real
    pinned memory and its transfers need a CUDA machine: bench/gpu_check.py.)"""
    torch = pytest.importorskip("torch")
    real_empty = torch.empty
    asked, blocks = [], []

    def fake_empty(n, dtype=None, pin_memory=False):
        asked.append((n, dtype, pin_memory))
        raw = real_empty(n + 128, dtype=torch.uint8)
        off = (1 - raw.data_ptr()) % 64
        block = raw[off:off + n]
        blocks.append(block)
        return block

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch, "empty", fake_empty)
    for make in (image_loader, token_loader):
        asked.clear()
        blocks.clear()
        loader, ref = make(pin_memory=True), make()
        for got, want in zip(loader, ref):
            p = ptr(got[0])
            assert p % 64 == 0
            assert any(b.data_ptr() <= p < b.data_ptr() + b.numel() for b in blocks)
            assert np.array_equal(got[0], want[0])
        assert asked and all(pin and dtype is torch.uint8 for _, dtype, pin in asked)
        # an unaligned block is replaced by one 63 bytes larger, sliced at the boundary
        assert [n for n, _, _ in asked[1::2]] == [n + 63 for n, _, _ in asked[::2]]


def test_pinned_allocator_keeps_an_aligned_block_as_it_is():
    torch = pytest.importorskip("torch")

    class FakeTorch:
        uint8 = torch.uint8

        @staticmethod
        def empty(n, dtype=None, pin_memory=False):
            assert pin_memory
            raw = torch.empty(n + 64, dtype=dtype)
            return raw[-raw.data_ptr() % 64:][:n]

    block = _batch_allocator.PinnedHostAllocator(FakeTorch)(4096)
    assert block.numel() == 4096 and block.data_ptr() % 64 == 0
    assert "pin_memory=True" in repr(_batch_allocator.PinnedHostAllocator(FakeTorch))
