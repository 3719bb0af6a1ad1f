"""Sequences: zero-copy sliding windows (nc.windows), headerless binary files mapped as views
(nc.open_raw) and the token / time-series batch loader (nc.SequenceLoader).

>>> import numpy as np, nocopy as nc
>>> w = nc.windows(np.arange(10), 4, step=3)     # a view: no bytes copied
>>> np.asarray(w).tolist()
[[0, 1, 2, 3], [3, 4, 5, 6], [6, 7, 8, 9]]
"""

from __future__ import annotations

import os
from typing import NamedTuple

import numpy as np

from . import _nocopy
from ._batch_loader import BatchLoader, options_doc
from ._dtypes import dtype_name
from ._nocopy import View
from ._views import view
from .transforms import _close_at_exit

__all__ = ["windows", "open_raw", "SequenceLoader", "SequencePlan", "SequenceMixturePlan"]



def windows(x, size: int, step: int = 1, axis: int = -1) -> View:
    """Every ``size``-long window of ``axis`` whose start advances by ``step``, as one View of
    ``x``'s memory: ``np.lib.stride_tricks.sliding_window_view(x, size, axis)[..., ::step, :]``
    (the windowed axis counts windows; a new last axis runs along each window). Never copies;
    when windows overlap (step < size) the view is read-only, since a write would change every
    window sharing the element.

    >>> nc.windows(tokens, 1025, step=1024)     # (n, 1025) overlapping by one token
    """
    return _nocopy._sliding_windows(view(x), size, step, axis)


def open_raw(path, dtype, shape=None, offset: int = 0, mode: str = "r") -> View:
    """Maps a headerless binary file of ``dtype`` elements (nanoGPT's ``train.bin``, anything
    written by ``ndarray.tofile``) and returns a zero-copy View of it, starting ``offset`` bytes
    in: like ``np.memmap(path, dtype, mode, offset, shape)``. Without ``shape`` the rest of the
    file is one axis (it must hold a whole number of elements); one axis of ``shape`` may be -1.
    Modes as open_npy: "r" read-only, "r+" read-write, "c" copy-on-write. The file is opened
    non-blocking (a FIFO cannot hang the call); errors are OSError subclasses with errno and
    filename, ValueError for a layout that does not fit the file.

    >>> tokens = nc.open_raw("train.bin", np.uint16)       # 20 GB: nothing is read yet
    """
    name = os.fspath(path)
    if isinstance(name, bytes):
        name = os.fsdecode(name)
    flags = (os.O_RDWR if mode == "r+" else os.O_RDONLY) | os.O_CLOEXEC | os.O_NONBLOCK
    fd = os.open(name, flags)  # FileNotFoundError, PermissionError, ... with errno and filename
    try:  # shape and offset are checked by the bindings (TypeError / OverflowError naming them)
        return _nocopy._open_raw_fd(fd, name, dtype_name(dtype), shape, offset, mode)
    finally:
        os.close(fd)  # the mapping outlives the descriptor


class SequencePlan(NamedTuple):
    """What batch i holds: the source (index in the list of sequences) and first step of each
    window, as NumPy int64 arrays."""

    sources: np.ndarray
    starts: np.ndarray


class SequenceMixturePlan(NamedTuple):
    """What batch i of an nc.Mixture holds: the dataset of each window, and the source (index in
    that dataset's list of sequences; a lone array is sequence 0) and first step of each, as
    NumPy int64 arrays."""

    sources: np.ndarray
    starts: np.ndarray
    dataset: np.ndarray


