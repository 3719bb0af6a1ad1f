"""Measuring one catalog row: does the result share the input's memory (pointer-range overlap
AND a write-through probe), how does its cost scale (median time at a small vs a large size),
how much RSS the result adds, and what it raises or warns."""

from __future__ import annotations

import ctypes
import gc
import math
import os
import statistics
import sys
import time
import warnings
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ... import _memory_ranges as ranges
from .registry import Entry, mod, release_held
from .sources import BUILDERS, Source

PAGE = os.sysconf("SC_PAGE_SIZE")
MB = 1 << 20
BYTES_PER_SECOND_BOUND = 50e9  # no copy on a CPU runs faster; a view costs ~0 per byte


@dataclass(frozen=True)
class Config:
    """Sizes and repeats. A row whose time, extrapolated from the small and then the `mid`
    size, would exceed `budget_seconds` per call at `large` is decided at `mid` instead."""

    small: int = 1 * MB
    large: int = 256 * MB
    mid: int = 8 * MB
    budget_seconds: float = 2.0
    small_repeats: int = 7
    large_repeats: int = 3
    floor_seconds: float = 2.5e-4  # differences below this are noise, never O(n)

    @staticmethod
    def quick() -> "Config":
        """For tests: 256 KiB vs 16 MiB, fewer repeats."""
        return Config(small=256 * 1024, large=16 * MB, mid=2 * MB, small_repeats=3,
                      large_repeats=3)


def _libc():
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:
        return None


_LIBC = _libc()


def steady_allocator() -> None:
    """Makes RSS growth measurable: fixes glibc's mmap threshold at 128 KiB (no dynamic raise,
    so large blocks are mapped on malloc and unmapped on free) and returns free heap pages."""
    if _LIBC is not None and hasattr(_LIBC, "mallopt"):
        _LIBC.mallopt(-3, 128 * 1024)  # M_MMAP_THRESHOLD
        _LIBC.malloc_trim(0)


def trim() -> None:
    """Returns freed heap memory to the OS before an RSS reading (glibc malloc_trim)."""
    if _LIBC is not None and hasattr(_LIBC, "malloc_trim"):
        _LIBC.malloc_trim(0)


def collect() -> None:
    """Collects cyclic garbage, then freezes the survivors (gc.freeze) so the next collection
    scans only new objects: with TensorFlow loaded a full collection takes ~0.5 s."""
    gc.collect()
    gc.freeze()


