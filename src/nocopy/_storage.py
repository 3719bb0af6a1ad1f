"""Storage: shared-memory arrays across processes (nc.SharedArray) and memory-mapped .npy
files (nc.open_npy, nc.create_npy), plus View.advise and pickling of shared views by reference.

>>> import numpy as np, nocopy as nc
>>> with nc.SharedArray.create((4, 3), "float32") as sa:
...     np.asarray(sa)[1] = 7                 # writes the shared memory, no copy
...     other = nc.SharedArray.attach(sa.name)  # what another process does
...     float(np.asarray(other)[1, 2])
7.0
"""

from __future__ import annotations

import atexit
import os
import sys
import weakref

import numpy as np

from . import _nocopy
from ._dtypes import dtype_name
from ._nocopy import View
from ._view_class import register_pickle_reducer

__all__ = ["SharedArray", "open_npy", "create_npy"]


class SharedArray:
    """An N-d array in POSIX shared memory that any process can attach to by name, without
    copying. The segment header carries dtype and shape, so attaching needs only the name.

    The creator owns the name: it is removed by ``close()``, when the creator's last handle and
    view are garbage collected, or at interpreter exit, unless ``persist=True``. Attachers never
    remove it. Memory stays mapped while any view or export of it lives, so ``close()`` never
    invalidates a view. Pickling sends a reference (the name), never the bytes.

    To give an array made in a worker process to another process, the worker calls
    ``handoff()`` (it gives up the duty to remove the name) and the receiver
    ``SharedArray.adopt(name)`` (it takes the duty over).
    """

    __slots__ = ("_handle", "__weakref__")

    def __init__(self, handle):
        if not isinstance(handle, _nocopy._SharedArray):
            raise TypeError("use SharedArray.create(...) or SharedArray.attach(name)")
        self._handle = handle

    @classmethod
    def create(cls, shape, dtype, name: str | None = None, mode: int = 0o600,
               persist: bool = False) -> "SharedArray":
        """A new zero-filled shared array (POSIX shm, created exclusively: an existing ``name``
        is an error; None generates ``nocopy-<pid>-<random>``). Pages are reserved up front, so
        a full /dev/shm raises an error naming its free space instead of crashing later.

        >>> sa = nc.SharedArray.create((1000, 64, 64, 3), np.uint8)
        """
        handle = _nocopy._SharedArray.create(shape, dtype_name(dtype), name or "", mode,
                                             bool(persist))
        sa = cls(handle)
        _created.add(sa)
        return sa

    @classmethod
    def attach(cls, name: str, readonly: bool = False) -> "SharedArray":
        """Attaches to the shared array called ``name`` (created by any process), checking its
        header against the segment. O(1) in the array size.

        >>> sb = nc.SharedArray.attach(sa.name)
        """
        return cls(_nocopy._SharedArray.attach(os.fspath(name), bool(readonly)))

    @classmethod
    def adopt(cls, name: str, readonly: bool = False) -> "SharedArray":
        """Attaches to ``name`` and takes over the duty to remove it, as its creator would: the
        receiving side of ``handoff()`` (close(), garbage collection or interpreter exit of
        this process remove the name from now on).

        >>> sa = nc.SharedArray.adopt(name_returned_by_a_worker)
        """
        sa = cls(_nocopy._SharedArray.adopt(os.fspath(name), bool(readonly)))
        _created.add(sa)
        return sa

    def handoff(self) -> str:
        """Gives up this process's duty to remove the name, so another process can
        ``SharedArray.adopt()`` it, and returns the name to send there. The array stays usable
        here. Until someone adopts it, the name survives this process and ``shm gc`` reclaims it
        once this process has ended.

        >>> return sa.handoff()        # in a worker; the parent calls SharedArray.adopt(name)
        """
        self._handle.hand_off()
        return self.name

    # --- the array -----------------------------------------------------------------------
    @property
    def view(self) -> View:
        """The whole array as a nocopy View (raises ValueError after close())."""
        return self._handle.view

    @property
    def name(self) -> str:
        """Segment name (pass it to SharedArray.attach in another process)."""
        return self._handle.name

    @property
    def shape(self) -> tuple:
        return self.view.shape

    @property
    def dtype(self):
        return self.view.dtype

    @property
    def nbytes(self) -> int:
        return self.view.nbytes

    @property
    def readonly(self) -> bool:
        return self.view.readonly

    @property
    def is_creator(self) -> bool:
        """True for the handle that created the segment (and owns its name)."""
        return self._handle.is_creator

    @property
    def owns_name(self) -> bool:
        """True while this process must remove the name (its creator or adopter, not
        persistent, not handed off, not closed)."""
        return self._handle.owns_name

    @property
    def persist(self) -> bool:
        return self._handle.persist

    @property
    def closed(self) -> bool:
        return self._handle.closed

    def __getitem__(self, index) -> View:
        return self.view[index]

    def __len__(self) -> int:
        return len(self.view)

    def __array__(self, dtype=None, copy=None):
        a = np.asarray(self.view)
        if dtype is not None and np.dtype(dtype) != a.dtype:
            if copy is False:
                raise ValueError(f"converting {a.dtype} to {np.dtype(dtype)} needs a copy")
            return a.astype(dtype)
        if copy:
            return a.copy()
        return a

    def __nocopy_view__(self) -> View:
        """The View nc.view(sa) returns (the shared memory itself, with its owner)."""
        return self.view

    def __dlpack__(self, *args, **kwargs):
        return self.view.__dlpack__(*args, **kwargs)

    def __dlpack_device__(self):
        return self.view.__dlpack_device__()

    # --- lifetime ------------------------------------------------------------------------
    def close(self) -> None:
        """Drops this handle; the creator also removes the name (unless persistent). Views and
        exports already taken stay valid."""
        self._handle.close()

    def __enter__(self) -> "SharedArray":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __reduce__(self):
        if self.closed:
            raise ValueError(f"cannot pickle closed shared array '{self.name}'")
        _refuse_dead_reference(self.name, _nocopy._shm_owner_state(self.view))
        return (_attach_by_name, (self.name, self.readonly, *self._handle.identity))

    def __repr__(self) -> str:
        if self.closed:
            return f"nocopy.SharedArray(name={self.name!r}, closed)"
        role = "creator" if self.is_creator else "attached"
        return (f"nocopy.SharedArray(name={self.name!r}, shape={self.shape}, "
                f"dtype={self.view._dtype_name}, {role}{', persist' if self.persist else ''})")