class SequenceLoader(BatchLoader):
    """Batches of windows from a token stream or a time series, gathered and converted in one
    C++ pass per window by worker threads, zero-copy to the framework.

    >>> import numpy as np, nocopy as nc
    >>> tokens = np.arange(10_000, dtype=np.uint16)
    >>> loader = nc.SequenceLoader(tokens, seq_len=128, batch_size=8, output="numpy")
    >>> x, y = next(iter(loader)); x.shape, x.dtype, bool((y[:, :-1] == x[:, 1:]).all())
    ((8, 128), dtype('int64'), True)

    ``data``: a 1-D array (tokens), a (T, F) array (a series with F features) or a list of them
    (documents or separate series, one dtype and feature count); a window never crosses from
    one to the next. Anything nc.view accepts works, open_raw / open_npy files included.

    ``targets="next"`` yields ``(x, y)`` with ``y`` the window shifted by one step;
    ``targets="horizon"`` yields the ``horizon`` steps after the window; ``targets=None``
    yields ``x`` alone. Shapes: x is (batch, seq_len) or (batch, seq_len, F).

    ``step=None``: each window starts at a uniformly random valid position, about
    (usable steps / seq_len) windows per epoch. ``step=k``: windows start at 0, k, 2k, ... of
    each sequence, shuffled (``shuffle``), so an epoch covers the data once (this keeps one
    int64 per window in memory).

    Everything is keyed by (seed, epoch, position): the same seed gives the same bytes whatever
    ``num_threads``; ``plan(i)`` says what batch i holds; ``state_dict()`` /
    ``load_state_dict()`` resume exactly; ``rank``/``world_size`` shard like
    DistributedSampler (equal batch counts; ``drop_last`` trims the windows so ranks are
    disjoint). Iteration, epochs, resume, statistics and ``on_error`` work as for nc.Loader
    (nocopy._batch_loader). ``dtype`` is the output type: integer tokens must fit it (an
    nc.LoaderError that is also an OverflowError names the first one that does not, with
    ``.sample`` the index of its sequence), and integer output needs integer data.

    Memory-mapped sources (open_raw, open_npy, SharedArray) get MADV_RANDOM (no read-ahead
    around random windows). Up to 256 MiB of them in all are read through the mapping and stay
    resident; beyond that a contiguous view of a file or of a SharedArray (its segment is a file
    in /dev/shm) is read with pread (no page of the mapping becomes resident), and other
    mappings are read through the mapping with the pages read unmapped again every 32 MiB
    (MADV_DONTNEED), so iterating a token file larger than RAM keeps the resident memory
    bounded. An np.memmap is read as plain memory: pass
    nc.open_raw(path, dtype) instead.

    ``data`` may also be an nc.RemoteTokens (``nc.open_tokens(url)``): the same windows and
    bytes as the local copy, read shard by shard: a worker that first reads a window of a
    shard downloads (verified), maps and keeps it (``max_open`` at once), and the shards the
    next ``fetch_ahead`` batches read download in the background (docs/REMOTE.md).

    ``data`` may be an nc.Mixture of such datasets (arrays, lists of them, nc.open_tokens of a
    folder or URL; one dtype and row shape), mixed by weight: an epoch holds
    ``windows_per_epoch`` windows, exactly ``mixture_counts[d]`` of dataset d, placed per
    (seed, epoch); ``plan(i).dataset`` says which dataset each window reads (docs/SEQUENCES.md).

    ``allocator`` / ``pin_memory`` choose where batch buffers come from, as for nc.Loader.
    """

    _what = "sequence loader"

    def __init__(self, data, seq_len: int, batch_size: int, *, targets: str | None = "next",
                 horizon: int = 1, step: int | None = None, dtype="int64",
                 shuffle: bool = True, seed: int = 0, drop_last: bool = True,
                 num_threads: int | None = None, prefetch: int = 2, rank: int = 0,
                 world_size: int = 1, output: str = "torch", allocator=None,
                 pin_memory: bool = False, on_error: str = "raise", fetch_ahead: int = 4):
        # Every option is validated once, by the C++ core (declared in SequenceOptions).
        mixture = getattr(data, "__nocopy_mixture__", None)
        if mixture is not None and getattr(data, "kind", None) != "sequence":
            raise TypeError(f"a Mixture of {getattr(data, 'kind', 'other')} datasets is read by "
                            f"nc.Loader / nc.VideoLoader, not nc.SequenceLoader")
        allocator = self._setup(output, allocator, pin_memory)
        self._mixture = data if mixture is not None else None
        shards = getattr(type(data), "__nocopy_sequence_shards__", None)
        extra = {}
        if mixture is not None:
            # The datasets end to end: arrays, and the shards of remote ones opened on demand.
            self._data = data
            self._sources = data.__nocopy_sequence_sources__()
            extra["mixture"] = mixture()
            self._python_steps = any(isinstance(s, _nocopy._ShardedSequences)
                                     for s in self._sources)
            if self._python_steps:
                _close_at_exit(self)
        elif shards is not None:
            # Shards opened on demand by Python (a remote dataset's opener): the workers that
            # call it wait for the GIL, so they are joined with it released (close, exit).
            self._data = data
            self._sources = shards(data)
            self._python_steps = True
            _close_at_exit(self)
        else:
            sources = list(data) if isinstance(data, (list, tuple)) else [data]
            self._data = None
            self._sources = [view(s) for s in sources]
        self._targets = targets
        self._seq_len = seq_len
        self._core = _nocopy._SequenceLoader(
            self._sources, seq_len=seq_len, batch_size=batch_size, targets=targets,
            horizon=horizon, step=step, dtype=dtype_name(dtype), shuffle=shuffle, seed=seed,
            drop_last=drop_last, num_threads=num_threads, prefetch=prefetch, rank=rank,
            world_size=world_size, allocator=allocator, on_error=on_error,
            fetch_ahead=fetch_ahead, **extra)

    @property
    def windows_per_epoch(self) -> int:
        """Windows in one epoch over all ranks."""
        return self._live().windows_per_epoch

    @property
    def mixture_sizes(self) -> np.ndarray | None:
        """With an nc.Mixture: each dataset's windows per epoch as a lone loader with these
        options (step mode: its windows; random starts: its usable steps // seq_len)."""
        if self._mixture is None:
            return None
        return np.asarray(self._live().mixture_sizes, np.int64)

    @property
    def mixture_counts(self) -> np.ndarray | None:
        """With an nc.Mixture: each dataset's windows in every epoch (they add up to
        ``windows_per_epoch``)."""
        if self._mixture is None:
            return None
        return np.asarray(self._live().mixture_counts, np.int64)

    def plan(self, i: int, epoch: int | None = None) -> SequencePlan | SequenceMixturePlan:
        """The windows of batch ``i`` of ``epoch`` (default: the current one, as for
        nc.Loader.plan): x[k] is ``data[sources[k]][starts[k]:starts[k] + seq_len]`` (y follows
        it). With an nc.Mixture, ``dataset[k]`` is the dataset and x[k] is
        ``datasets[dataset[k]][sources[k]][starts[k]:...]`` (a lone array is its own sequence
        0)."""
        sources, starts, datasets = self._live().plan(i, epoch)
        sources = np.asarray(sources, np.int64)
        starts = np.asarray(starts, np.int64)
        if self._mixture is None:
            return SequencePlan(sources, starts)
        datasets = np.asarray(datasets, np.int64)
        return SequenceMixturePlan(sources - self._mixture.source_offsets[datasets], starts,
                                   datasets)


    def __repr__(self) -> str:
        state = "closed" if self._core is None else f"epoch={self.epoch}, batches={len(self)}"
        if self._data is not None:
            data = repr(self._data)
        else:
            shapes = [s.shape for s in self._sources[:3]]
            data = f"{shapes}{', ...' if len(self._sources) > 3 else ''}"
        return (f"nocopy.SequenceLoader(data={data}, seq_len={self._seq_len}, "
                f"targets={self._targets!r}, output={self._output!r}, {state})")


SequenceLoader.__doc__ += options_doc("SequenceLoader")
