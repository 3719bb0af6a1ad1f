"""Catalog rows for nocopy's own paths: nc.view of each framework's arrays, the to_* hand-offs,
the explicit copies, SharedArray.attach and open_npy. Each row runs only when the installed
nocopy has the feature (checked with hasattr), so the audit never breaks on a partial build."""

from __future__ import annotations

import pickle

import numpy as np

from .registry import Rows, mod
from .sources import Source, _fill, _shape

ROWS = Rows()  # this module's rows, merged into the catalog
register = ROWS.register


def _nc():
    return mod("nocopy")


def _has(*names: str):
    """A check that nocopy exposes every dotted name (e.g. "View.to_torch")."""

    def check() -> bool:
        try:
            obj = _nc()
        except ImportError:
            return False
        for name in names:
            cur = obj
            for part in name.split("."):
                if not hasattr(cur, part):
                    return False
                cur = getattr(cur, part)
        return True

    return check


_VIEW = _has("view")

# nc.view of NumPy arrays under every condition.
for cond in ("contiguous", "misaligned", "sliced", "negative-strides", "readonly",
             "shared-memory", "mmap"):
    register("nc.view(a)", cond, "nocopy", lambda a: _nc().view(a), available=_VIEW)
register("nc.view(a)[:, c0:c1]", "contiguous", "nocopy", lambda a: _nc().view(a)[:, 256:768],
         available=_VIEW)
register("nc.view(memoryview(a))", "sliced", "nocopy", lambda a: _nc().view(memoryview(a)),
         available=_VIEW)

# nc.view of each framework's arrays (the input is made untimed from an aligned array).
register("nc.view(t)  # t = torch.from_numpy(a)", "contiguous", "nocopy",
         lambda t: _nc().view(t), prepare=lambda s: mod("torch").from_numpy(s.a),
         requires=("torch",), available=_VIEW)
register("nc.view(x)  # x = tf.experimental.dlpack.from_dlpack(a.__dlpack__())", "contiguous",
         "nocopy", lambda x: _nc().view(x),
         prepare=lambda s: mod("tensorflow").experimental.dlpack.from_dlpack(s.a.__dlpack__()),
         requires=("tensorflow",), available=_VIEW)
register("nc.view(x)  # x = jax.dlpack.from_dlpack(a)", "contiguous", "nocopy",
         lambda x: _nc().view(x), prepare=lambda s: mod("jax.dlpack").from_dlpack(s.a),
         requires=("jax",), available=_VIEW)

# Hand-offs: zero-copy or a BufferError saying why (copy=True is the explicit copy).
_TARGETS = {
    "to_numpy": ((), ("contiguous", "sliced", "negative-strides", "readonly")),
    "to_torch": (("torch",), ("contiguous", "sliced", "negative-strides", "readonly",
                              "misaligned", "mmap")),
    "to_tf": (("tensorflow",), ("contiguous", "misaligned", "sliced", "mmap")),
    "to_jax": (("jax",), ("contiguous", "misaligned", "sliced", "readonly")),
}
for meth, (req, conds) in _TARGETS.items():
    for cond in conds:
        register(f"nc.view(a).{meth}()", cond, "nocopy",
                 lambda a, m=meth: getattr(_nc().view(a), m)(), requires=req,
                 available=_has("view", f"View.{meth}"))
    register(f"nc.view(a).{meth}(copy=True)", "sliced", "nocopy",
             lambda a, m=meth: getattr(_nc().view(a), m)(copy=True), requires=req,
             available=_has("view", f"View.{meth}"))

register("nc.ascontiguous(a)", "sliced", "nocopy", lambda a: _nc().ascontiguous(a),
         available=_has("ascontiguous"))
register("nc.ascontiguous(a)", "contiguous", "nocopy", lambda a: _nc().ascontiguous(a),
         available=_has("ascontiguous"))
register("nc.view(a).copy()", "contiguous", "nocopy", lambda a: _nc().view(a).copy(),
         available=_has("view", "View.copy"))


# Storage: a nocopy SharedArray attached by name, a .npy opened by mapping.
def shared_array_source(nbytes: int, ndim: int) -> Source:
    """Input for SharedArray rows: a segment made with nc.SharedArray.create."""
    sa = _nc().SharedArray.create(_shape(nbytes, ndim), "float32")
    arr = np.asarray(sa)
    base = arr.reshape(-1).view(np.uint8)
    _fill(base)
    src = Source(a=arr, base=base, name=sa.name, extra=sa)

    def release() -> None:
        src.a = None
        src.base = None  # type: ignore[assignment]
        sa.close()

    src._cleanup.append(release)
    return src


register("nc.SharedArray.attach(name)", "shared-memory", "nocopy",
         lambda name: _nc().SharedArray.attach(name), prepare=lambda s: s.name,
         source=shared_array_source, available=_has("SharedArray.create", "SharedArray.attach"))
register("pickle.loads(pickle.dumps(sa.view[r0:r1]))", "shared-memory", "nocopy",
         lambda v: pickle.loads(pickle.dumps(v)), prepare=lambda s: s.extra.view[8:-8],
         source=shared_array_source, available=_has("SharedArray.create", "SharedArray.attach"),
         note="a view of shared memory pickles by reference (what a worker process receives)")
register('nc.open_npy(path, mode="r")', "mmap", "nocopy",
         lambda p: _nc().open_npy(p, mode="r"), prepare=lambda s: s.path,
         available=_has("open_npy"))