def rss_bytes() -> int:
    """Resident set size of this process, from /proc/self/statm (anonymous, file and shm pages)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def scaling(t_small: float, t_large: float, extra_bytes: int, floor: float) -> str:
    """'O(n)' when the large call takes longer than the small one by more than moving the extra
    bytes at 50 GB/s would (faster than any copy here) and by more than the noise floor, and at
    least twice as long; else 'O(1)'. A copy's time grows with the bytes, a view's does not."""
    delta = t_large - t_small
    if delta > max(floor, extra_bytes / BYTES_PER_SECOND_BOUND) and t_large > 2 * t_small:
        return "O(n)"
    return "O(1)"


def _writable(r: Any) -> bool | None:
    """Whether the result accepts writes into its memory."""
    if isinstance(r, np.ndarray):
        return bool(r.flags.writeable)
    if isinstance(r, memoryview):
        return not r.readonly
    if isinstance(r, bytes):
        return False
    if isinstance(r, bytearray):
        return True
    fam = ranges._family(r)
    if fam == "torch":
        return True  # torch has no read-only tensors
    if fam in ("tensorflow", "jax"):
        return False  # immutable tensors
    ro = getattr(r, "readonly", None)
    return None if ro is None else not ro


def _describe(r: Any) -> str:
    shape = getattr(r, "shape", None)
    if shape is None and isinstance(r, (bytes, bytearray)):
        shape = (len(r),)
    return f"{type(r).__module__}.{type(r).__qualname__} shape={tuple(shape) if shape is not None else '?'}"


class Runner:
    """Runs rows in order, building each group's input once per size and freeing it when the
    group changes (keeps at most one large input alive)."""

    def __init__(self, cfg: Config):
        self.cfg = cfg
        steady_allocator()
        self._group: tuple | None = None
        self._sources: dict[int, Source] = {}

    def _source(self, e: Entry, nbytes: int) -> Source:
        if e.group() != self._group:
            self.close()
            self._group = e.group()
        if nbytes not in self._sources:
            build: Callable[[int, int], Source] = e.source or BUILDERS[e.condition]
            self._sources[nbytes] = build(nbytes, e.ndim)
        return self._sources[nbytes]

    def _drop(self, nbytes: int) -> None:
        s = self._sources.pop(nbytes, None)
        if s is not None:
            s.close()

    def close(self) -> None:
        """Frees every input built so far."""
        for n in list(self._sources):
            self._drop(n)
        collect()

    def _once(self, e: Entry, src: Source) -> tuple[Any, float, list[str]]:
        x = e.prepare(src)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            t0 = time.perf_counter()
            r = e.convert(x)
            ranges.finish(r)
            dt = time.perf_counter() - t0
        return r, dt, [f"{w.category.__name__}: {w.message}" for w in caught]

    def _time(self, e: Entry, nbytes: int, repeats: int, rss: bool,
              settled_above: float | None = None) -> tuple[float, int | None]:
        """Median time of ``repeats`` calls (the first also reads RSS growth); stops after one
        call that takes longer than ``settled_above`` (clearly O(n): more samples cannot change
        the verdict, and they cost seconds)."""
        src = self._source(e, nbytes)
        times, extra = [], None
        for i in range(repeats):
            if rss and i == 0:
                collect()
                trim()
            before = rss_bytes()
            r, dt, _ = self._once(e, src)
            if rss and i == 0:
                extra = rss_bytes() - before
            times.append(dt)
            del r
            release_held()
            if settled_above is not None and dt > settled_above:
                break
        return statistics.median(times), extra

    def measure(self, e: Entry) -> dict[str, Any]:
        """The row for ``e`` (all fields filled; shares_memory and scaling null when it raised)."""
        cfg = self.cfg
        started = time.perf_counter()
        row: dict[str, Any] = {
            "path": e.path, "condition": e.condition, "framework": e.framework,
            "version": framework_version(e.framework), "shares_memory": None, "scaling": None,
            "extra_rss_bytes": None, "error": None, "pointer_overlap": None,
            "write_through": None, "result": None, "result_writable": None, "warnings": [],
            "seconds": None, "sizes": None, "elapsed": None, "claim": e.claim, "note": e.note,
        }
        try:
            src = self._source(e, cfg.small)
            r, _, warns = self._once(e, src)
        except Exception as exc:  # noqa: BLE001 - the error is the finding
            row["error"] = f"{type(exc).__name__}: {exc}".strip()
            release_held()
            return row
        row["warnings"] = sorted(set(warns))
        row["result"] = _describe(r)
        row["result_writable"] = _writable(r)
        got = ranges.data_range(r)
        overlap = ranges.overlaps(got, ranges.data_range(src.base))
        if not overlap and isinstance(src.a, np.ndarray):
            overlap = ranges.overlaps(got, ranges.data_range(src.a)) or overlap
        before = ranges.snapshot(r)
        np.invert(src.base, out=src.base)
        try:
            after = ranges.snapshot(r)
        finally:
            np.invert(src.base, out=src.base)
        through = before != after
        row["pointer_overlap"], row["write_through"] = overlap, through
        # A file or shm segment mapped again lands at a new address: there the shared pages are
        # proven by the write-through alone.
        mapped = src.path is not None or src.name is not None
        row["shares_memory"] = bool(through and (overlap is not False or mapped))
        del r
        release_held()
        try:
            t_small, _ = self._time(e, cfg.small, cfg.small_repeats, rss=False)
            large = cfg.large
            if t_small * cfg.large / cfg.small > cfg.budget_seconds:
                t_mid, extra_mid = self._time(e, cfg.mid, cfg.large_repeats, rss=True,
                                              settled_above=10 * t_small + 0.02)
                self._drop(cfg.mid)
                if t_mid * cfg.large / cfg.mid > cfg.budget_seconds:
                    large, t_large, extra = cfg.mid, t_mid, extra_mid
                    row["note"] = "; ".join(filter(None, [
                        row["note"], f"slow: timed at {cfg.mid >> 20} MB instead of "
                                     f"{cfg.large >> 20} MB"]))
            if large == cfg.large:
                t_large, extra = self._time(e, large, cfg.large_repeats, rss=True,
                                            settled_above=10 * t_small + 0.02)
                self._drop(large)
        except Exception as exc:  # noqa: BLE001 - e.g. out of memory at the large size
            row["error"] = f"{type(exc).__name__} at the large size: {exc}"
            return row
        row["seconds"] = [t_small, t_large]
        row["elapsed"] = time.perf_counter() - started
        row["sizes"] = [cfg.small, large]
        row["scaling"] = scaling(t_small, t_large, large - cfg.small, cfg.floor_seconds)
        row["extra_rss_bytes"] = int(extra or 0)
        return row


_MODULES = {"numpy": "numpy", "torch": "torch", "tensorflow": "tensorflow", "jax": "jax",
            "nocopy": "nocopy"}


def framework_version(framework: str) -> str:
    """Version of the framework a row exercises (Python's for python / multiprocessing)."""
    name = _MODULES.get(framework)
    if name is None:
        return "Python " + sys.version.split()[0]
    m = sys.modules.get(name)
    if m is None:
        try:
            m = mod(name)
        except ImportError:
            return "?"
    return str(getattr(m, "__version__", "?"))