def _attach_by_name(name: str, readonly: bool, device=None, inode=None) -> SharedArray:
    sa = SharedArray.attach(name, readonly)
    try:
        _check_same_segment(name, sa._handle, device, inode)
    except ValueError:
        sa.close()
        raise
    return sa


def _check_same_segment(name: str, handle, device, inode) -> None:
    """Refuses a segment other than the sender's: its name was removed and taken by a newer
    array, whose data the receiver would otherwise read in its place."""
    if device is not None and handle.identity != (device, inode):
        raise ValueError(f"shared array '{name}' now names another segment than the one the "
                         "sender had mapped (the sender's was removed and the name reused), so "
                         "the reference cannot be attached")


def _view_from_reference(name, offset, shape, strides, dtype, readonly, device=None,
                         inode=None) -> View:
    """Unpickles a view of a shared array: attaches the sender's segment (checked by device
    and inode) and rebuilds the geometry, checked to stay inside the segment."""
    handle = _nocopy._SharedArray.attach(name, bool(readonly))
    try:
        _check_same_segment(name, handle, device, inode)
        return handle.view_at(int(offset), dtype, [int(n) for n in shape],
                              [int(s) for s in strides], bool(readonly))
    finally:
        handle.close()  # the view keeps the mapping; attachers never unlink


def _in_worker_process() -> bool:
    """True in a process started by multiprocessing (Pool, ProcessPoolExecutor, Process)."""
    mp = sys.modules.get("multiprocessing")
    return mp is not None and mp.parent_process() is not None


