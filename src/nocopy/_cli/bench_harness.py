"""What every ``python -m nocopy bench`` workload shares: each method in its own subprocess, the
timing loop, the machine's streaming read and write rates (for the memory bound), RSS, and the
report (plain table, Markdown, JSON, a bar chart), with progress while the methods run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

# --- memory ---------------------------------------------------------------------------------


def rss_bytes() -> int:
    """This process's resident set size now, in bytes."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def peak_rss_bytes() -> tuple[int, int]:
    """(this process's peak RSS, the largest peak RSS of its waited-for children), in bytes."""
    import resource

    self_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    child_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    return self_peak, child_peak


# --- streaming rates -------------------------------------------------------------------------
# How fast this machine streams reads and whole-line writes through buffers far larger than the
# cache, with a given thread count:
#   read:  libc memchr for a byte that is absent (vector loads, nothing stored),
#   write: libc memset (rep stosb: whole lines, no read for ownership, like non-temporal stores).

BUFFER_BYTES = 256 << 20  # each buffer: 8x a 32 MiB L3


def _libc():
    import ctypes

    libc = ctypes.CDLL(None)
    for name in ("memchr", "memset"):
        getattr(libc, name).argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t]
        getattr(libc, name).restype = ctypes.c_void_p
    return libc


def _buffer(nbytes: int, fill: int):
    """A page-aligned anonymous mapping, filled (so resident), not inherited by forked children."""
    import mmap

    import numpy as np

    m = mmap.mmap(-1, nbytes)
    if hasattr(mmap, "MADV_DONTFORK"):
        m.madvise(mmap.MADV_DONTFORK)
    a = np.frombuffer(m, np.uint8)
    a[:] = fill
    return m, a


class Streams:
    """Two BUFFER_BYTES buffers and a thread pool: the best read and write rates (bytes/s)."""

    def __init__(self, threads: int):
        import concurrent.futures

        self._libc = _libc()
        n = BUFFER_BYTES
        self._maps = [_buffer(n, 1), _buffer(n, 2)]
        self._src, self._dst = (a.ctypes.data for _, a in self._maps)
        self.threads = max(1, threads)
        self._parts = [(i * n // self.threads // 64 * 64, (i + 1) * n // self.threads // 64 * 64)
                       for i in range(self.threads)]
        self._pool = concurrent.futures.ThreadPoolExecutor(self.threads)

    def _rate(self, kernel, passes: int) -> float:
        best = 0.0
        for _ in range(passes):
            t0 = time.perf_counter()
            list(self._pool.map(lambda p: kernel(*p), self._parts))
            best = max(best, self._parts[-1][1] / (time.perf_counter() - t0))
        return best

    def sample(self, passes: int) -> dict:
        """Best read and write rates (bytes/s) over `passes` passes."""
        libc, src, dst = self._libc, self._src, self._dst
        return {"read_bw": self._rate(lambda a, b: libc.memchr(src + a, 0x5A, b - a), passes),
                "write_bw": self._rate(lambda a, b: libc.memset(dst + a, 0x5A, b - a), passes)}

    def close(self) -> None:
        self._pool.shutdown()


# --- running the methods ---------------------------------------------------------------------


def time_batches(next_batch, cfg: dict, between=lambda: None) -> list[float]:
    """Images/s of each of cfg["repeats"] timed runs of cfg["batches"] batches, after
    cfg["warmup"] untimed ones; `between()` runs before the first and after every timed run."""
    for _ in range(cfg["warmup"]):
        next_batch()
    rates = []
    between()
    for _ in range(cfg["repeats"]):
        t0 = time.perf_counter()
        for _ in range(cfg["batches"]):
            next_batch()
        rates.append(cfg["batches"] * cfg["batch"] / (time.perf_counter() - t0))
        between()
    return rates


def measured(method: str, rates: list[float], base_rss: int, **extra) -> dict:
    """A method's result: median img/s, every repeat's rate and the peak RSS beyond base_rss."""
    self_peak, child_peak = peak_rss_bytes()
    return {"method": method, "img_per_s": statistics.median(rates), "rates": rates,
            "extra_rss": max(0, self_peak - base_rss), "children_peak_rss": child_peak, **extra}


def unavailable(module: str | None, hint: str = "") -> str | None:
    """None when `module` can be imported here (or is None), else the reason it cannot."""
    import importlib.util

    if module is None:
        return None
    try:
        found = importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        found = False
    return None if found else f"{module} is not installed{hint}"


def run_worker(module: str, method: str, cfg: dict, timeout: float) -> dict:
    """Runs `python -m module --worker method --config cfg` (`python module ...` when module is
    a .py path) and returns the JSON it prints last (or a "skipped" result saying why it
    failed)."""
    target = [module] if module.endswith(".py") else ["-m", module]
    cmd = [sys.executable, *target, "--worker", method, "--config", json.dumps(cfg)]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        err = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"method": method, "skipped": f"failed: {err[:200]}"}
    return json.loads(lines[-1])


