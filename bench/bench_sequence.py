"""Sequence loading side by side in one run: nc.SequenceLoader vs nanoGPT's get_batch recipe vs a
torch Dataset + DataLoader window recipe (num_workers 0 and 2), for 64 x 1024 uint16 tokens ->
int64 (x and the shifted y) and a (T, 32) float32 series with seq_len 512 and horizon 24; the
read options for random windows of a file that is not in the page cache; and the resident
memory over a sparse token file larger than RAM.

    python bench/bench_sequence.py            # full run (a few minutes)
    python bench/bench_sequence.py --quick    # small sizes, seconds

Timings are interleaved round by round (bench/common.py) so machine noise hits every method
alike; each round times `--number` batches per method; medians and ratios to nanoGPT's recipe.
"""

from __future__ import annotations

import argparse
import mmap
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import compare, machine, table  # noqa: E402

import nocopy as nc  # noqa: E402

try:
    from rich.progress import track
except ImportError:  # progress is a nicety
    def track(seq, description=""):
        print(description, flush=True)
        return seq


# --- the recipes --------------------------------------------------------------------------
def nanogpt_get_batch(path, batch, seq_len, dtype=np.uint16, horizon=None, features=None):
    """nanoGPT's train.py get_batch: a fresh np.memmap per batch (to avoid its RSS growth), one
    torch.from_numpy(x[i:i+L].astype(np.int64)) per window, torch.stack."""
    import torch

    def get_batch():
        shape = None if features is None else (-1, features)
        data = np.memmap(path, dtype=dtype, mode="r")
        if shape is not None:
            data = data.reshape(shape)
        extra = 1 if horizon is None else horizon
        ix = torch.randint(len(data) - seq_len - extra + 1, (batch,))
        if horizon is None:
            x = torch.stack([torch.from_numpy(data[i:i + seq_len].astype(np.int64)) for i in ix])
            y = torch.stack([torch.from_numpy(data[i + 1:i + 1 + seq_len].astype(np.int64))
                             for i in ix])
        else:
            x = torch.stack([torch.from_numpy(np.array(data[i:i + seq_len])) for i in ix])
            y = torch.stack([torch.from_numpy(np.array(data[i + seq_len:i + seq_len + horizon]))
                             for i in ix])
        return x, y

    return get_batch


class WindowDataset:
    """A torch map-style Dataset of windows: item i is the window starting at step i (and its
    target), read from an np.memmap opened lazily in each worker."""

    def __init__(self, path, seq_len, dtype=np.uint16, horizon=None, features=None):
        self.path, self.seq_len, self.dtype = path, seq_len, dtype
        self.horizon, self.features = horizon, features
        n = os.path.getsize(path) // np.dtype(dtype).itemsize // (features or 1)
        self.n = n - seq_len - (1 if horizon is None else horizon) + 1
        self.data = None

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        import torch

        if self.data is None:
            self.data = np.memmap(self.path, dtype=self.dtype, mode="r")
            if self.features:
                self.data = self.data.reshape(-1, self.features)
        d, L = self.data, self.seq_len
        if self.horizon is None:
            return (torch.from_numpy(d[i:i + L].astype(np.int64)),
                    torch.from_numpy(d[i + 1:i + 1 + L].astype(np.int64)))
        return (torch.from_numpy(np.array(d[i:i + L])),
                torch.from_numpy(np.array(d[i + L:i + L + self.horizon])))


def dataloader_batches(ds, batch, workers, total):
    import torch
    from torch.utils.data import DataLoader, RandomSampler

    sampler = RandomSampler(ds, replacement=True, num_samples=total * batch)
    it = iter(DataLoader(ds, batch_size=batch, sampler=sampler, num_workers=workers,
                         persistent_workers=workers > 0))
    return lambda: next(it)


def nocopy_batches(source, **kwargs):
    loader = nc.SequenceLoader(source, output="torch", **kwargs)
    state = {"it": iter(loader)}

    def get():
        try:
            return next(state["it"])
        except StopIteration:
            state["it"] = iter(loader)
            return next(state["it"])

    return get, loader


