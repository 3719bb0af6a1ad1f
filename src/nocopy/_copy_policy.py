"""Whether nocopy may copy array data here: the state behind `with nc.no_copy():`.

The state lives in the C++ core (a per-thread depth), so every copy the core makes checks it
itself: v.copy(), nc.ascontiguous, to_*(copy=True) and `__dlpack__(copy=True)` raise
CopyForbiddenError inside the block. It is per thread: other threads are unaffected, and asyncio
tasks running on one thread share it.
"""

from __future__ import annotations

from . import _nocopy

# Defined by the extension so that its C++ code raises the same type.
from ._nocopy import CopyForbiddenError

__all__ = ["CopyForbiddenError", "copies_forbidden", "forbid_copies", "allow_copies"]


def copies_forbidden() -> bool:
    """True inside a `nc.no_copy()` block on this thread."""
    return _nocopy._copies_forbidden()


def forbid_copies() -> None:
    """Enters one level of `no_copy` on this thread; leave it with allow_copies()."""
    _nocopy._forbid_copies()


def allow_copies() -> None:
    """Leaves one level entered by forbid_copies() on this thread."""
    _nocopy._allow_copies()
