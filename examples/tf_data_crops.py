"""A TensorFlow tf.data pipeline of random crops from a uint8 array (seed 003, with nocopy).

The seed calls tf.convert_to_tensor(memoryview(images)[i, h:h+256, w:w+256]), which raises
(N-d memoryview slices are not supported), and claims tf.convert_to_tensor(np_array) shares
memory: measured, it copies. Here the dataset is handed to TensorFlow once, zero-copy
(v.to_tf() checks by data pointer that it really shares), and tf.data crops and converts each
sample inside the graph. When this nocopy build has nc.Loader, the script also runs it.

Run: python examples/tf_data_crops.py [--small]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import nocopy as nc  # noqa: E402


def report(what: str, result, source) -> None:
    verdict = "SHARED" if nc.shares_memory(result, source) else "COPIED"
    print(f"  {verdict:6}  {what}")


def attempt(what: str, fn, source) -> None:
    """Runs fn() and reports SHARED / COPIED (measured against `source`) or what it raised."""
    try:
        result = fn()
    except Exception as exc:  # noqa: BLE001 - the point is to show what each call does
        print(f"  RAISES  {what}: {type(exc).__name__}: {str(exc).splitlines()[0][:90]}")
    else:
        report(what, result, source)


def aligned_images(n: int, size: int) -> np.ndarray:
    """A random uint8 (n, size, size, 3) dataset starting on a 64-byte boundary: TensorFlow's
    kernels abort the process on misaligned data, and NumPy's large arrays usually start 16
    bytes past a boundary (nocopy's own allocations, SharedArray and create_npy are aligned)."""
    shape = (n, size, size, 3)
    nbytes = int(np.prod(shape))
    raw = np.empty(nbytes + 64, np.uint8)
    start = -raw.ctypes.data % 64
    arr = raw[start:start + nbytes].reshape(shape)
    arr[...] = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    return arr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="tiny sizes (a smoke test)")
    args = parser.parse_args()
    n, size, crop, batch = (64, 64, 32, 16) if args.small else (1000, 512, 256, 32)

    print("the seed's recipes, measured:")
    plain = np.random.default_rng(0).integers(0, 256, (n, size, size, 3), dtype=np.uint8)
    attempt("tf.convert_to_tensor(memoryview(images)[i, h:h+c, w:w+c])",
            lambda: tf.convert_to_tensor(memoryview(plain)[0, :crop, :crop], dtype=tf.uint8), plain)
    attempt("tf.convert_to_tensor(memoryview(images))",
            lambda: tf.convert_to_tensor(memoryview(plain)), plain)

    attempt("tf.convert_to_tensor(images)", lambda: tf.convert_to_tensor(plain), plain)
    attempt(f"nc.view(images).to_tf() (NumPy's allocation, {plain.ctypes.data % 64} bytes past "
            "a 64-byte boundary)", lambda: nc.view(plain).to_tf(), plain)

    print("\nthe dataset, handed to TensorFlow once:")
    images = aligned_images(n, size)
    tf_images = nc.view(images).to_tf()    # shares, or raises BufferError saying why not
    report(f"nc.view(images).to_tf() -> {tuple(tf_images.shape)} {tf_images.dtype.name}",
           tf_images, images)
    crop_view = nc.center_crop(images, crop)
    attempt("nc.center_crop(images, c).to_tf()", lambda: crop_view.to_tf(), images)
    attempt("tf.convert_to_tensor(np.asarray(nc.center_crop(images, c)))",
            lambda: tf.convert_to_tensor(np.asarray(crop_view)), images)
    attempt("nc.center_crop(images, c).to_tf(copy=True) (the one explicit copy)",
            lambda: crop_view.to_tf(copy=True), images)

    print("\nbatches (tf.data: crop + /255 inside the graph):")

    def random_crop(i):
        return tf.cast(tf.image.random_crop(tf.gather(tf_images, i), (crop, crop, 3)),
                       tf.float32) / 255.0

    ds = (tf.data.Dataset.range(n).shuffle(n, seed=0).map(random_crop, num_parallel_calls=2)
          .batch(batch).prefetch(tf.data.AUTOTUNE))
    start, seen = time.perf_counter(), 0
    for x in ds:
        seen += int(x.shape[0])
    rate = seen / (time.perf_counter() - start)
    report(f"tf.data batch {tuple(x.shape)} float32 ({rate:,.0f} img/s)", x, images)

    if not hasattr(nc, "Loader"):
        print("\n(this nocopy build has no nc.Loader: skipped the fused loader)")
        return
    print("\nbatches (nc.Loader: crop + /255 + float32 in one C++ pass, output='tf'):")
    loader = nc.Loader(images, batch_size=batch, crop=(crop, crop), mirror=0.0, scale=1 / 255,
                       layout="HWC", dtype="float32", seed=0, output="tf")
    start, seen = time.perf_counter(), 0
    for y in loader:                       # tf.Tensors over the loader's own batch buffers
        seen += int(y.shape[0])
    rate = seen / (time.perf_counter() - start)
    report(f"loader batch {tuple(y.shape)} float32: the one fused copy ({rate:,.0f} img/s)", y,
           images)
    for z in loader.as_tf_dataset().take(1):   # for tf.data users: its bridge copies once more
        report(f"loader.as_tf_dataset() batch {tuple(z.shape)}", z, images)


if __name__ == "__main__":
    main()
