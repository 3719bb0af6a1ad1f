"""The seed examples, done with nocopy: every step is run and measured (data pointers), and the
demo prints whether it shared memory, copied, or raised.

Run: make demo   (or: python examples/demo.py)
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

import nocopy as nc  # noqa: E402

rows: list[tuple[str, str]] = []


def attempt(call: str, fn, source, note=lambda result: ""):
    """Runs fn(); records SHARED / COPIED (measured against `source`) or RAISES."""
    try:
        result = fn()
    except Exception as exc:  # noqa: BLE001 - the demo reports every failure
        outcome, detail, result = "RAISES", f"{type(exc).__name__}: {str(exc).splitlines()[0][:70]}", None
    else:
        outcome = "SHARED" if nc.shares_memory(result, source) else "COPIED"
        detail = note(result)
    rows.append((call, outcome))
    print(f"  {outcome:7} {call}" + (f"  -- {detail}" if detail else ""))
    return result


def memoryview_crops() -> None:
    print("\n[seed 000] crops of a (1000, 1000) image and of a (32, 512, 512, 3) batch")
    arr = np.random.default_rng(0).integers(0, 256, (1000, 1000), dtype=np.uint8)
    attempt("memoryview(arr)[200:800, 300:700]", lambda: memoryview(arr)[200:800, 300:700], arr)
    attempt("nc.view(arr)[200:800, 300:700]", lambda: nc.view(arr)[200:800, 300:700], arr,
            lambda v: f"shape {v.shape}, strides {v.strides}")
    attempt("memoryview(arr).tobytes()", lambda: memoryview(arr).tobytes(), arr)
    images = np.random.default_rng(1).integers(0, 256, (32, 512, 512, 3), dtype=np.uint8)
    attempt("memoryview(images)[:, 128:384, 128:384, :]",
            lambda: memoryview(images)[:, 128:384, 128:384, :], images)
    attempt("nc.center_crop(images, 256)", lambda: nc.center_crop(images, 256), images,
            lambda v: f"shape {v.shape}")


def numpy_to_torch() -> None:
    print("\n[seed 001] a NumPy batch to PyTorch NCHW")
    try:
        import torch
    except ImportError:
        print("  (torch not installed: skipped)")
        return
    images = np.random.default_rng(2).integers(0, 256, (32, 512, 512, 3), dtype=np.uint8)
    attempt("torch.frombuffer(memoryview(images), dtype=torch.uint8)",
            lambda: torch.frombuffer(memoryview(images), dtype=torch.uint8), images,
            lambda t: f"shape {tuple(t.shape)}: flat, the N-d shape is lost")
    attempt("torch.frombuffer(nc.center_crop(images, 256), dtype=torch.uint8)",
            lambda: torch.frombuffer(nc.center_crop(images, 256), dtype=torch.uint8), images)
    t = attempt("nc.center_crop(images, 256).permute(0, 3, 1, 2).to_torch()",
                lambda: nc.center_crop(images, 256).permute(0, 3, 1, 2).to_torch(), images,
                lambda t: f"torch {tuple(t.shape)}, strides {t.stride()}")
    attempt("tensor.contiguous()", lambda: t.contiguous(), images)
    attempt("torch.as_tensor(images[:, 128:384])", lambda: torch.as_tensor(images[:, 128:384]), images)
    attempt("torch.tensor(images[:, 128:384])", lambda: torch.tensor(images[:, 128:384]), images)
    ro = np.arange(10.0)
    ro.flags.writeable = False
    attempt("nc.view(read_only_array).to_torch()", lambda: nc.view(ro).to_torch(), ro)
    attempt("nc.view(images).flip(2).to_torch()", lambda: nc.view(images).flip(2).to_torch(), images)
    attempt("nc.view(images).flip(2).to_torch(copy=True)",
            lambda: nc.view(images[:2]).flip(2).to_torch(copy=True), images)


def numpy_to_tensorflow_and_jax() -> None:
    print("\n[seed 003] a NumPy batch to TensorFlow and JAX")
    batch = np.random.default_rng(3).integers(0, 256, (32, 256, 256, 3), dtype=np.uint8)
    try:
        import tensorflow as tf

        attempt("tf.convert_to_tensor(memoryview(batch))",
                lambda: tf.convert_to_tensor(memoryview(batch)), batch)
        attempt("tf.convert_to_tensor(batch)", lambda: tf.convert_to_tensor(batch), batch)
        attempt("tf.constant(batch[:, 64:192])", lambda: tf.constant(batch[:, 64:192]), batch)
        attempt("tf.tensor(batch)", lambda: tf.tensor(batch), batch)
        attempt("nc.view(batch).to_tf()", lambda: nc.view(batch).to_tf(), batch)
        attempt("nc.view(batch)[:, 64:192].to_tf()", lambda: nc.view(batch)[:, 64:192].to_tf(), batch)
    except ImportError:
        print("  (tensorflow not installed: skipped)")
    try:
        import jax.numpy as jnp

        attempt("jnp.asarray(batch)", lambda: jnp.asarray(batch), batch)
        attempt("nc.view(batch).to_jax()", lambda: nc.view(batch).to_jax(), batch)
    except ImportError:
        print("  (jax not installed: skipped)")


def main() -> None:
    print(f"nocopy {nc.__version__}: the seed examples, measured by data pointers")
    memoryview_crops()
    numpy_to_torch()
    numpy_to_tensorflow_and_jax()
    counts = {k: sum(r[1] == k for r in rows) for k in ("SHARED", "COPIED", "RAISES")}
    print(f"\n{len(rows)} steps: {counts['SHARED']} shared, {counts['COPIED']} copied, "
          f"{counts['RAISES']} raised (refusals with copy=False are nocopy keeping its promise)")


if __name__ == "__main__":
    main()
