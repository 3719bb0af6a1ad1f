"""Catalog rows for Python, NumPy, multiprocessing, PyTorch, TensorFlow and JAX: every path the
seed documents name, under the conditions that change the answer. `a` is the condition's array
(float32; 2-D rows of 1024 floats unless the path says `# a 1-D`)."""

from __future__ import annotations

import pickle

import numpy as np

from .registry import Rows, hold, mod

ROWS = Rows()  # this module's rows, merged into the catalog
register = ROWS.register

ONE_D = "  # a 1-D"


def _torch():
    return mod("torch")


def _tf():
    return mod("tensorflow")


def _jax():
    return mod("jax")


def _jnp():
    return mod("jax.numpy")


# ---- Python: memoryview, bytes, pickle ---------------------------------------------------------
register("memoryview(a)[::2]" + ONE_D, "contiguous", "python", lambda a: memoryview(a)[::2],
         ndim=1, claim="Yes (000 table: memoryview(arr)[slice])")
register("memoryview(a)[r0:r1]", "contiguous", "python", lambda a: memoryview(a)[8:-8],
         claim="Yes (000 table: memoryview(arr)[slice])")
register("memoryview(a)[r0:r1, c0:c1]", "contiguous", "python",
         lambda a: memoryview(a)[8:-8, 256:768],
         claim="Yes (000: crop = mv[200:800, 300:700]; 001/003: mv[:, 128:384, 128:384, :])")
register("memoryview(a)", "sliced", "python", lambda a: memoryview(a))
register("memoryview(a).tobytes()", "contiguous", "python", lambda a: memoryview(a).tobytes(),
         claim="Yes (000: crop.tobytes() 'but no new array allocation')")
register("a.tobytes()[i:j]", "contiguous", "python", lambda a: a.tobytes()[4096:-4096],
         claim="No (000 table: arr.tobytes()[slice])")
register("pickle.loads(pickle.dumps(a))", "shared-memory", "python",
         lambda a: pickle.loads(pickle.dumps(a, protocol=pickle.HIGHEST_PROTOCOL)),
         note="what multiprocessing does to an ndarray argument, even one over shared memory")

# ---- NumPy -------------------------------------------------------------------------------------
register("a[r0:r1]", "contiguous", "numpy", lambda a: a[8:-8],
         claim="Yes (000 table: arr[slice])")
register("a[:, c0:c1]", "contiguous", "numpy", lambda a: a[:, 256:768],
         claim="Yes (000 table: arr[slice])")
register("a.copy()", "contiguous", "numpy", lambda a: a.copy(),
         claim="No (000 table: arr.copy()[slice])")
register("np.ascontiguousarray(a)", "contiguous", "numpy", np.ascontiguousarray)
register("np.ascontiguousarray(a)", "sliced", "numpy", np.ascontiguousarray,
         claim="No (003: 'arr = np.ascontiguousarray(arr) if TF copies')")
register("np.asarray(memoryview(a))", "sliced", "numpy", lambda a: np.asarray(memoryview(a)))
register('np.load(path, mmap_mode="r")', "mmap", "numpy",
         lambda p: np.load(p, mmap_mode="r"), prepare=lambda s: s.path)
register("np.load(path)", "mmap", "numpy", np.load, prepare=lambda s: s.path)


# ---- multiprocessing.shared_memory -------------------------------------------------------------
def _attach(arg):
    from multiprocessing import shared_memory

    name, shape, dtype = arg
    shm = hold(shared_memory.SharedMemory(name=name))
    return np.ndarray(shape, dtype, buffer=shm.buf)


class _Segment:
    """A SharedMemory this process created for a row; close() also unlinks it."""

    def __init__(self, nbytes: int):
        from multiprocessing import shared_memory

        self.shm = shared_memory.SharedMemory(create=True, size=nbytes)

    def close(self) -> None:
        self.shm.close()
        self.shm.unlink()


def _create_and_fill(a):
    seg = hold(_Segment(a.nbytes))
    out = np.ndarray(a.shape, a.dtype, buffer=seg.shm.buf)
    out[:] = a
    return out


register("np.ndarray(shape, dtype, buffer=SharedMemory(name=name).buf)", "shared-memory",
         "multiprocessing", _attach, prepare=lambda s: (s.name, s.a.shape, s.a.dtype),
         claim="Yes (000 example 2: workers attach without copying)")
register("arr_shared = np.ndarray(..., buffer=SharedMemory(create=True).buf); arr_shared[:] = a",
         "contiguous", "multiprocessing", _create_and_fill,
         note="the seed's way to put an array in shared memory: one full copy")