def _refuse_dead_reference(name: str, state: str) -> None:
    """Refuses to pickle a reference the receiver could never attach (or would attach to another
    array): a removed or reused name, or a worker's own array. A worker's own arrays are
    removed when the worker drops them (its handle goes as soon as the function returns, before
    the result is pickled) or leaked when it is stopped; multiprocessing would then hang in its
    result thread on the failed attach. Raising here, in the sender, lets the pool report it."""
    if state == "removed":
        reason = (f"shared array '{name}' was closed by this process, its creator, and its name "
                  "is removed, so no other process can attach a reference to it")
    elif state == "gone":
        reason = (f"shared array '{name}' is no longer under its name in /dev/shm (the name was "
                  "removed, or now refers to another segment), so no other process can attach "
                  "a reference to it")
    elif state == "owner" and _in_worker_process():
        reason = (f"shared array '{name}' was created in this worker process, which removes it "
                  "when it drops the array, so the receiver would find the name gone")
    else:
        return
    raise ValueError(reason + ". To give an array to another process, return sa.handoff() and "
                     "call nc.SharedArray.adopt(name) there (or create it in the receiving "
                     "process, or with persist=True)")


def _reduce_shm_view(v: View):
    ref = _nocopy._shm_reference(v)
    _refuse_dead_reference(ref[0], _nocopy._shm_owner_state(v))
    return (_view_from_reference, ref)


register_pickle_reducer("shm", _reduce_shm_view)

# Creators still open at interpreter exit remove their names (objects holding views may never
# be destroyed during finalization); forked children never do (only the creating pid unlinks).
_created: "weakref.WeakSet[SharedArray]" = weakref.WeakSet()


@atexit.register
def _close_created_at_exit() -> None:
    for sa in list(_created):
        try:
            sa.close()
        except Exception:  # noqa: BLE001 - best effort at exit
            pass
    _nocopy._unlink_created_segments()


# --- .npy files -----------------------------------------------------------------------------
def open_npy(path, mode: str = "r") -> View:
    """Maps a .npy file (format 1.0/2.0/3.0) and returns a zero-copy View of its data: mode "r"
    read-only, "r+" read-write (writes reach the file), "c" copy-on-write (private writes).
    The mapping lives as long as any view of it. Like np.load(path, mmap_mode=mode). The open
    never blocks (a FIFO is refused with ValueError); a missing file is FileNotFoundError.

    >>> v = nc.open_npy("images.npy")            # 10 GB file: nothing is read yet
    >>> batch = np.asarray(v[100:132])
    """
    return _nocopy._open_npy(os.fsdecode(os.fspath(path)), mode)


def create_npy(path, shape, dtype, *, sparse: bool = False) -> View:
    """Creates a .npy file of ``shape`` and ``dtype`` (reading as zeros) and returns a writable
    View of its data (64-byte aligned). np.load(path, mmap_mode="r") reads it. The data's disk
    space is reserved first, so a full file system is an OSError (ENOSPC) here, never a SIGBUS
    when the view is written; ``sparse=True`` only sizes the file (instant, no disk taken until
    written, but a write into a full file system kills the process with SIGBUS). The file is
    written under a temporary name in the same directory and renamed over ``path`` only when
    complete: a failure leaves an existing file untouched, and views of the old file keep their
    data. A directory, FIFO or device at ``path`` is refused before anything is touched.

    >>> v = nc.create_npy("features.npy", (1_000_000, 512), "float16")
    """
    if not isinstance(sparse, bool):
        raise TypeError(f"sparse must be True or False, got {sparse!r}")
    return _nocopy._create_npy(os.fspath(path), shape, dtype_name(dtype), sparse)


def _advise(self: View, advice: str) -> None:
    """Access hint for the pages of this view of a mapped file or shared array: "sequential",
    "random", "willneed", "dontneed" or "normal" (madvise). ValueError for other views."""
    _nocopy._advise(self, advice)


View.advise = _advise
