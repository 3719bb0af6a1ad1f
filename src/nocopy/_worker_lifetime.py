"""The lifetime shared by the loaders (nc.Loader, nc.SequenceLoader): a C++ core with worker
threads, closed explicitly or by a `with` block, and unusable in a forked child (the threads
exist only in the process that created them)."""

from __future__ import annotations

import os

from ._batch_allocator import allocator_running_for


class WorkerLifetime:
    """Base of the loaders: the subclass sets ``_pid`` (os.getpid()) and then ``_core`` (the C++
    loader) in its constructor."""

    #: How error messages name a closed loader ("loader", "sequence loader").
    _what = "loader"

    @property
    def num_threads(self) -> int:
        """Worker threads in use."""
        return self._live().num_threads

    def close(self) -> None:
        """Stops and joins the worker threads now (batches already delivered stay valid)."""
        self._refuse_reentry()
        self._core = None

    def _refuse_reentry(self) -> None:
        if allocator_running_for(self):
            raise RuntimeError(f"the allocator function of this {self._what} called back into "
                               f"it; the {self._what} runs it while it holds its own state "
                               "(that call would wait for itself forever): an allocator must "
                               "only return a buffer")

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _live(self):
        self._refuse_reentry()
        if getattr(self, "_core", None) is None:
            raise ValueError(f"the {self._what} is closed")
        if self._pid != os.getpid():
            # A forked child inherits the loader object but not its worker threads.
            name = type(self).__name__
            raise RuntimeError(f"this {name} was created in process {self._pid}; a forked child "
                               "cannot use it (its worker threads exist only in the parent): "
                               f"create a new {name} in the child")
        return self._core
