"""Command line: ``python -m nocopy audit|bench|shm|pack ...`` and ``python -m nocopy --version``."""

from __future__ import annotations

import importlib
import sys

# Each command lives in its own module, imported only when used; each exposes main(argv).
_COMMANDS = {
    "audit": ("nocopy._cli.audit", "measured table of which conversion paths copy"),
    "bench": ("nocopy._cli.bench", "loader throughput against the seed recipes and peers"),
    "shm": ("nocopy._cli.shm", "list / remove / garbage-collect shared-memory arrays"),
    "pack": ("nocopy._cli.pack", "pack an image or video folder or CSV into a set folder"),
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--version"]:
        from ._version import __version__

        print(f"nocopy {__version__}")
        return 0
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in _COMMANDS:
        print("usage: python -m nocopy {" + ",".join(_COMMANDS) + "} [options] | --version\n")
        for name, (_, text) in _COMMANDS.items():
            print(f"  {name:6} {text}")
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    module_name = _COMMANDS[argv[0]][0]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        print(f"'{argv[0]}' is not available in this build of nocopy", file=sys.stderr)
        return 2
    return int(module.main(argv[1:]) or 0)


if __name__ == "__main__":
    sys.exit(main())
