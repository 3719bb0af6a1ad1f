"""Presenting audit results: a rich table in the terminal (plain text without rich), Markdown
for docs/COPIES.md (machine, versions, method, the table and the seed claims it contradicts)."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from typing import Any, Callable

FRAMEWORK_ORDER = ["python", "numpy", "multiprocessing", "torch", "tensorflow", "jax", "nocopy"]


def machine_info() -> dict[str, Any]:
    """CPU model (lscpu), logical cores, RAM, kernel, Python, NumPy's alignment of large arrays."""
    model = "?"
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
                break
    except (OSError, subprocess.SubprocessError):
        pass
    ram = 0
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    ram = int(line.split()[1]) * 1024
    except OSError:
        pass
    from .sources import numpy_alignment

    return {"cpu": model, "cores": os.cpu_count(), "ram_bytes": ram,
            "kernel": platform.release(), "python": sys.version.split()[0],
            "numpy_large_array_address_mod_64": numpy_alignment()}


def shares_word(row: dict[str, Any]) -> str:
    if row["error"]:
        return "CRASH" if row["error"].startswith(("Crash", "Hang")) else "raises"
    return "yes" if row["shares_memory"] else "NO (copy)"


def _rss(row: dict[str, Any]) -> str:
    v = row["extra_rss_bytes"]
    return "" if v is None else f"{v / 2**20:.0f} MB"


def _err(row: dict[str, Any], width: int = 140) -> str:
    e = row["error"] or ""
    return e if len(e) <= width else e[: width - 1] + "…"


def verdict(row: dict[str, Any]) -> str | None:
    """'wrong' when the seeds' Yes/No claim disagrees with the measurement, 'right' when it
    agrees, None when the seeds say nothing."""
    claim = row.get("claim")
    if not claim:
        return None
    if row["error"]:
        return "wrong"  # the seeds present the call as working
    said_yes = claim.split()[0].lower().startswith("yes")
    shares = bool(row["shares_memory"]) and not row["error"]
    return "right" if said_yes == shares else "wrong"


def _notes(row: dict[str, Any]) -> str:
    bits = []
    if row.get("note"):
        bits.append(row["note"])
    src_ro = row["condition"] in ("readonly", "mmap")
    if src_ro and row["shares_memory"] and row.get("result_writable"):
        bits.append("writable result over read-only memory" + (
            " (pages mapped read-only: a write is a segfault)" if row["condition"] == "mmap"
            else ""))
    for w in row.get("warnings") or []:
        bits.append("warns " + w.split(":", 1)[0])
    if row.get("result") and row["shares_memory"] and " shape=(" in row["result"]:
        shape = row["result"].split(" shape=", 1)[1]
        if shape.count(",") == 1 and shape.endswith(",)") and "1-D" not in row["path"]:
            bits.append(f"result is flat {shape}")
    return "; ".join(bits)


def sorted_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    def key(r):
        fw = FRAMEWORK_ORDER.index(r["framework"]) if r["framework"] in FRAMEWORK_ORDER else 99
        return (fw, r["path"])

    return sorted(rows, key=key)


def progress_printer() -> Callable[[int, int, str], None]:
    """A one-line progress display on stderr."""

    def show(done: int, total: int, key: str) -> None:
        if sys.stderr.isatty():
            sys.stderr.write(f"\r\033[K[{done + 1}/{total}] {key[:100]}")
            sys.stderr.flush()
            if done + 1 == total:
                sys.stderr.write("\n")

    return show


def terminal(result: dict[str, Any]) -> None:
    """Prints the table (rich when installed)."""
    rows = sorted_rows(result["rows"])
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        for r in rows:
            print(f"{r['framework']:<15} {r['path']:<70} {r['condition']:<17} "
                  f"{shares_word(r):<10} {r['scaling'] or '':<5} {_rss(r):>7} {_err(r, 80)}")
        _print_skipped(result, print)
        return
    t = Table(title="What really copies (measured)", show_lines=False)
    for col in ("framework", "path", "condition", "shares", "scaling", "extra RSS",
                "error / note", "seeds said"):
        t.add_column(col, overflow="fold")
    for r in rows:
        sh = shares_word(r)
        style = "green" if sh == "yes" else ("red" if sh.startswith("NO") else "yellow")
        v = verdict(r)
        said = "" if v is None else (("[red]" if v == "wrong" else "[green]") +
                                     r["claim"].split()[0] + f" ({v})")
        t.add_row(r["framework"], r["path"], r["condition"], f"[{style}]{sh}",
                  r["scaling"] or "", _rss(r), _err(r, 90) or _notes(r), said)
    console = Console()
    if not console.is_terminal or console.width < 160:
        console = Console(width=200)  # the table needs room; a pipe gets it unwrapped
    console.print(t)
    _print_skipped(result, console.print)


