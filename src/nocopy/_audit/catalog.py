"""The audit's catalog: every conversion path we measure, as the user writes it, under the
conditions that change the answer. Rows are added by `register`; nothing here imports a framework
until a row runs, and rows whose framework (or nocopy feature) is missing are skipped.

An entry's `prepare(source)` makes the path's input from the condition's array (untimed, e.g.
the torch tensor for `nc.view(t)`), `convert(input)` is the timed call. `claim` is what the
seed documents say about the path ("Yes" / "No" zero-copy), so the report can flag wrong claims.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
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


CATALOG: list[Entry] = []
_HELD: list[Any] = []


def register(path: str, condition: str, framework: str, convert: Callable[[Any], Any],
             **kw: Any) -> Entry:
    """Adds a row to the catalog (see Entry for the fields) and returns it."""
    if condition not in CONDITIONS:
        raise ValueError(f"condition {condition!r} is not one of {CONDITIONS}")
    e = Entry(path, condition, framework, convert, **kw)
    if any(x.key == e.key for x in CATALOG):
        raise ValueError(f"audit row {e.key!r} is registered twice")
    CATALOG.append(e)
    return e


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


def missing(e: Entry) -> str | None:
    """Why a row cannot run here (a module not installed, a nocopy feature absent), or None."""
    for mod in e.requires:
        if importlib.util.find_spec(mod) is None:
            return f"{mod} is not installed"
    if e.available is not None:
        try:
            if not e.available():
                return "this nocopy build lacks the feature"
        except Exception as exc:  # noqa: BLE001
            return f"feature check failed: {type(exc).__name__}: {exc}"
    return None


def select(only: str | None = None) -> tuple[list[Entry], dict[str, str]]:
    """The rows to run (matching the regex / substring ``only`` on path, condition or
    framework), ordered so rows sharing an input run together, and the skipped rows with why."""
    _load_all()
    rows, skipped = [], {}
    pat = re.compile(only, re.IGNORECASE) if only else None
    for e in CATALOG:
        if pat and not (pat.search(e.path) or pat.search(e.condition) or pat.search(e.framework)):
            continue
        why = missing(e)
        if why:
            skipped[e.key] = why
        else:
            rows.append(e)
    order = {g: i for i, g in enumerate(dict.fromkeys(e.group() for e in rows))}
    rows.sort(key=lambda e: order[e.group()])
    return rows, skipped


def _load_all() -> None:
    """Imports the modules that register rows (once)."""
    from . import paths_frameworks, paths_nocopy  # noqa: F401


def mod(name: str) -> Any:
    """A framework module, imported when a row first needs it."""
    return importlib.import_module(name)
