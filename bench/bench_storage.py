"""Storage benchmarks, side by side in one run (medians):
  1. attach time vs array size (1 MiB .. 8 GiB): nc.SharedArray.attach + np.asarray versus
     multiprocessing.shared_memory.SharedMemory(name) + np.ndarray (shape/dtype passed by hand);
  2. pickle payload of a view of shared memory versus pickling the NumPy slice;
  3. opening a large .npy: nc.open_npy versus np.load(mmap_mode="r").
Prints a Markdown table. Usage: python bench/bench_storage.py [--max-gib 8] [--repeats 30]"""

from __future__ import annotations

import argparse
import os
import pickle
import statistics
import tempfile
import time
from multiprocessing import shared_memory

import numpy as np

import nocopy as nc


def median_us(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e6


def human(n: int) -> str:
    return f"{n / 2**30:g} GiB" if n >= 2**30 else f"{n / 2**20:g} MiB"


def bench_attach(max_bytes: int, repeats: int) -> list[str]:
    rows = ["| size | nc attach + np.asarray (µs) | shared_memory + np.ndarray (µs) | ratio "
            "| nc create (ms, reserves pages) | shared_memory create (ms, lazy) |",
            "|---|---|---|---|---|---|"]
    sizes = [2**20, 2**24, 2**28, 2**30, 2**32, 2**33]
    for size in (s for s in sizes if s <= max_bytes):
        shape = (size // 4096, 4096)
        # One segment at a time (ours reserves its pages, so two 8 GiB segments would need 16).
        t0 = time.perf_counter()
        with nc.SharedArray.create(shape, np.uint8) as sa:
            c_ours = (time.perf_counter() - t0) * 1e3

            def ours():
                h = nc.SharedArray.attach(sa.name)
                a = np.asarray(h)
                assert a.shape == shape
                h.close()

            t_ours = median_us(ours, repeats)
        t0 = time.perf_counter()
        ref = shared_memory.SharedMemory(create=True, size=size)
        c_theirs = (time.perf_counter() - t0) * 1e3
        try:
            def theirs():
                s = shared_memory.SharedMemory(name=ref.name)
                a = np.ndarray(shape, np.uint8, buffer=s.buf)
                assert a.shape == shape
                del a
                s.close()

            t_theirs = median_us(theirs, repeats)
        finally:
            ref.close()
            ref.unlink()
        rows.append(f"| {human(size)} | {t_ours:.1f} | {t_theirs:.1f} | {t_theirs / t_ours:.2f}x "
                    f"| {c_ours:.1f} | {c_theirs:.1f} |")
    return rows


def bench_pickle() -> list[str]:
    rows = ["| object | pickle payload (bytes) |", "|---|---|"]
    with nc.SharedArray.create((4, 2**30), np.uint8) as sa:
        v = sa.view[1:3, ::2]
        rows.append(f"| view of a 4 GiB shared array, `sa.view[1:3, ::2]` (1 GiB of data) | "
                    f"{len(pickle.dumps(v))} |")
        rows.append(f"| the SharedArray itself | {len(pickle.dumps(sa))} |")
        small = np.asarray(sa.view[0, : 2**20])
        rows.append(f"| NumPy slice of 1 MiB (pickles its bytes) | {len(pickle.dumps(small))} |")
    return rows


def bench_open_npy(repeats: int) -> list[str]:
    rows = ["| .npy file | nc.open_npy (µs) | np.load(mmap_mode='r') (µs) | ratio |",
            "|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as d:
        for shape in [(1000, 256, 256, 3), (16 * 1024, 1024, 1024)]:
            path = os.path.join(d, "x.npy")
            nc.create_npy(path, shape, np.uint8, sparse=True)  # 16 GiB: no disk taken
            t_ours = median_us(lambda: nc.open_npy(path), repeats)
            t_np = median_us(lambda: np.load(path, mmap_mode="r"), repeats)
            nbytes = int(np.prod(shape))
            rows.append(f"| {human(nbytes)} uint8 {shape} | {t_ours:.1f} | {t_np:.1f} | "
                        f"{t_np / t_ours:.2f}x |")
            os.unlink(path)
    return rows


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--max-gib", type=float, default=8)
    p.add_argument("--repeats", type=int, default=30)
    args = p.parse_args()
    print(f"numpy {np.__version__}, {os.cpu_count()} cpus, medians of {args.repeats} runs\n")
    print("\n".join(bench_attach(int(args.max_gib * 2**30), args.repeats)))
    print()
    print("\n".join(bench_pickle()))
    print()
    print("\n".join(bench_open_npy(args.repeats)))


if __name__ == "__main__":
    main()
