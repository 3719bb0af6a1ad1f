"""The audit's worker process: measures the rows it is given (keys on stdin, JSON) and prints
one marked JSON line per event. It runs apart from the caller because some paths abort the
process (e.g. torch.from_dlpack of a negative-stride array terminates in C++); the parent
records such a row as a crash and starts a new worker for the rest."""

from __future__ import annotations

import json
import os
import sys

MARK = "@@nocopy-audit "


def _emit(obj: dict) -> None:
    sys.stdout.write(MARK + json.dumps(obj) + "\n")
    sys.stdout.flush()


def main() -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    job = json.loads(sys.stdin.readline())
    from .catalog import select
    from .probes import Config, Runner

    cfg = Config.quick() if job.get("quick") else Config()
    entries = {e.key: e for e in select(None)[0]}
    runner = Runner(cfg)
    try:
        for key in job["keys"]:
            _emit({"start": key})
            _emit({"row": runner.measure(entries[key])})
    finally:
        runner.close()
    _emit({"done": True})
    return 0


if __name__ == "__main__":
    sys.exit(main())
