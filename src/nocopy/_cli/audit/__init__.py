"""`python -m nocopy audit` / `nc.audit()`: a measured truth table of which array conversion
paths share memory and which copy, on this machine with the frameworks installed here.

Rows are measured in a worker process (a path that aborts the process becomes a row whose
error says so, and the audit goes on). `main(argv)` is the CLI; `audit()` returns the rows.
"""

from __future__ import annotations

import argparse
import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

from .catalog import select
from .worker import MARK

__all__ = ["audit", "run", "main"]

ROW_TIMEOUT = 180.0  # seconds a single row may take before the worker is killed


def _worker_env() -> dict[str, str]:
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])  # the directory holding the nocopy package
    env["PYTHONPATH"] = os.pathsep.join([root] + [p for p in env.get("PYTHONPATH", "").split(
        os.pathsep) if p])
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    env.setdefault("JAX_PLATFORMS", "cpu")
    return env


def _crash_row(key: str, entry, why: str) -> dict[str, Any]:
    from .probes import framework_version

    return {"path": entry.path, "condition": entry.condition, "framework": entry.framework,
            "version": framework_version(entry.framework), "shares_memory": None,
            "scaling": None, "extra_rss_bytes": None, "error": why, "pointer_overlap": None,
            "write_through": None, "result": None, "result_writable": None, "warnings": [],
            "seconds": None, "sizes": None, "elapsed": None, "claim": entry.claim,
            "note": entry.note}


def _crash_reason(returncode: int | None, stderr: str, timed_out: bool) -> str:
    if timed_out:
        return f"Hang: no result within {ROW_TIMEOUT:.0f} s, the process was killed"
    if returncode is not None and returncode < 0:
        how = f"killed by {signal.Signals(-returncode).name}"
    else:
        how = f"exited with status {returncode}"
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    detail = next((ln for ln in lines if ln.startswith("what():")), None)
    if detail is None:
        detail = next((ln for ln in reversed(lines) if "Error" in ln or "error" in ln), "")
    return f"Crash: the Python process was {how}. {detail}".strip()


def run(only: str | None = None, quick: bool = False,
        progress: Callable[[int, int, str], None] | None = None) -> dict[str, Any]:
    """Runs the audit; returns {"rows": [...], "skipped": {row: why}, "machine": {...},
    "versions": {...}, "config": {...}}."""
    from .probes import Config
    from .report import machine_info

    entries, skipped = select(only)
    by_key = {e.key: e for e in entries}
    todo = [e.key for e in entries]
    rows: list[dict[str, Any]] = []
    done = 0
    while todo:
        rows_before = len(rows)
        with tempfile.TemporaryFile("w+") as err:
            proc = subprocess.Popen([sys.executable, "-m", "nocopy._cli.audit.worker"],
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err,
                                    env=_worker_env(), text=True)
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write(json.dumps({"keys": todo, "quick": quick}) + "\n")
            proc.stdin.close()
            current, timed_out = None, False
            sel = selectors.DefaultSelector()
            sel.register(proc.stdout, selectors.EVENT_READ)
            deadline = time.monotonic() + ROW_TIMEOUT + 120  # imports take a while
            while True:
                if not sel.select(timeout=max(0.0, deadline - time.monotonic())):
                    timed_out = True
                    proc.kill()
                    break
                line = proc.stdout.readline()
                if not line:
                    break
                if not line.startswith(MARK):
                    continue
                msg = json.loads(line[len(MARK):])
                if "start" in msg:
                    current = msg["start"]
                    deadline = time.monotonic() + ROW_TIMEOUT
                    if progress:
                        progress(done, len(entries), current)
                elif "row" in msg:
                    rows.append(msg["row"])
                    todo.remove(current)
                    current = None
                    done += 1
            proc.wait()
            err.seek(0)
            stderr = err.read()
        if current is not None:
            rows.append(_crash_row(current, by_key[current],
                                   _crash_reason(proc.returncode, stderr, timed_out)))
            todo.remove(current)
            done += 1
        elif todo and len(rows) == rows_before:
            raise RuntimeError(f"the audit worker failed before measuring anything:\n{stderr}")
    cfg = Config.quick() if quick else Config()
    return {"rows": rows, "skipped": skipped, "machine": machine_info(),
            "versions": _versions(rows), "config": {"small_bytes": cfg.small,
                                                    "large_bytes": cfg.large,
                                                    "quick": quick}}


def _versions(rows: list[dict[str, Any]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for r in rows:
        out.setdefault(r["framework"], r["version"])
    return out


def audit(only: str | None = None, quick: bool = False) -> list[dict[str, Any]]:
    """Measures every catalog path installed here and returns the rows as dicts with keys
    path, condition, framework, version, shares_memory (bool or None when it raised), scaling
    ("O(1)" / "O(n)" / None), extra_rss_bytes (int or None), error (str or None), and details.

    >>> import nocopy as nc
    >>> rows = nc.audit(only="torch.from_numpy", quick=True)   # doctest: +SKIP
    """
    return run(only=only, quick=quick)["rows"]


def main(argv: list[str] | None = None) -> int:
    """`python -m nocopy audit [--json | --markdown] [--only PATTERN] [--quick]`."""
    p = argparse.ArgumentParser(prog="python -m nocopy audit",
                                description="Measure which array conversion paths copy.")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print the result as JSON")
    out.add_argument("--markdown", action="store_true", help="print a Markdown report")
    p.add_argument("--only", metavar="PATTERN",
                   help="only rows whose path, condition or framework matches (regex)")
    p.add_argument("--quick", action="store_true", help="small sizes and few repeats (tests)")
    args = p.parse_args(argv)
    from . import report

    progress = None if (args.json or args.markdown) else report.progress_printer()
    result = run(only=args.only, quick=args.quick, progress=progress)
    if args.json:
        print(json.dumps(result, indent=1))
    elif args.markdown:
        print(report.markdown(result))
    else:
        report.terminal(result)
    return 0
