"""Input arrays for the audit, one builder per condition: each makes a float32 array of a given
byte size (1-D, or 2-D rows of 4 KiB) under that condition, plus a writable uint8 view of the
whole backing store that the write-through probe flips.

Conditions (the words used in every row):
  contiguous        C-contiguous, data pointer 64-byte aligned, writable
  misaligned        C-contiguous, data pointer 16 bytes past a 64-byte boundary: what np.empty
                    returns for large arrays with glibc malloc (see `numpy_alignment`)
  sliced            a non-contiguous view: 2-D a[:, 256:768] (a column crop), 1-D a[::2]
  negative-strides  a[::-1]
  readonly          contiguous and aligned, a.flags.writeable = False
  shared-memory     np.ndarray over multiprocessing.shared_memory.SharedMemory(create=True).buf
  mmap              np.load(path, mmap_mode="r") of a .npy file (read-only, page cache backed)
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

CONDITIONS = ("contiguous", "misaligned", "sliced", "negative-strides", "readonly",
              "shared-memory", "mmap")

ROW_FLOATS = 1024  # 2-D inputs have rows of 4 KiB


@dataclass
class Source:
    """One prepared input: ``a`` is what the path receives; ``base`` is a writable uint8 view
    of all the memory ``a`` lives in; ``path`` / ``name`` name a file or shm segment."""

    a: Any
    base: np.ndarray
    path: str | None = None
    name: str | None = None
    extra: Any = None  # the object a special builder made (e.g. the nc.SharedArray)
    _cleanup: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        """Releases the memory (unlinks files and segments this builder made)."""
        self.a = None
        self.base = None  # type: ignore[assignment]
        while self._cleanup:
            try:
                self._cleanup.pop()()
            except Exception:  # noqa: BLE001 - cleanup is best effort
                pass


def _shape(nbytes: int, ndim: int) -> tuple[int, ...]:
    n = nbytes // 4
    return (n,) if ndim == 1 else (n // ROW_FLOATS, ROW_FLOATS)


def _fill(u8: np.ndarray) -> None:
    """Touches every page (so RSS already counts the input) with a recognisable pattern."""
    u8.view(np.uint8)[:] = 0x3F  # float32 0x3F3F3F3F ~ 0.75


def _aligned(nbytes: int, ndim: int, offset: int = 0) -> Source:
    raw = np.empty(nbytes + 128, np.uint8)
    start = (-raw.ctypes.data) % 64 + offset
    u8 = raw[start:start + nbytes]
    _fill(u8)
    return Source(a=u8.view(np.float32).reshape(_shape(nbytes, ndim)), base=u8)


def contiguous(nbytes: int, ndim: int) -> Source:
    return _aligned(nbytes, ndim)


def misaligned(nbytes: int, ndim: int) -> Source:
    return _aligned(nbytes, ndim, offset=16)


def sliced(nbytes: int, ndim: int) -> Source:
    s = _aligned(nbytes, ndim)
    s.a = s.a[::2] if ndim == 1 else s.a[:, 256:768]
    return s


def negative_strides(nbytes: int, ndim: int) -> Source:
    s = _aligned(nbytes, ndim)
    s.a = s.a[::-1]
    return s


def readonly(nbytes: int, ndim: int) -> Source:
    s = _aligned(nbytes, ndim)
    a = s.a.view()
    a.flags.writeable = False
    s.a = a
    return s


def shared_memory(nbytes: int, ndim: int) -> Source:
    from multiprocessing import shared_memory as shm_mod

    shm = shm_mod.SharedMemory(create=True, size=nbytes)
    base = np.ndarray((nbytes,), np.uint8, buffer=shm.buf)
    _fill(base)
    src = Source(a=base.view(np.float32).reshape(_shape(nbytes, ndim)), base=base, name=shm.name)

    def release() -> None:
        src.a = None
        src.base = None  # type: ignore[assignment]
        import gc

        gc.collect()
        try:
            shm.close()
        finally:
            shm.unlink()

    src._cleanup.append(release)
    return src


def mmap(nbytes: int, ndim: int) -> Source:
    d = tempfile.mkdtemp(prefix="nocopy-audit-")
    path = os.path.join(d, "a.npy")
    np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=_shape(nbytes, ndim)).flush()
    rw = np.load(path, mmap_mode="r+")
    base = rw.reshape(-1).view(np.uint8)
    _fill(base)
    rw.flush()
    a = np.load(path, mmap_mode="r")
    int(a.view(np.uint8)[::4096].sum())  # fault the read-only mapping in: RSS counts it
    src = Source(a=a, base=base, path=path)

    def release() -> None:
        os.unlink(path)
        os.rmdir(d)

    src._cleanup.append(release)
    return src


BUILDERS: dict[str, Callable[[int, int], Source]] = {
    "contiguous": contiguous,
    "misaligned": misaligned,
    "sliced": sliced,
    "negative-strides": negative_strides,
    "readonly": readonly,
    "shared-memory": shared_memory,
    "mmap": mmap,
}


def numpy_alignment(nbytes: int = 1 << 20) -> int:
    """Data pointer modulo 64 of a fresh np.empty of ``nbytes`` (16 with glibc for large arrays)."""
    return int(np.empty(nbytes, np.uint8).ctypes.data % 64)
