"""Helpers shared by the benchmarks: interleaved timing, medians and the machine description."""

from __future__ import annotations

import os
import platform
import statistics
import time


def _per_call(fn, number: int) -> float:
    t0 = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - t0) / number


def median_time(fn, repeats: int = 7, number: int = 1) -> float:
    """Median over ``repeats`` of the mean seconds per call of ``fn`` over ``number`` calls."""
    return statistics.median(_per_call(fn, number) for _ in range(repeats))


def compare(fns: dict, repeats: int = 15, number: int = 1, settle: float = 0.0) -> dict:
    """Times several callables interleaved round by round (so machine noise hits all alike).
    `settle` seconds pass before each method's turn, so that background work a method leaves
    behind (worker processes refilling their prefetch queue) is not timed in the next one.
    Returns {name: (median seconds per call, median ratio to the first callable)}."""
    names = list(fns)
    times = {n: [] for n in names}
    for _ in range(repeats):
        for n in names:
            if settle:
                time.sleep(settle)
            times[n].append(_per_call(fns[n], number))
    base = times[names[0]]
    return {n: (statistics.median(times[n]),
                statistics.median(t / b for t, b in zip(times[n], base))) for n in names}


def machine() -> str:
    """One line: CPU model, cores, memory, Python and OS."""
    model = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            kb = int(f.readline().split()[1])
            mem = f", {kb / 2**20:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return (f"{model}, {os.cpu_count()} cores{mem}, Python {platform.python_version()}, "
            f"{platform.system()} {platform.release()}")


def table(headers: list[str], rows: list[list[str]]) -> str:
    """A Markdown table."""
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)
