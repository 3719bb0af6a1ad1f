"""Where the loaders' batch buffers come from: the ``allocator=`` and ``pin_memory=`` options of
nc.Loader and nc.SequenceLoader, resolved once, here, into the callable the C++ batch pool calls.

``allocator(nbytes)`` returns a writable, contiguous, 64-byte aligned host buffer of at least
``nbytes`` bytes (anything nc.view accepts: a NumPy array, a torch tensor, a bytearray, a slice of
one big arena). The pool keeps each buffer (and the object it came from) while a batch in it is
in flight or held, reuses it for later batches, and writes every batch straight into it. The
C++ side (cpp/bindings/python_allocator.cpp) checks what it returns: TypeError when nc.view does
not accept it, ValueError when it is read-only, too small, not contiguous, misaligned or
overlapping a buffer still in use; an exception raised by the allocator itself propagates as is.

``pin_memory=True`` is the allocator over torch's pinned (page-locked) host memory, so batches
reach the GPU with ``.to("cuda", non_blocking=True)`` and no extra host copy. It needs torch
with a CUDA device and raises RuntimeError saying which is missing otherwise (the environment,
not the argument's value, is what fails).
"""

from __future__ import annotations

import threading
from typing import Any, Callable

import numpy as np

#: Alignment of every batch buffer (the core's kAlignment).
ALIGNMENT = 64


class PinnedHostAllocator:
    """Batch buffers in torch's pinned host memory:
    ``torch.empty(nbytes, dtype=torch.uint8, pin_memory=True)``, over-allocated by 63 bytes and
    sliced when torch's block is not 64-byte aligned (its caching host allocator normally gives
    page-aligned blocks, so the slice is the exception)."""

    #: Where the blocks live (the C++ allocator carries it: pinned host memory).
    nocopy_device = "cuda_host"

    def __init__(self, torch):
        self._torch = torch

    def __call__(self, nbytes: int):
        torch = self._torch
        block = torch.empty(nbytes, dtype=torch.uint8, pin_memory=True)
        if block.data_ptr() % ALIGNMENT == 0:
            return block
        block = torch.empty(nbytes + ALIGNMENT - 1, dtype=torch.uint8, pin_memory=True)
        offset = -block.data_ptr() % ALIGNMENT
        return block[offset:offset + nbytes]

    def __repr__(self) -> str:
        return "pin_memory=True (torch pinned host memory)"


# The loaders whose allocator function is running on this thread (ids, innermost last).
_running = threading.local()


class _ReentryGuard:
    """A user's allocator function, marked as running for its loader while it runs: the loader
    calls it with its state lock held, so a call back into that loader (next_batch, plan,
    state_dict, close, ...) would wait for itself forever; BatchLoader refuses it instead."""

    def __init__(self, fn, owner):
        self._fn = fn
        self._owner = id(owner)
        self.nocopy_device = getattr(fn, "nocopy_device", None)

    def __call__(self, nbytes: int):
        stack = _running.__dict__.setdefault("owners", [])
        stack.append(self._owner)
        try:
            return self._fn(nbytes)
        finally:
            stack.pop()

    def __repr__(self) -> str:
        return repr(self._fn)


def allocator_running_for(loader) -> bool:
    """True while `loader`'s allocator function runs on this thread."""
    return id(loader) in getattr(_running, "owners", ())


def batch_allocator(allocator: Callable[[int], Any] | None, pin_memory: bool, owner=None):
    """The callable that gives a loader (`owner`) its batch buffers, or None for the default
    aligned heap.

    TypeError for a pin_memory that is not a bool or an allocator that is not callable,
    ValueError for both options at once, RuntimeError when pin_memory=True cannot be had here
    (torch missing, or no CUDA device)."""
    if not isinstance(pin_memory, (bool, np.bool_)):
        raise TypeError(f"pin_memory must be a bool, got {pin_memory!r}")
    if allocator is not None and not callable(allocator):
        raise TypeError(f"allocator must be a callable fn(nbytes) returning a buffer, got "
                        f"{allocator!r}")
    if not pin_memory:
        return None if allocator is None else _ReentryGuard(allocator, owner)
    if allocator is not None:
        raise ValueError(f"pass allocator= or pin_memory=True, not both (allocator={allocator!r} "
                         "would replace the pinned buffers)")
    try:
        import torch
    except ImportError as exc:
        raise RuntimeError("pin_memory=True needs torch with CUDA (it allocates torch's pinned "
                           "host memory), but torch is not installed") from exc
    if not torch.cuda.is_available():
        raise RuntimeError("pin_memory=True needs a CUDA device (torch's pinned host memory), but "
                           f"torch.cuda.is_available() is False here (torch {torch.__version__}, "
                           f"CUDA build {torch.version.cuda}); leave pin_memory=False on this "
                           "machine")
    return PinnedHostAllocator(torch)
