"""Runtime guards for users' own code and tests: `nc.assert_shares(a, b)` fails when two arrays
(any framework) do not share memory, and `with nc.no_copy():` makes nocopy refuse to copy.

What `no_copy` does and does not catch:
- Inside the block (same thread or asyncio task), every nocopy operation that would allocate
  and copy array data raises CopyForbiddenError instead: v.copy(), nc.ascontiguous(x) when x is
  not already contiguous, v.to_numpy/to_torch/to_tf/to_jax(copy=True). The zero-copy paths
  (nc.view, slicing, the to_* helpers without copy=True) never copy and are unaffected; they
  already raise BufferError when sharing is impossible.
- It cannot see copies made inside other libraries (np.ascontiguousarray, torch.tensor,
  tf.convert_to_tensor, jnp.asarray...): nothing can, short of measuring. For those, check the
  result: `guard.check(result, source)` (or `nc.assert_shares`). `python -m nocopy audit` lists
  which library calls copy.
- Other threads are not affected: the flag is per thread (kept in the C++ core, which checks it
  before every copy it makes); asyncio tasks on one thread share it.
"""

from __future__ import annotations

import contextlib
from typing import Any

from . import _memory_ranges as ranges
from ._copy_policy import CopyForbiddenError, allow_copies, forbid_copies
from ._views import shares_memory

__all__ = ["NotSharedError", "CopyForbiddenError", "assert_shares", "no_copy"]

class NotSharedError(AssertionError):
    """Two arrays do not share memory where the caller required it. An AssertionError, so test
    frameworks report it as a failed check."""


def _describe(obj: Any, rng: tuple[int, int] | None) -> str:
    kind = f"{type(obj).__module__}.{type(obj).__qualname__}"
    shape = getattr(obj, "shape", None)
    where = "at an unknown address" if rng is None else f"bytes [{rng[0]:#x}, {rng[1]:#x})"
    return f"{kind}" + (f" of shape {tuple(shape)}" if shape is not None else "") + f" ({where})"


def _shares(a: Any, b: Any) -> tuple[bool, tuple[int, int] | None, tuple[int, int] | None]:
    ra, rb = ranges.data_range(a), ranges.data_range(b)
    try:  # exact element-level test when nocopy can view both
        return bool(shares_memory(a, b)), ra, rb
    except Exception:  # noqa: BLE001 - objects nocopy cannot view: byte ranges decide
        return bool(ranges.overlaps(ra, rb)), ra, rb


def assert_shares(a: Any, b: Any, msg: str | None = None) -> None:
    """Raises NotSharedError unless ``a`` and ``b`` (NumPy, torch, TensorFlow, JAX arrays,
    nocopy views, memoryview, bytes...) have at least one byte of memory in common.

    >>> import numpy as np, torch, nocopy as nc
    >>> a = np.zeros(8, np.float32)
    >>> nc.assert_shares(torch.from_numpy(a), a)      # passes
    >>> nc.assert_shares(torch.tensor(a), a)          # doctest: +SKIP
    NotSharedError: torch.Tensor of shape (8,) (bytes [...]) does not share memory with ...
    """
    ok, ra, rb = _shares(a, b)
    if not ok:
        text = f"{_describe(a, ra)} does not share memory with {_describe(b, rb)}"
        raise NotSharedError(f"{msg}: {text}" if msg else text)


class no_copy(contextlib.ContextDecorator):
    """`with nc.no_copy() as guard:` (or `@nc.no_copy()`): nocopy refuses to copy inside the
    block (CopyForbiddenError), and `guard.check(result, source)` asserts sharing for calls into
    other libraries. Nests; affects only the current thread (enter and leave it on one thread).

    >>> with nc.no_copy() as guard:
    ...     t = nc.view(a).to_torch()       # fine: zero-copy
    ...     guard.check(t, a)               # fine: shares
    ...     nc.view(a[:, ::2]).copy()       # raises CopyForbiddenError
    """

    def __init__(self) -> None:
        self.checked = 0  # how many check() calls passed

    def __enter__(self) -> "no_copy":
        forbid_copies()
        return self

    def __exit__(self, *exc: Any) -> bool:
        allow_copies()
        return False

    def check(self, result: Any, source: Any, msg: str | None = None) -> Any:
        """Asserts that ``result`` shares memory with ``source`` (NotSharedError otherwise) and
        returns ``result``, so it can wrap a call: `t = guard.check(torch.as_tensor(a), a)`."""
        assert_shares(result, source, msg)
        self.checked += 1
        return result