def with_progress(work, labels: dict, total: int | None):
    """work(step) with step(method) announcing each method: a rich progress line on the
    terminal, or a line on stderr when rich is missing."""
    try:
        from rich.progress import Progress
    except ImportError:
        return work(lambda m: print(f"running {m} ...", file=sys.stderr))
    with Progress(transient=True) as progress:
        task = progress.add_task("benchmarking", total=total)
        started = [0]

        def step(m):  # the methods before this one are done
            progress.update(task, description=f"running {labels.get(m, m)}",
                            completed=started[0] if total is not None else None)
            started[0] += 1

        return work(step)


# --- the command line and the report ---------------------------------------------------------


def add_report_arguments(p: argparse.ArgumentParser, methods: tuple[str, ...]) -> None:
    """The options every workload has: --quick, --only, --png, --json, --markdown."""
    p.add_argument("--quick", action="store_true", help="small and short (for make demo)")
    p.add_argument("--only", default=None, help="comma-separated subset of " + ",".join(methods))
    p.add_argument("--png", default=None, help="write a bar chart here (needs matplotlib)")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    p.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    p.add_argument("--config", default=None, help=argparse.SUPPRESS)


def chosen_methods(p: argparse.ArgumentParser, only: str | None,
                   methods: tuple[str, ...]) -> tuple[str, ...]:
    """The methods --only names (all when not given); an unknown name is a usage error."""
    chosen = methods if only is None else tuple(m.strip() for m in only.split(","))
    unknown = [m for m in chosen if m not in methods]
    if unknown:
        p.error(f"unknown method(s) {unknown}; choose from {', '.join(methods)}")
    return chosen


def format_table(header: list[str], rows: list[list[str]]) -> str:
    """The table as plain text, columns sized to their contents, the first left-aligned."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = []
    for r in [header, *rows]:
        cells = [c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))]
        lines.append("  ".join(cells).rstrip())
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown(header: list[str], rows: list[list[str]]) -> str:
    """The table as Markdown (for docs/BENCHMARKS.md and the README)."""
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def print_report(a: argparse.Namespace, cfg: dict, results: list[dict], header: list[str],
                 rows: list[list[str]], notes: list[str]) -> None:
    """Prints the results as --json, --markdown or a plain table, each table with its notes."""
    if a.json:
        print(json.dumps({"config": cfg, "results": results}, indent=1))
        return
    print(markdown(header, rows) + "\n" if a.markdown else format_table(header, rows))
    print("\n".join(notes))


def bar_chart(results: list[dict], path: str, labels: dict, title: str) -> str | None:
    """A horizontal bar chart of the median img/s of each method that ran, written to `path`;
    None, or a note saying why there is no chart."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed; no chart"
    done = [r for r in results if "skipped" not in r]
    fig, ax = plt.subplots(figsize=(8, 3.5))
    ax.barh([labels.get(r["method"], r["method"]) for r in done], [r["img_per_s"] for r in done],
            color=["#888" if r["method"] == "bound" else
                   "#2a7" if r["method"] == "nocopy" else "#48c" for r in done])
    ax.invert_yaxis()
    ax.set_xlabel("images / s (median)")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return None
