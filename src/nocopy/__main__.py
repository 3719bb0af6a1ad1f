"""`python -m nocopy <command>`: shm (list | rm NAME | gc)."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "shm":
        from ._shm_cli import main as shm_main
        return shm_main(argv[1:])
    print("usage: python -m nocopy shm {list,rm NAME...,gc}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
