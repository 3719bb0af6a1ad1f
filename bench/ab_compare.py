"""Two builds of nocopy, side by side: the same benchmarks run in two checkouts, alternately, in
rounds, and the medians of each build's rates with their ratio (B / A; above 1 means B is
faster). Each checkout needs its own ``.venv`` with nocopy installed (``make build``); each run
is a fresh process of that checkout's interpreter, run from the checkout, so it imports that
build.

    python bench/ab_compare.py --a ../old --b . --rounds 5
    python bench/ab_compare.py --a ../old --b . --only loader,sequence

Benchmarks (the loaders' rows of the project's benchmarks, short forms):
  loader     python -m nocopy bench --only nocopy: uniform images, random crop      (img/s)
  imagenet   python -m nocopy bench --workload imagenet --only nocopy               (img/s)
  jpeg       bench/bench_jpeg.py --only nocopy-jpeg,nocopy-raw --no-decode          (img/s)
  sequence   bench/bench_sequence.py --skip-io --skip-rss: the two SequenceLoader rows
             (batches/s)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys


def _python(checkout: str) -> str:
    exe = os.path.join(checkout, ".venv", "bin", "python")
    if not os.path.exists(exe):
        raise SystemExit(f"{checkout}: no .venv/bin/python (run make build there)")
    return exe


def _run(checkout: str, args: list[str]) -> str:
    out = subprocess.run([_python(checkout), *args], cwd=checkout, capture_output=True,
                         text=True, timeout=1800)
    if out.returncode != 0:
        raise SystemExit(f"{checkout}: {' '.join(args)} failed:\n{out.stderr[-2000:]}")
    return out.stdout


def _json_rates(text: str) -> dict[str, float]:
    data = json.loads(text[text.index("{"):])
    return {r["method"]: r["img_per_s"] for r in data["results"]}


def loader(checkout: str) -> dict[str, float]:
    return _json_rates(_run(checkout, ["-m", "nocopy", "bench", "--only", "nocopy", "--json"]))


def imagenet(checkout: str) -> dict[str, float]:
    return {f"imagenet {k}": v for k, v in _json_rates(_run(
        checkout, ["-m", "nocopy", "bench", "--workload", "imagenet", "--only", "nocopy",
                   "--json"])).items()}


def jpeg(checkout: str) -> dict[str, float]:
    text = _run(checkout, ["bench/bench_jpeg.py", "--only", "nocopy-jpeg,nocopy-raw",
                           "--no-decode", "--rounds", "3", "--json"])
    data = json.loads(text[text.index("{"):])
    return {f"jpeg {r['method']}": r["img_per_s"] for r in data["results"]}


def sequence(checkout: str) -> dict[str, float]:
    text = _run(checkout, ["bench/bench_sequence.py", "--skip-io", "--skip-rss"])
    rates, title = {}, ""
    for line in text.splitlines():
        if line.startswith("### "):
            title = line[4:].split(":")[0].split(" (")[0]
        m = re.match(r"\|\s*nocopy SequenceLoader\s*\|\s*[\d.]+\s*\|\s*([\d,]+)\s*\|", line)
        if m:
            rates[f"sequence {title}"] = float(m.group(1).replace(",", ""))
    if not rates:
        raise SystemExit(f"{checkout}: no SequenceLoader rows in bench_sequence.py's output")
    return rates


BENCHMARKS = {"loader": loader, "imagenet": imagenet, "jpeg": jpeg, "sequence": sequence}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--a", required=True, help="checkout A (the baseline)")
    ap.add_argument("--b", required=True, help="checkout B (the change)")
    ap.add_argument("--rounds", type=int, default=5, help="alternated rounds (A then B)")
    ap.add_argument("--only", default=",".join(BENCHMARKS), help="comma-separated benchmarks")
    args = ap.parse_args()
    chosen = [b.strip() for b in args.only.split(",") if b.strip()]
    for b in chosen:
        if b not in BENCHMARKS:
            ap.error(f"unknown benchmark {b!r}; choose from {', '.join(BENCHMARKS)}")
    rates: dict[str, dict[str, list[float]]] = {"A": {}, "B": {}}
    for r in range(args.rounds):
        for name in chosen:
            for side, checkout in (("A", args.a), ("B", args.b)):
                for key, value in BENCHMARKS[name](checkout).items():
                    rates[side].setdefault(key, []).append(value)
                print(f"round {r + 1}/{args.rounds}: {name} {side} done", file=sys.stderr,
                      flush=True)
    print(f"| benchmark | A median | B median | B / A | A runs | B runs |")
    print("|---|---:|---:|---:|---|---|")
    for key in rates["A"]:
        a, b = rates["A"][key], rates["B"].get(key, [])
        if not b:
            continue
        ma, mb = statistics.median(a), statistics.median(b)
        runs = lambda xs: " ".join(f"{x:,.0f}" for x in xs)  # noqa: E731
        print(f"| {key} | {ma:,.0f} | {mb:,.0f} | {mb / ma:.3f} | {runs(a)} | {runs(b)} |")


if __name__ == "__main__":
    main()