# ---- PyTorch -----------------------------------------------------------------------------------
_T = ("torch",)
for cond in ("contiguous", "misaligned", "sliced", "negative-strides", "readonly",
             "shared-memory", "mmap"):
    register("torch.from_numpy(a)", cond, "torch", lambda a: _torch().from_numpy(a), requires=_T,
             claim="Yes (001 table)" if cond == "contiguous" else None)
for cond in ("contiguous", "sliced", "negative-strides", "readonly"):
    register("torch.as_tensor(a)", cond, "torch", lambda a: _torch().as_tensor(a), requires=_T,
             claim="Yes (001 table: torch.as_tensor(arr[slice]) 'if slice is view')"
             if cond == "sliced" else None)
register("torch.tensor(a)", "sliced", "torch", lambda a: _torch().tensor(a), requires=_T,
         claim="No (001 table: torch.tensor(arr[slice]))")
for cond in ("contiguous", "sliced", "readonly", "mmap"):
    register("torch.frombuffer(memoryview(a), dtype=torch.float32)", cond, "torch",
             lambda a: _torch().frombuffer(memoryview(a), dtype=_torch().float32), requires=_T,
             claim="Yes (001 table: torch.frombuffer(memoryview(arr)))"
             if cond in ("contiguous", "sliced") else None)
register("torch.frombuffer(memoryview(a)[:, c0:c1], dtype=torch.float32)", "contiguous", "torch",
         lambda a: _torch().frombuffer(memoryview(a)[:, 256:768], dtype=_torch().float32),
         requires=_T, claim="Yes (001: torch.frombuffer(center_crop_view) 'ZERO COPY')")
for cond in ("contiguous", "sliced", "readonly", "negative-strides"):
    register("torch.from_dlpack(a)", cond, "torch", lambda a: _torch().from_dlpack(a), requires=_T)
register("torch.from_numpy(a).permute(1, 0).contiguous()", "contiguous", "torch",
         lambda a: _torch().from_numpy(a).permute(1, 0).contiguous(), requires=_T,
         claim="No (001: 'until .contiguous() forces copy')")

# ---- TensorFlow --------------------------------------------------------------------------------
_F = ("tensorflow",)
for cond in ("contiguous", "misaligned", "sliced", "negative-strides", "readonly",
             "shared-memory", "mmap"):
    register("tf.convert_to_tensor(a)", cond, "tensorflow",
             lambda a: _tf().convert_to_tensor(a), requires=_F,
             claim={"contiguous": "Yes (003 table: 'if contiguous'; TL;DR: 'when contiguous & "
                                  "aligned')",
                    "shared-memory": "Yes (003: contiguous and page aligned)"}.get(cond))
for cond in ("contiguous", "sliced"):
    register("tf.constant(a)", cond, "tensorflow", lambda a: _tf().constant(a), requires=_F,
             claim="Yes (003 table: tf.constant(np_array[slice]) 'if view')" if cond == "sliced"
             else "Yes (003 TL;DR: 'shares memory when contiguous & aligned')")
register("tf.convert_to_tensor(memoryview(a)[i:j])" + ONE_D, "contiguous", "tensorflow",
         lambda a: _tf().convert_to_tensor(memoryview(a)[1024:-1024]), ndim=1, requires=_F,
         claim="Yes (003 table: tf.convert_to_tensor(memoryview_slice))")
register("tf.convert_to_tensor(memoryview(a))", "contiguous", "tensorflow",
         lambda a: _tf().convert_to_tensor(memoryview(a)), requires=_F,
         claim="Yes (003: tf.convert_to_tensor(crop_view) 'ZERO COPY')")
for cond in ("contiguous", "misaligned", "sliced"):
    register("tf.experimental.dlpack.from_dlpack(a.__dlpack__())", cond, "tensorflow",
             lambda a: _tf().experimental.dlpack.from_dlpack(a.__dlpack__()), requires=_F)
register("tf.tensor(a)", "contiguous", "tensorflow", lambda a: _tf().tensor(a), requires=_F,
         claim="No (003 table: tf.tensor(np_array[slice]))")

# ---- JAX ---------------------------------------------------------------------------------------
_J = ("jax",)
for cond in ("contiguous", "misaligned", "sliced", "readonly"):
    register("jnp.asarray(a)", cond, "jax", lambda a: _jnp().asarray(a), requires=_J)
for cond in ("contiguous", "misaligned", "readonly"):
    register("jax.device_put(a)", cond, "jax", lambda a: _jax().device_put(a), requires=_J)
for cond in ("contiguous", "misaligned", "sliced", "readonly"):
    register("jax.dlpack.from_dlpack(a)", cond, "jax",
             lambda a: mod("jax.dlpack").from_dlpack(a), requires=_J)
register("jnp.array(a)", "contiguous", "jax", lambda a: _jnp().array(a), requires=_J)
