"""Whether nocopy may copy array data here: the state behind `with nc.no_copy():`.

The copying functions call `refuse_copy` before they copy; `nc.no_copy` (in _guards) sets the
flag. Kept apart from the guards so that the view functions can use it without importing them.
"""

from __future__ import annotations

import contextvars

__all__ = ["CopyForbiddenError", "copies_forbidden", "refuse_copy", "forbid_copies", "allow_copies"]

_DEPTH: contextvars.ContextVar[int] = contextvars.ContextVar("nocopy_no_copy_depth", default=0)


class CopyForbiddenError(BufferError):
    """nocopy was asked to copy array data inside a `nc.no_copy()` block. A BufferError, like
    the errors nocopy raises when sharing is impossible."""


def copies_forbidden() -> bool:
    """True inside a `nc.no_copy()` block in this thread / task."""
    return _DEPTH.get() > 0


def refuse_copy(what: str) -> None:
    """Called by nocopy before it copies array data: raises CopyForbiddenError naming ``what``
    inside a `nc.no_copy()` block, does nothing outside."""
    if _DEPTH.get() > 0:
        raise CopyForbiddenError(
            f"{what} would copy array data inside nc.no_copy(); leave the block, or use a "
            "zero-copy path (nc.view, slicing, to_* without copy=True)")


def forbid_copies() -> contextvars.Token:
    """Enters one level of `no_copy` in this thread / task; give the token to allow_copies."""
    return _DEPTH.set(_DEPTH.get() + 1)


def allow_copies(token: contextvars.Token) -> None:
    """Leaves the level entered by forbid_copies."""
    _DEPTH.reset(token)
