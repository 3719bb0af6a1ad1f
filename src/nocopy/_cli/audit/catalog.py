"""The audit's catalog: every conversion path we measure, as the user writes it, under the
conditions that change the answer. The path modules declare the rows (their `ROWS`), merged here
in order; nothing here imports a framework
until a row runs, and rows whose framework (or nocopy feature) is missing are skipped.

An entry's `prepare(source)` makes the path's input from the condition's array (untimed, e.g.
the torch tensor for `nc.view(t)`), `convert(input)` is the timed call. `claim` is what the
seed documents say about the path ("Yes" / "No" zero-copy), so the report can flag wrong claims.
"""

from __future__ import annotations

import importlib.util
import re

from .paths_frameworks import ROWS as FRAMEWORK_ROWS
from .paths_nocopy import ROWS as NOCOPY_ROWS
from .registry import Entry, merge

CATALOG: list[Entry] = merge(FRAMEWORK_ROWS, NOCOPY_ROWS)


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