def _print_skipped(result: dict[str, Any], out: Callable[[str], None]) -> None:
    why: dict[str, int] = {}
    for reason in result["skipped"].values():
        why[reason] = why.get(reason, 0) + 1
    for reason, n in why.items():
        out(f"skipped {n} row(s): {reason}")


def _md(s: str) -> str:
    return s.replace("|", "\\|").replace("\n", " ")


def markdown(result: dict[str, Any]) -> str:
    """The docs/COPIES.md report."""
    m, cfg = result["machine"], result["config"]
    lines = [
        "# What really copies",
        "",
        "Generated by `python -m nocopy audit --markdown` on:",
        "",
        f"- CPU: {m['cpu']}, {m['cores']} logical cores; RAM {m['ram_bytes'] / 2**30:.1f} GiB; "
        f"Linux {m['kernel']}; Python {m['python']}",
        "- Versions: " + ", ".join(f"{k} {v}" for k, v in sorted(result["versions"].items())
                                    if k not in ("python", "multiprocessing")),
        f"- NumPy's large arrays start at an address = {m['numpy_large_array_address_mod_64']} "
        "(mod 64) here: that is the `misaligned` condition.",
        "",
        "How each row is measured: the call is made on a float32 array (2-D, rows of 4 KiB) built",
        "under the condition. **shares** = the result's byte range overlaps the input's AND",
        "flipping every input byte is visible through the result (write-through probe).",
        f"**scaling** = median time at {cfg['small_bytes'] >> 20 or cfg['small_bytes']} "
        f"{'MB' if cfg['small_bytes'] >= 2**20 else 'bytes'} vs {cfg['large_bytes'] >> 20} MB "
        "(a row that would take over 2 s per call at 256 MB is decided at 8 MB): `O(n)` when the",
        "extra time exceeds what moving the extra bytes at 50 GB/s would take (faster than any",
        "copy on a CPU) and at least doubles. **extra RSS** = resident memory",
        "added while the result of the large call is alive. JAX results are waited for",
        "(`block_until_ready`). Conditions: contiguous (64-byte aligned), misaligned (16 past 64),",
        "sliced (`a[:, 256:768]`, non-contiguous), negative-strides (`a[::-1]`), readonly,",
        "shared-memory (`multiprocessing.shared_memory`), mmap (`np.load(mmap_mode=\"r\")`).",
        "",
    ]
    wrong = [r for r in result["rows"] if verdict(r) == "wrong"]
    if wrong:
        lines += ["## Seed claims the measurement contradicts", ""]
        for r in sorted_rows(wrong):
            lines.append(f"- `{r['path']}` ({r['condition']}): the seed says "
                         f"**{_md(r['claim'])}**; measured: **{shares_word(r)}**"
                         + (f" — {_md(_err(r, 200))}" if r["error"] else
                            f", {r['scaling']}, {_rss(r)} extra RSS"))
        lines.append("")
    lines += ["## All rows", "",
              "| framework | path | condition | shares | scaling | extra RSS | error / notes "
              "| seeds said |",
              "|---|---|---|---|---|---|---|---|"]
    for r in sorted_rows(result["rows"]):
        v = verdict(r)
        said = "" if v is None else f"{r['claim'].split()[0]} ({v})"
        text = _err(r, 160) or _notes(r)
        lines.append(f"| {r['framework']} | `{_md(r['path'])}` | {r['condition']} | "
                     f"{shares_word(r)} | {r['scaling'] or ''} | {_rss(r)} | {_md(text)} | "
                     f"{said} |")
    if result["skipped"]:
        lines += ["", "Skipped here: " + "; ".join(
            sorted({f"{why}" for why in result["skipped"].values()})) + "."]
    return "\n".join(lines) + "\n"
