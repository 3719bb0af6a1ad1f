"""Python-level methods of View: dtype, framework hand-off helpers, copies and pickling."""

from __future__ import annotations

from . import _adapters, _views
from ._dtypes import numpy_dtype
from ._nocopy import View

# Pickling by reference is possible only for memory another process can reach (shared memory);
# storage modules register a reducer per owner kind.
_pickle_reducers: dict = {}


def register_pickle_reducer(owner_kind: str, reducer) -> None:
    """Make views whose owner is of ``owner_kind`` picklable with ``reducer(view)``."""
    _pickle_reducers[owner_kind] = reducer


def _reduce(self):
    reducer = _pickle_reducers.get(self._owner_kind)
    if reducer is not None:
        return reducer(self)
    raise TypeError(
        f"a view of process-local memory (owner: {self._owner_kind or 'none'}) cannot be pickled "
        "by reference; put the data in an nc.SharedArray, or pickle np.asarray(v) (a copy)")


def _copy(self, dtype=None, num_threads: int = 0):
    """A new C-contiguous, 64-byte aligned copy (optionally converted to ``dtype``)."""
    return _views.copy_of(self, dtype, num_threads)


def _array(self, dtype=None, copy=None):
    """NumPy's fallback when the buffer protocol refuses (bfloat16, device memory): either the
    same zero-copy array to_numpy gives, or the reason as a BufferError, never an object array."""
    arr = _adapters.to_numpy(self, copy=bool(copy))
    if dtype is None or arr.dtype == dtype:
        return arr
    if copy is False:
        raise ValueError(f"converting a {self._dtype_name} view to {dtype} needs a copy, and "
                         "copy=False was given")
    return arr.astype(dtype)


def _iter(self):
    """Iterates over the first axis like NumPy: v[0], v[1], ... (each a view)."""
    if self.ndim == 0:
        raise TypeError("iteration over a 0-d view")
    return (self[i] for i in range(self.shape[0]))


def _reversed(self):
    """Iterates over the first axis from the end, like NumPy: v[-1], v[-2], ... (each a view)."""
    if self.ndim == 0:
        raise TypeError("iteration over a 0-d view")
    return (self[i] for i in range(self.shape[0] - 1, -1, -1))


def _contains(self, value):
    """`x in v` would compare elements, which views never do (without this, Python would compare
    x with each row view by identity and answer False where NumPy answers True)."""
    raise TypeError("views do not compare elements; use `x in np.asarray(v)` (NumPy's answer: "
                    "whether any element equals x)")


def _deepcopy(self, memo):
    """deepcopy gives an independent copy of the elements (a new C-contiguous array)."""
    return self.copy()


View.__array__ = _array
View.__iter__ = _iter
View.__reversed__ = _reversed
View.__contains__ = _contains
View.__copy__ = lambda self: self  # views are immutable handles: a shallow copy is the view
View.__deepcopy__ = _deepcopy
View.dtype = property(lambda self: numpy_dtype(self._dtype_name),
                      doc="Element type as a NumPy dtype (bfloat16 needs ml_dtypes).")
View.to_numpy = _adapters.to_numpy
View.to_torch = _adapters.to_torch
View.to_tf = _adapters.to_tf
View.to_jax = _adapters.to_jax
View.copy = _copy
View.__reduce__ = _reduce
