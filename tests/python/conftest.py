"""Shared fixtures and helpers for the Python tests; the suite must leave no nocopy
shared-memory segment behind."""

import os
import struct

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

# Triton (which torchvision's transforms pull in through torch) and jaxlib each carry their own
# LLVM; loading triton's after jaxlib's crashes the interpreter (a segmentation fault inside
# triton's import), so which test file runs first would decide whether the suite survives.
# Loaded here, before any test can import JAX, the order is always the one that works.
try:
    import triton  # noqa: F401
except ImportError:
    pass


def data_ptr(arr) -> int:
    """Address of element 0 of a NumPy array."""
    return arr.__array_interface__["data"][0]


@pytest.fixture
def aligned():
    """Factory: a C-contiguous NumPy array whose data is 64-byte aligned (what TF/JAX share)."""
    keep = []

    def make(shape, dtype=np.float32, offset_bytes=0):
        dtype = np.dtype(dtype)
        n = int(np.prod(shape)) * dtype.itemsize
        buf = np.empty(n + 128, np.uint8)
        keep.append(buf)
        off = (-data_ptr(buf)) % 64 + offset_bytes
        arr = buf[off:off + n].view(dtype).reshape(shape)
        arr[...] = np.arange(arr.size).reshape(shape).astype(dtype)
        return arr

    return make

def _nocopy_segments() -> dict[str, int]:
    """Segments in /dev/shm that carry nocopy's header magic, with their creator pid."""
    out = {}
    try:
        names = os.listdir("/dev/shm")
    except OSError:
        return out
    for name in names:
        try:
            with open(os.path.join("/dev/shm", name), "rb") as f:
                head = f.read(56)
        except OSError:
            continue
        if head[:8] == b"NOCOPYSA" and len(head) == 56:
            out[name] = struct.unpack_from("<q", head, 48)[0]
    return out


def _parent_of(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def _ours(creator: int) -> bool:
    """True unless the creator is a live process other than this one and its children (another
    program running beside the suite)."""
    if creator == os.getpid():
        return True
    parent = _parent_of(creator)
    return parent is None or parent == os.getpid()


@pytest.fixture(scope="session", autouse=True)
def no_leaked_shared_arrays():
    """Fails the session if a nocopy segment created while it ran (by this process, its
    children, or a process that has died) is still in /dev/shm."""
    before = set(_nocopy_segments())
    yield
    leaked = sorted(name for name, creator in _nocopy_segments().items()
                    if name not in before and _ours(creator))
    for name in leaked:  # clean up so one failure does not poison later runs
        try:
            os.unlink(os.path.join("/dev/shm", name))
        except OSError:
            pass
    assert not leaked, f"test suite leaked nocopy shared-memory segments: {leaked}"
