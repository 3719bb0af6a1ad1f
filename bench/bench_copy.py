"""Benchmark of the explicit copies, side by side in one run (medians over interleaved repeats).

Seed workload: a (32, 512, 512, 3) uint8 batch, center 256 x 256 crop -> contiguous:
nocopy (1 and 2 threads) vs np.ascontiguousarray; the memcpy bandwidth of the same number of
bytes (np.copyto of contiguous arrays, and nocopy's contiguous copy on 2 threads); and the
uint8 -> float32 conversion copy vs NumPy's astype. Goals (issue 2): crop copy >= 1.5x faster
than np.ascontiguousarray with 2 threads, and >= 70% of memcpy bandwidth.

    python bench/bench_copy.py [--repeats 40] [--n 32]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np

import nocopy as nc
from nocopy import _nocopy


def median_times(cases: dict, repeats: int) -> tuple[dict, dict]:
    """Median and minimum seconds per case; the cases run round-robin so drift (and other
    processes on the machine) hit them all alike."""
    for fn in cases.values():  # warm up (page faults of the first allocations, code paths)
        fn()
        fn()
    times = {name: [] for name in cases}
    for _ in range(repeats):
        for name, fn in cases.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return ({name: statistics.median(ts) for name, ts in times.items()},
            {name: min(ts) for name, ts in times.items()})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=40)
    ap.add_argument("--n", type=int, default=32, help="images in the batch")
    args = ap.parse_args()

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (args.n, 512, 512, 3), dtype=np.uint8)
    crop = images[:, 128:384, 128:384]  # the NumPy view of the crop
    v = nc.center_crop(nc.view(images), 256)  # the same window as a nocopy view
    assert np.array_equal(np.asarray(nc.ascontiguous(v)), np.ascontiguousarray(crop))
    nbytes = crop.nbytes

    # Preallocated destinations (no page faults inside the timed region).
    dst_u8 = np.empty(crop.shape, np.uint8)
    dst_u8_view = nc.view(dst_u8)
    flat_src = np.ascontiguousarray(crop)
    flat_dst = np.empty_like(flat_src)
    flat_src_view, flat_dst_view = nc.view(flat_src), nc.view(flat_dst)

    cases = {
        "np.ascontiguousarray(crop)": lambda: np.ascontiguousarray(crop),
        "nc.ascontiguous(crop), 1 thread": lambda: nc.ascontiguous(v, num_threads=1),
        "nc.ascontiguous(crop), 2 threads": lambda: nc.ascontiguous(v, num_threads=2),
        "np.copyto(buffer, crop)": lambda: np.copyto(dst_u8, crop),
        "nc copy crop -> buffer, 1 thread": lambda: _nocopy.copy(v, dst_u8_view, 1),
        "nc copy crop -> buffer, 2 threads": lambda: _nocopy.copy(v, dst_u8_view, 2),
        "memcpy: np.copyto contiguous, 1 thread": lambda: np.copyto(flat_dst, flat_src),
        "memcpy: nc copy contiguous, 2 threads": lambda: _nocopy.copy(flat_src_view, flat_dst_view,
                                                                      2),
        "crop.astype(float32)": lambda: crop.astype(np.float32),
        "nc.ascontiguous(crop, float32), 1 thread": lambda: nc.ascontiguous(v, "float32",
                                                                            num_threads=1),
        "nc.ascontiguous(crop, float32), 2 threads": lambda: nc.ascontiguous(v, "float32",
                                                                             num_threads=2),
    }
    load_before = os.getloadavg()[0]
    t, best = median_times(cases, args.repeats)

    print(f"nocopy copy benchmark: {args.n} x 512 x 512 x 3 uint8 -> center 256 x 256 crop "
          f"({nbytes / 2**20:.1f} MiB out), median of {args.repeats}; "
          f"{platform.machine()}, {os.cpu_count()} cpus, numpy {np.__version__}, "
          f"load average {load_before:.2f} -> {os.getloadavg()[0]:.2f}")
    print(f"{'case':44s} {'median ms':>10s} {'GB/s':>7s} {'min ms':>8s}")
    for name, sec in t.items():
        out_bytes = nbytes * (4 if "float32" in name else 1)
        gbs = (nbytes + out_bytes) / sec / 1e9  # bytes read + written
        print(f"{name:44s} {sec * 1e3:10.3f} {gbs:7.2f} {best[name] * 1e3:8.3f}")

    np_asc = t["np.ascontiguousarray(crop)"]
    memcpy1 = t["memcpy: np.copyto contiguous, 1 thread"]
    memcpy2 = t["memcpy: nc copy contiguous, 2 threads"]
    best_memcpy = min(memcpy1, memcpy2)
    nc2 = t["nc.ascontiguous(crop), 2 threads"]
    nc2_buf = t["nc copy crop -> buffer, 2 threads"]
    print()
    print("ratios of medians (goal in brackets)")
    print(f"  speedup vs np.ascontiguousarray, 2 threads      {np_asc / nc2:5.2f}x  [>= 1.5x]")
    print(f"  speedup vs np.ascontiguousarray, 1 thread       "
          f"{np_asc / t['nc.ascontiguous(crop), 1 thread']:5.2f}x")
    print(f"  crop copy into buffer vs np.copyto, 2 threads   "
          f"{t['np.copyto(buffer, crop)'] / nc2_buf:5.2f}x")
    print(f"  nc.ascontiguous (2 thr) / best memcpy bandwidth {best_memcpy / nc2:5.0%}  [>= 70%]")
    print(f"  crop -> buffer (2 thr) / best memcpy bandwidth  {best_memcpy / nc2_buf:5.0%}  [>= 70%]")
    print(f"  crop -> buffer (2 thr) / 1-thread memcpy        {memcpy1 / nc2_buf:5.0%}")
    print(f"  uint8 -> float32 vs astype, 2 threads           "
          f"{t['crop.astype(float32)'] / t['nc.ascontiguous(crop, float32), 2 threads']:5.2f}x")
    print(f"  uint8 -> float32 vs astype, 1 thread            "
          f"{t['crop.astype(float32)'] / t['nc.ascontiguous(crop, float32), 1 thread']:5.2f}x")


if __name__ == "__main__":
    main()