# --- the bandwidth bound ------------------------------------------------------------------
# The same model as `python -m nocopy bench` (nocopy._cli.bench.Streams): with the loader's
# thread count, the best streaming read (memchr) and whole-line write (memset) rates of buffers
# far larger than the cache, sampled around each workload; a batch needs at least
# max(read bytes / read rate, written bytes / write rate).
# The loader writes into its pool's prefetch + 2 batch buffers in turn; when those fit in the
# cache (the series batches here: 4 x 4.2 MiB in a 32 MiB L3) the write stream is not DRAM bound,
# so the write rate is also measured (memset, same threads) over a buffer the pool's size, and
# the bound uses the faster of the two.
def sample_rates(streams, best: dict, pool_bytes: int) -> dict:
    import ctypes

    s = streams.sample(3)
    libc = ctypes.CDLL(None)
    libc.memset.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t]
    buf = np.ones(pool_bytes, np.uint8)
    t = streams.threads
    parts = [(i * pool_bytes // t // 64 * 64, (i + 1) * pool_bytes // t // 64 * 64)
             for i in range(t)]
    base = buf.ctypes.data
    pool_rate = 0.0
    with ThreadPoolExecutor(t) as ex:
        for _ in range(20):
            t0 = time.perf_counter()
            list(ex.map(lambda p: libc.memset(base + p[0], 1, p[1] - p[0]), parts))
            pool_rate = max(pool_rate, parts[-1][1] / (time.perf_counter() - t0))
    s["write_bw"] = max(s["write_bw"], pool_rate)
    return {k: max(best.get(k, 0.0), v) for k, v in s.items()}


# --- workloads ----------------------------------------------------------------------------
def run_workload(title, path, source, batch, seq_len, dtype, horizon, features, out_item,
                 in_item, repeats, number, threads, streams, workers_list, read_paths=None):
    methods = {"nanoGPT get_batch": nanogpt_get_batch(path, batch, seq_len, dtype, horizon,
                                                      features)}
    ds = WindowDataset(path, seq_len, dtype, horizon, features)
    total = (repeats + 2) * number * 2
    for w in workers_list:
        methods[f"DataLoader workers={w}"] = dataloader_batches(ds, batch, w, total)
    kwargs = dict(seq_len=seq_len, batch_size=batch, seed=0)
    if horizon is not None:
        kwargs.update(targets="horizon", horizon=horizon, dtype="float32")
    get, loader = nocopy_batches(source, **kwargs)
    methods["nocopy SequenceLoader"] = get
    others = []
    for name, other in (read_paths or {}).items():  # the loader's other ways of reading
        get_other, other_loader = nocopy_batches(other, **kwargs)
        methods[name] = get_other
        others.append(other_loader)
    for fn in methods.values():  # warm: workers started, pages cached
        fn()
    f = features or 1
    y_len = seq_len if horizon is None else horizon
    write_bytes = batch * (seq_len + y_len) * f * out_item
    pool_bytes = (2 + 2) * write_bytes  # the loader's pool: prefetch (2) + 2 buffers
    bw = sample_rates(streams, {}, pool_bytes)
    # settle: DataLoader workers refill their prefetch queue after each turn; that work must
    # not land in the next method's timing (the loader's own prefetch is two batches).
    res = compare(methods, repeats=repeats, number=number, settle=0.1)
    bw = sample_rates(streams, bw, pool_bytes)
    read_bytes = batch * (seq_len + (1 if horizon is None else horizon)) * f * in_item
    bound = max(read_bytes / bw["read_bw"], write_bytes / bw["write_bw"])
    rows = []
    for name, (sec, ratio) in res.items():
        rows.append([name, f"{sec * 1e3:.3f}", f"{1 / sec:,.0f}", f"{1 / ratio:.1f}x",
                     f"{100 * bound / sec:.0f}%"])
    print(f"\n### {title}\n")
    print(table(["method", "ms / batch", "batches / s", "vs nanoGPT", "of bound"], rows))
    print(f"\nbound: {bound * 1e3:.3f} ms / batch = max(reads {read_bytes / 2**20:.2f} MiB at "
          f"{bw['read_bw'] / 1e9:.1f} GB/s, writes {write_bytes / 2**20:.2f} MiB at "
          f"{bw['write_bw'] / 1e9:.1f} GB/s), {threads} threads; nocopy used "
          f"{loader.num_threads} threads")
    loader.close()
    for other in others:
        other.close()
    # What the bound leaves out: the fixed cost of one batch (plan, hand-off between the
    # workers and the consumer, two exports), measured with one 1-step window per batch.
    floor = nocopy_floor(kwargs, features, repeats, number)
    print(f"per-batch floor (batches of one 1-step window, same options): {floor * 1e3:.3f} ms")


def nocopy_floor(kwargs, features, repeats, number):
    tiny = np.zeros((64,) if features is None else (64, features), np.float32 if features
                    else np.uint16)
    opts = {**kwargs, "seq_len": 1, "batch_size": 1}
    if "horizon" in opts:
        opts["horizon"] = 1
    get, loader = nocopy_batches(tiny, **opts)
    get()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(number):
            get()
        times.append((time.perf_counter() - t0) / number)
    loader.close()
    return float(np.median(times))


def drop_cache(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def read_options(path, n_tokens, batch, seq_len, batches):
    """ms per batch of random windows read from a file dropped from the page cache before
    each method, for each way of reading."""
    rng = np.random.default_rng(0)
    starts = rng.integers(0, n_tokens - seq_len, (batches, batch))
    nbytes = seq_len * 2

    def with_mmap(advice):
        def run():
            with open(path, "rb") as f:
                m = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
            if advice is not None:
                m.madvise(advice)
            a = np.frombuffer(m, np.uint16)
            out = np.empty((batch, seq_len), np.int64)
            for row in starts:
                for k, s in enumerate(row):
                    out[k] = a[s:s + seq_len]
            del a
            m.close()
        return run

    def with_pread():
        fd = os.open(path, os.O_RDONLY)
        buf = bytearray(nbytes)
        out = np.empty((batch, seq_len), np.int64)
        for row in starts:
            for k, s in enumerate(row):
                os.preadv(fd, [buf], int(s) * 2)
                out[k] = np.frombuffer(buf, np.uint16)
        os.close(fd)

    def with_nocopy():
        tokens = nc.open_raw(path, np.uint16)
        loader = nc.SequenceLoader(tokens, seq_len - 1, batch, output="numpy", seed=1)
        for _ in range(batches):
            loader.next_batch()
        loader.close()

    methods = {"mmap (default read-ahead)": with_mmap(None),
               "mmap + MADV_RANDOM": with_mmap(mmap.MADV_RANDOM),
               "pread into the batch buffer": with_pread,
               "nocopy SequenceLoader (pread, 2 threads)": with_nocopy}
    rows = []
    for name, fn in methods.items():
        drop_cache(path)
        t0 = time.perf_counter()
        fn()
        rows.append([name, f"{(time.perf_counter() - t0) / batches * 1e3:.2f}"])
    print(f"\n### Random {seq_len}-token windows from a file not in the page cache "
          f"({batches} batches of {batch})\n")
    print(table(["read method", "ms / batch"], rows))


def rss_growth(size_gb, batches, tmp):
    path = os.path.join(tmp, "sparse_tokens.bin")
    with open(path, "wb") as f:
        f.truncate(int(size_gb * 2**30))

    def rss():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    tokens = nc.open_raw(path, np.uint16)
    loader = nc.SequenceLoader(tokens, 1024, 64, output="torch")
    for _ in range(20):
        loader.next_batch()
    before, peak = rss(), 0
    t0 = time.perf_counter()
    for i in track(range(batches), description=f"RSS over a {size_gb:g} GiB sparse file"):
        loader.next_batch()
        if i % 100 == 0:
            peak = max(peak, rss() - before)
    dt = time.perf_counter() - t0
    peak = max(peak, rss() - before)
    print(f"\n### Resident memory over a {size_gb:g} GiB sparse token file (RAM "
          f"{os.sysconf('SC_PHYS_PAGES') * os.sysconf('SC_PAGE_SIZE') / 2**30:.0f} GiB)\n")
    print(f"{batches:,} batches of 64 x 1024 uint16 -> int64: RSS growth {peak / 2**20:.1f} MiB "
          f"(peak over the run), {dt / batches * 1e3:.3f} ms / batch")
    loader.close()
    del tokens
    os.remove(path)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small sizes (seconds)")
    p.add_argument("--repeats", type=int, default=None)
    p.add_argument("--number", type=int, default=None, help="batches per method per round")
    p.add_argument("--skip-io", action="store_true", help="skip the cold-cache read options")
    p.add_argument("--skip-rss", action="store_true", help="skip the sparse-file RSS run")
    a = p.parse_args()
    quick = a.quick
    repeats = a.repeats or (5 if quick else 15)
    number = a.number or (5 if quick else 20)
    n_tokens = (64 if quick else 256) * 2**20  # 128 MiB / 512 MiB: far larger than the cache
    series_steps = (400_000 if quick else 1_000_000)
    import torch

    threads = nc.SequenceLoader(np.zeros(10, np.uint16), 1, 1, output="view").num_threads
    print(f"machine: {machine()}; torch {torch.__version__}; torch threads "
          f"{torch.get_num_threads()}")
    from nocopy._cli.bench import Streams

    streams = Streams(threads)
    with tempfile.TemporaryDirectory(dir=os.environ.get("NOCOPY_BENCH_DIR")) as tmp:
        tok_path = os.path.join(tmp, "train.bin")
        rng = np.random.default_rng(0)
        rng.integers(0, 50257, n_tokens, dtype=np.uint16).tofile(tok_path)
        tokens = nc.open_raw(tok_path, np.uint16)
        # The same tokens read the loader's other ways: the file's first 200 MiB (under the 256
        # MiB it leaves resident: copies from the mapping), a SharedArray copy (its segment read
        # with pread, like a file), and a strided view of the file (every other token: read
        # through the mapping, pages released with DONTNEED). (Full runs only: the quick run's
        # file is under 256 MiB, so it is read the first way.)
        shared, read_paths = None, {}
        if not quick:
            shared = nc.SharedArray.create((n_tokens,), np.uint16)
            np.asarray(shared.view)[:] = np.fromfile(tok_path, np.uint16)
            read_paths = {"nocopy, resident mapping (200 MiB)": tokens[:100 * 2**20],
                          "nocopy, SharedArray (pread of its segment)": shared.view,
                          "nocopy, strided view (mapping + DONTNEED)":
                              nc.open_raw(tok_path, np.uint16, shape=(-1, 2))[:, 0]}
        run_workload(f"Tokens: 64 x 1024 uint16 -> int64, x and y ({n_tokens / 2**20:.0f}M "
                     "tokens, in the page cache)", tok_path, tokens, 64, 1024, np.uint16, None,
                     None, 8, 2, repeats, number, threads, streams, [0, 2], read_paths)
        del read_paths, shared
        ser_path = os.path.join(tmp, "series.bin")
        rng.standard_normal((series_steps, 32), dtype=np.float32).tofile(ser_path)
        series = nc.open_raw(ser_path, np.float32, shape=(-1, 32))
        run_workload(f"Series: ({series_steps:,}, 32) float32, seq_len 512, horizon 24, batch 64",
                     ser_path, series, 64, 512, np.float32, 24, 32, 4, 4, repeats, number,
                     threads, streams, [0, 2])
        del tokens, series
        if not a.skip_io:
            read_options(tok_path, n_tokens, 64, 1025, 10 if quick else 50)
        if not a.skip_rss:
            rss_growth(4 if quick else 32, 1000 if quick else 10_000, tmp)
    streams.close()


if __name__ == "__main__":
    main()
