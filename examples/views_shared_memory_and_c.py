"""Image crop, batch crop, shared memory between processes, C interop (seed 000, with nocopy).

The seed's recipes (memoryview(arr)[200:800, 300:700], multiprocessing.shared_memory +
np.ndarray, ctypes on raw buffers) rewritten with nocopy. Every step is measured: the script
prints SHARED when the result uses the source's memory, COPIED when it does not.

Run: python examples/views_shared_memory_and_c.py [--small]
"""

from __future__ import annotations

import argparse
import ctypes
import multiprocessing as mp

import numpy as np

import nocopy as nc


def report(what: str, result, source) -> None:
    """Prints whether `result` shares memory with `source` (measured, not assumed)."""
    verdict = "SHARED" if nc.shares_memory(result, source) else "COPIED"
    print(f"  {verdict:6}  {what}")


def image_crop(size: int) -> None:
    print(f"\n1. crop of a ({size}, {size}) grayscale image")
    arr = np.random.default_rng(0).integers(0, 256, (size, size), dtype=np.uint8)
    r0, r1, c0, c1 = size // 5, size * 4 // 5, size * 3 // 10, size * 7 // 10
    try:
        memoryview(arr)[r0:r1, c0:c1]
    except NotImplementedError as exc:
        print(f"  RAISES  memoryview(arr)[{r0}:{r1}, {c0}:{c1}]  (the seed's recipe: {exc})")
    crop = nc.view(arr)[r0:r1, c0:c1]
    report(f"nc.view(arr)[{r0}:{r1}, {c0}:{c1}] -> shape {crop.shape}, strides {crop.strides}",
           crop, arr)
    assert np.array_equal(np.asarray(crop), arr[r0:r1, c0:c1])
    report("np.asarray(crop) (NumPy array over the same bytes)", np.asarray(crop), arr)
    report("crop.copy() (the explicit copy, when you want one)", crop.copy(), arr)


def batch_crop(n: int, size: int) -> None:
    print(f"\n2. center crop of a ({n}, {size}, {size}, 3) batch")
    images = np.random.default_rng(1).integers(0, 256, (n, size, size, 3), dtype=np.uint8)
    crops = nc.center_crop(images, size // 2)
    report(f"nc.center_crop(images, {size // 2}) -> {crops.shape}", crops, images)
    nchw = crops.permute(0, 3, 1, 2)
    report(f"crops.permute(0, 3, 1, 2) -> {nchw.shape} (NCHW, still a view)", nchw, images)
    off = size // 4
    assert np.array_equal(np.asarray(nchw), images[:, off:off + size // 2,
                                                   off:off + size // 2].transpose(0, 3, 1, 2))


def _double_every_other(half) -> None:
    """Runs in a child process: `half` arrived pickled by reference and is attached there."""
    arr = np.asarray(half)          # NumPy array over the shared memory, no copy
    arr *= 2


def shared_memory(n: int) -> None:
    print(f"\n3. shared memory: a child process doubles every other element of {n:,} float32")
    if not hasattr(nc, "SharedArray"):
        print("  (this nocopy build has no nc.SharedArray: skipped)")
        return
    ctx = mp.get_context("spawn")   # the strictest start method: nothing is inherited
    with nc.SharedArray.create((n,), "float32") as sa:
        data = np.asarray(sa)
        data[:] = np.arange(n, dtype=np.float32)
        report(f"nc.SharedArray.create(({n},), 'float32') as NumPy", data, sa)
        half = sa.view[::2]
        import pickle
        print(f"  pickled view of {half.nbytes:,} bytes: {len(pickle.dumps(half))} bytes "
              "(a reference: name + geometry, never the data)")
        child = ctx.Process(target=_double_every_other, args=(half,))
        child.start()
        child.join()
        assert child.exitcode == 0, child.exitcode
        expect = np.arange(n, dtype=np.float32)
        expect[::2] *= 2
        assert np.array_equal(data, expect)
        print("  SHARED  the child's writes are visible in the parent (checked every element)")


def c_interop(size: int) -> None:
    print("\n4. C interop: C code writes into a cropped view in place")
    img = np.zeros((size, size), dtype=np.uint8)
    row = nc.view(img)[size // 2, 10:-10]                 # one row, contiguous
    libc = ctypes.CDLL(None)
    libc.memset.argtypes = (ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t)
    libc.memset(row.data_ptr, 255, row.nbytes)            # a C function gets the raw pointer
    assert img[size // 2, 10:-10].min() == 255 and img.sum() == 255 * row.size
    print(f"  SHARED  libc memset(row.data_ptr, 255, {row.nbytes}) wrote into the NumPy image")
    as_ctypes = (ctypes.c_uint8 * row.size).from_buffer(row)  # buffer protocol -> ctypes array
    report("(ctypes.c_uint8 * n).from_buffer(row)", np.ctypeslib.as_array(as_ctypes), img)
    try:
        import inplace_ext  # examples/cpp/extension, built by `make cpp-examples`
    except ImportError:
        print("  (the C++ extension example is not built: make cpp-examples builds it)")
        return
    f = np.ones((size, size), dtype=np.float32)
    window = nc.view(f)[::2, 5:-5]                        # strided: C++ walks the strides
    inplace_ext.scale(window, 3.0)
    assert f[::2, 5:-5].min() == 3 and f[1::2].max() == 1
    print("  SHARED  inplace_ext.scale(nc.view(f)[::2, 5:-5], 3.0) scaled the NumPy array in place")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="tiny sizes (a smoke test)")
    args = parser.parse_args()
    image, n, size, elements = (100, 4, 64, 10_000) if args.small else (1000, 32, 512, 10_000_000)
    image_crop(image)
    batch_crop(n, size)
    shared_memory(elements)
    c_interop(image)
    print("\ndone: every step above was measured by data pointers (nc.shares_memory)")


if __name__ == "__main__":
    main()
