"""The steps every pack shares: checking the common options, listing the inputs, recording
skipped files, the progress bar, and the summary's lines about skipped files and shards."""

from __future__ import annotations

import os
import threading

import numpy as np

from ._image_set import MANIFEST
from ._pack_inputs import csv_items, image_folder
from ._printable import printable

__all__ = ["shards_note", "skipped_lines", "count_arg", "progress_bar", "check_on_error",
           "default_threads", "skip_handler", "list_inputs"]


def shards_note(shards: int) -> str:
    """The summary's words about shards (nothing for one set folder)."""
    return f" as {shards} shard{'s' if shards != 1 else ''}" if shards else ""


def skipped_lines(skipped: list) -> list[str]:
    """The summary's lines about skipped files (at most 20 named, escaped)."""
    if not skipped:
        return []
    lines = [f"skipped {len(skipped)} files (listed in {MANIFEST}):"]
    lines += [f"  {printable(s['path'])}: {printable(s['error'])}" for s in skipped[:20]]
    if len(skipped) > 20:
        lines.append(f"  ... and {len(skipped) - 20} more")
    return lines


def count_arg(name: str, value) -> int:
    """A count option (>= 1) as a Python int (a NumPy integer goes into the JSON manifest):
    TypeError unless an integer (bools are not), ValueError below 1."""
    if not isinstance(value, (int, np.integer)) or isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} {value!r} must be >= 1")
    return int(value)


def progress_bar(enabled: bool, unit: str = "img"):
    """A rich progress bar (``unit``/s, ETA), or None when disabled or rich is missing."""
    if not enabled:
        return None
    try:
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                   TimeElapsedColumn, TimeRemainingColumn)
    except ImportError:
        return None

    class Rate(TextColumn):
        def render(self, task):
            speed = task.finished_speed or task.speed
            return f"{speed:,.0f} {unit}/s" if speed else f"- {unit}/s"

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    Rate(""), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                    transient=False)


def check_on_error(on_error: str) -> None:
    """ValueError unless ``on_error`` is "skip" or "fail"."""
    if on_error not in ("skip", "fail"):
        raise ValueError(f"on_error {on_error!r} is not one of 'skip', 'fail'")


def default_threads(threads) -> int:
    """The pool size: ``threads`` checked, or up to 8, one per core."""
    return min(8, os.cpu_count() or 1) if threads is None else count_arg("threads", threads)


def skip_handler(on_error: str, what: str):
    """(skipped list, fail_or_skip(path, exc, what=...)): with on_error="fail" the callback
    raises ValueError naming the file, with "skip" it records {path, error} (thread-safe)."""
    skipped: list[dict] = []
    lock = threading.Lock()

    def fail_or_skip(path, exc, what=what):
        if on_error == "fail":
            raise ValueError(f"{path}: {what} ({exc}); pass on_error='skip' "
                             "(--on-error skip) to leave it out") from (
                                 exc if isinstance(exc, BaseException) else None)
        with lock:
            skipped.append({"path": path, "error": str(exc) or type(exc).__name__})

    return skipped, fail_or_skip


def list_inputs(src: str, extensions: tuple, skipped: list, fail_or_skip):
    """(items as (path, label), classes) of a folder tree ``src/<class>/...`` (files ending in
    ``extensions``) or of a CSV of path,label; folders that cannot be listed go through
    ``fail_or_skip``, second ways to a file or folder into ``skipped``."""
    if os.path.isdir(src):
        items, classes, notes = image_folder(src, extensions)
        for path, reason, error in notes:
            if error:
                fail_or_skip(path, reason, "cannot list folder")
            else:  # a second way to a folder or file already packed: nothing is lost
                skipped.append({"path": path, "error": reason})
        return items, classes
    return csv_items(src)
