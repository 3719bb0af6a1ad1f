"""`python -m nocopy shm list | rm NAME... | gc`: inspect and clean up nocopy shared arrays."""

from __future__ import annotations

import argparse
import os
import sys

from .. import _nocopy
from .._printable import printable


def _human(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def list_segments() -> list[dict]:
    """The nocopy segments in /dev/shm: name, size, dtype, shape, creator_pid, alive, persist,
    problem ("" unless the header is invalid). Names are decoded like os.listdir() does."""
    rows = _nocopy._shm_list()
    for r in rows:
        r["name"] = os.fsdecode(r["name"])
        r["problem"] = r["problem"].decode("utf-8", "backslashreplace")
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nocopy shm",
                                     description="nocopy shared arrays in /dev/shm")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list nocopy segments")
    rm = sub.add_parser("rm", help="remove nocopy segments by name")
    rm.add_argument("names", nargs="+")
    sub.add_parser("gc", help="remove segments whose owner is dead: not persistent, or invalid")
    args = parser.parse_args(argv)
    if args.command == "list":
        rows = list_segments()
        if not rows:
            print("no nocopy shared arrays in /dev/shm")
            return 0
        print(f"{'name':<40} {'size':>10} {'dtype':<10} {'shape':<20} {'pid':>8} alive persist")
        for r in rows:
            name = printable(r["name"])
            if r["problem"]:
                print(f"{name:<40} {_human(r['size']):>10} invalid: {printable(r['problem'])}")
                continue
            print(f"{name:<40} {_human(r['size']):>10} {r['dtype']:<10} "
                  f"{str(r['shape']):<20} {r['creator_pid']:>8} {'yes' if r['alive'] else 'no':<5} "
                  f"{'yes' if r['persist'] else 'no'}")
        return 0
    if args.command == "rm":
        status = 0
        for name in args.names:
            try:
                _nocopy._shm_remove(os.fsencode(name))  # argv's undecodable bytes too
                print(f"removed {printable(name)}")
            except (ValueError, OSError) as exc:
                print(f"error: {printable(str(exc))}", file=sys.stderr)
                status = 1
        return status
    removed = _nocopy._shm_gc()
    for name in removed:
        print(f"removed {printable(os.fsdecode(name))}")
    print(f"{len(removed)} segment(s) removed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
