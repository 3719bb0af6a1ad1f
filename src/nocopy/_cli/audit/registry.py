"""The audit's rows as the path modules declare them: `Entry` (one row), `Rows` (a module's rows,
added by `Rows.register`), `merge` (every module's rows, each key once), `hold` / `release_held`
(helpers kept alive while a result lives) and `mod` (a framework imported when a row first needs
it). The path modules import this; the catalog imports their `ROWS` and merges them.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable

from .sources import CONDITIONS, Source


@dataclass(frozen=True)
class Entry:
    """One row of the audit: a path (the call as written), a condition and how to run it."""

    path: str
    condition: str
    framework: str
    convert: Callable[[Any], Any]
    prepare: Callable[[Source], Any] = field(default=lambda s: s.a)
    ndim: int = 2
    requires: tuple[str, ...] = ()
    available: Callable[[], bool] | None = None  # extra check (e.g. a nocopy feature exists)
    claim: str | None = None  # the seeds' "Zero-Copy?" answer, with the seed it comes from
    note: str = ""
    source: Callable[[int, int], Source] | None = None  # own input builder (default: condition's)

    @property
    def key(self) -> str:
        """Unique name of the row: path and condition."""
        return f"{self.path} [{self.condition}]"

    def group(self) -> tuple[str, int, str]:
        """Rows with the same group share one input array (built once per size)."""
        builder = "" if self.source is None else f"{self.source.__module__}.{self.source.__name__}"
        return (self.condition, self.ndim, builder)


_HELD: list[Any] = []


class Rows:
    """The rows one path module declares, in the order it registers them."""

    def __init__(self) -> None:
        self.entries: list[Entry] = []

    def register(self, path: str, condition: str, framework: str, convert: Callable[[Any], Any],
                 **kw: Any) -> Entry:
        """Adds a row (see Entry for the fields) and returns it."""
        if condition not in CONDITIONS:
            raise ValueError(f"condition {condition!r} is not one of {CONDITIONS}")
        e = Entry(path, condition, framework, convert, **kw)
        self.entries.append(e)
        return e


def merge(*groups: Rows) -> list[Entry]:
    """The rows of every group, in order; a row registered twice (same key) is a ValueError."""
    out: list[Entry] = []
    seen: set[str] = set()
    for e in (e for g in groups for e in g.entries):
        if e.key in seen:
            raise ValueError(f"audit row {e.key!r} is registered twice")
        seen.add(e.key)
        out.append(e)
    return out


def hold(obj: Any) -> Any:
    """Keeps a helper object (e.g. an attached SharedMemory) alive while a result lives; it is
    closed by `release_held` after the result is dropped."""
    _HELD.append(obj)
    return obj


def release_held() -> None:
    """Closes and drops the objects kept by `hold`."""
    while _HELD:
        obj = _HELD.pop()
        close = getattr(obj, "close", None)
        if close is not None:
            try:
                close()
            except Exception:  # noqa: BLE001 - best effort
                pass


def mod(name: str) -> Any:
    """A framework module, imported when a row first needs it."""
    return importlib.import_module(name)
