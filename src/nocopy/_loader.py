"""nocopy.Loader: training batches with crop / mirror / normalize fused into one C++ pass.

The C++ core (``_Loader``) validates every option (LoaderOptions, in C++), plans every batch
from (seed, epoch, batch index), fills pooled 64-byte aligned buffers on worker threads without
the GIL, and hands them out in order. This module turns the framework objects it is given into
views and exports each batch zero-copy to the chosen framework: the exported tensor owns the
batch buffer, so a batch you keep is never overwritten.
"""

from __future__ import annotations

import os
from typing import Any, Iterator, NamedTuple

import numpy as np

from ._views import view
from ._batch_output import batch_converter
from ._batch_allocator import batch_allocator
from ._worker_lifetime import WorkerLifetime
from ._dtypes import dtype_name
from ._nocopy import _Loader
from ._resume import resume_position



class BatchPlan(NamedTuple):
    """What batch i holds: dataset ``indices`` and, per sample, the window origin ``top``/
    ``left`` in the source image, whether it is mirrored (``mirror``, bool), and the window size
    ``height``/``width`` (the crop; random_resized's drawn window; resize_center's whole image)."""

    indices: np.ndarray
    top: np.ndarray
    left: np.ndarray
    mirror: np.ndarray
    height: np.ndarray
    width: np.ndarray


class Loader(WorkerLifetime):
    """Batches of (images, labels) from an (N, H, W, C) array, augmented in one fused pass.

    >>> import numpy as np, nocopy as nc
    >>> images = np.zeros((100, 64, 64, 3), np.uint8)
    >>> loader = nc.Loader(images, np.arange(100), batch_size=10, crop=32, output="numpy")
    >>> x, y = next(iter(loader)); x.shape, x.dtype, y.shape
    ((10, 3, 32, 32), dtype('float32'), (10,))

    Each sample: crop window (``crop_mode`` random / center / none), optional horizontal mirror
    (probability ``mirror``), ``(x * scale - mean[c]) / std[c]`` (mean/std per channel in
    scaled units, like torchvision Normalize after ToTensor), ``layout`` CHW or HWC, ``dtype``
    float32 / float16 / bfloat16 / uint8. ``scale`` defaults to 1/255 for float outputs; uint8
    output copies the source bytes unchanged (uint8 images, no mean/std, scale unset or 1).

    ``images`` may also be an ``nc.ImageSet`` of different-size images (its labels are the
    default ``labels``), raw or JPEG (``pack_images(..., format="jpeg")``: the workers decode
    only each window's rows and iMCU columns). ``decode_scale`` says whether a JPEG window may
    be decoded DCT-scaled: ``"auto"`` (the default) decodes by 1/2, 1/4 or 1/8 when the window
    is at least 4, 8 or 16 times its resized size on both axes and the interpolation is
    bilinear (faster; close to, not equal to, the full decode + resize: docs/IMAGES.md states
    the measured error), ``"exact"`` never does (the same bytes as a raw ImageSet of the
    decoded pixels); with raw images it is accepted and changes nothing. The resizing modes
    work on both: ``crop_mode="random_resized"``
    (torchvision's RandomResizedCrop: area fraction uniform in ``area``, default (0.08, 1.0),
    aspect ratio log-uniform in ``ratio``, default (3/4, 4/3), the window resized to ``crop``)
    and ``"resize_center"`` (the shorter side resized to ``resize``, default 8/7 of the crop,
    then a center crop; ``area``, ``ratio`` and ``resize`` given with a mode that does not use
    them are a ValueError rather than silently ignored), resampled
    with ``interpolation`` "bilinear" (antialiased when shrinking, like torchvision v2) or
    "nearest", in the same single pass. The plain modes on an ImageSet need every image at least
    as large as the crop.

    Iterating yields the batches from the current position to the end of the epoch; a complete
    pass moves to the next epoch (``set_epoch`` sets it, as with DistributedSampler).
    Randomness is keyed by (seed, epoch, position): the same seed gives the same bytes whatever
    ``num_threads`` is. ``rank``/``world_size`` shard like DistributedSampler (equal batch
    counts, padding by wrap-around; ``drop_last`` trims instead and drops a partial batch).

    A sample that cannot be produced (a corrupt JPEG) is, with ``on_error="raise"`` (the
    default), an ``nc.LoaderError`` whose ``.sample``, ``.batch`` and ``.epoch`` name it (the
    position stays at that batch). With ``on_error="skip"`` its slot holds a copy of the image
    and label of the next sample of the same batch, in plan order and wrapping around, that
    decoded: batches keep their size and every label matches its image, and the result is
    deterministic (batch i is ``plan(i)`` with each failed slot taking its substitute's image).
    ``num_skipped`` counts the substituted slots, ``skipped_samples`` lists the failing dataset
    indices; a batch whose every sample fails still raises.

    Batch buffers come from 64-byte aligned heap memory, or from ``allocator(nbytes)`` (a
    writable, 64-byte aligned buffer of at least nbytes that nc.view accepts; the loader keeps
    and reuses each one and writes batches straight into it), or with ``pin_memory=True`` from
    torch's pinned host memory (needs CUDA; RuntimeError otherwise). See nocopy._batch_allocator.
    """

    def __init__(self, images, labels=None, batch_size: int = 32, crop=(256, 256),
                 crop_mode: str = "random", mirror: float = 0.5, mean=None, std=None,
                 area=None, ratio=None, resize: int | None = None,
                 interpolation: str = "bilinear",
                 scale: float | None = None, layout: str = "CHW", dtype: str = "float32",
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False,
                 num_threads: int | None = None, prefetch: int = 2, rank: int = 0,
                 world_size: int = 1, output: str = "torch",
                 allocator=None, pin_memory: bool = False, on_error: str = "raise",
                 decode_scale: str = "auto"):
        # The options are checked once, by the C++ core (LoaderOptions); here only the framework
        # objects become views and the output adapter is chosen.
        self._convert = batch_converter(output)  # checks the name and the framework
        self._output = output
        self._convert_labels = _label_converter(self._convert, output)
        self._dtype = dtype if isinstance(dtype, str) else dtype_name(dtype)
        if output == "numpy" and self._dtype == "bfloat16":
            try:
                import ml_dtypes  # noqa: F401
            except ImportError as exc:
                raise ValueError("NumPy has no bfloat16 without the ml_dtypes package; use "
                                 "output='torch', 'jax', 'tf' or 'view'") from exc
        image_set = getattr(images, "__nocopy_image_set__", None)
        if image_set is not None:
            self._images = image_set()  # the C++ index; the set's pixels stay where they are
            if labels is None and images.labels is not None:
                labels = images.labels
        else:
            self._images = view(images)
        self._labels = None
        if labels is not None:
            if isinstance(labels, (list, tuple)):
                labels = np.asarray(labels)  # a Python list has no buffer: converted once
            self._labels = view(labels)
        allocator = batch_allocator(allocator, pin_memory, owner=self)
        self._pid = os.getpid()
        self._core = _Loader(self._images, self._labels, batch_size=batch_size, crop=crop,
                             crop_mode=crop_mode, area=area, ratio=ratio, resize=resize,
                             interpolation=interpolation, mirror=mirror, mean=mean, std=std,
                             scale=scale,
                             layout=layout, dtype=self._dtype, shuffle=shuffle, seed=seed,
                             drop_last=drop_last, num_threads=num_threads, prefetch=prefetch,
                             rank=rank, world_size=world_size, allocator=allocator,
                             on_error=on_error, decode_scale=decode_scale)
        self._sample_shape = self._core.sample_shape

    # --- iteration ------------------------------------------------------------------------
    def __len__(self) -> int:
        """Batches per whole epoch on this rank (an epoch resumed from another world size has
        fewer: the rest of it)."""
        return len(self._live())

    def __iter__(self) -> Iterator[Any]:
        """Yields the remaining batches of the current epoch: (images, labels), or images alone
        when the loader has no labels."""
        # The core is looked up per batch, never held here: close() then really frees it
        # (stopping and joining the workers) even while an iterator is alive.
        for _ in range(self._remaining()):
            images, labels, _epoch, _index = self._live().next()
            if self._labels is None:
                yield self._convert(images)
            else:
                yield self._convert(images), self._convert_labels(labels)

    def _remaining(self) -> int:
        """Batches from the position to the end of its epoch (a whole epoch after an epoch's
        last batch: the position is then the next epoch's start)."""
        return self._live().state_epoch_batches - self._live().state()[1]

    def next_batch(self):
        """The next batch of the stream (crossing into the next epoch after the last one)."""
        images, labels, _e, _i = self._live().next()
        if self._labels is None:
            return self._convert(images)
        return self._convert(images), self._convert_labels(labels)

    @property
    def num_skipped(self) -> int:
        """Samples replaced by a substitute (``on_error="skip"``) in the batches delivered."""
        return self._live().num_skipped

    @property
    def skipped_samples(self) -> list[int]:
        """The distinct dataset indices of the skipped samples so far, ascending."""
        return self._live().skipped_samples

    # --- position -------------------------------------------------------------------------
    @property
    def epoch(self) -> int:
        """The epoch the next batch belongs to."""
        return self._live().state()[0]

    def set_epoch(self, epoch: int) -> None:
        """Starts epoch `epoch` (its own shuffle and crops) at batch 0."""
        self._live().load_state(epoch, 0)

    def state_dict(self) -> dict:
        """Position and configuration, for resuming with load_state_dict (plain ints/bools).

        ``epoch`` and ``batch`` say which batch comes next; ``start`` is the global position
        where that epoch's batch 0 began (0 unless it was resumed from another world size) and
        ``position`` the global position of the next batch: all ranks together have consumed the
        samples at positions ``[0, position)`` of the epoch's order. Every rank of a job holds
        the same epoch and position (ranks advance in lockstep)."""
        core = self._live()
        epoch, batch, start = core.state()
        return {"epoch": epoch, "batch": batch, "start": start,
                "position": core.global_position, **core.resume_key}

    def load_state_dict(self, state: dict) -> None:
        """Continues from a state_dict().

        With the same world_size and batch_size (and rank) as the saved loader, the following
        batches are byte-identical to those it would have produced. With another world_size or
        batch_size (elastic resume) the epoch continues from the saved global ``position``: the
        ranks of this job together deliver exactly the samples at positions ``[position, N)`` of
        the epoch's order, each with the crop and mirror it had, sharded (padded by wrap-around,
        or trimmed with drop_last) like a whole epoch; any one rank's saved state serves every
        new rank. seed, num_samples, shuffle and drop_last must match in both cases."""
        core = self._live()
        core.load_state(*resume_position(state, core.resume_key, "Loader"))

    def plan(self, i: int, epoch: int | None = None) -> BatchPlan:
        """What batch `i` of `epoch` holds, as NumPy arrays (to recompute it). The default epoch
        is the current one: the epoch of the batch last delivered, until the next batch is asked
        for (so ``for i, b in enumerate(loader): loader.plan(i)`` describes ``b``)."""
        idx, top, left, mirror, height, width = self._live().plan(i, epoch)
        return BatchPlan(np.asarray(idx, np.int64), np.asarray(top, np.int64),
                         np.asarray(left, np.int64), np.asarray(mirror, bool),
                         np.asarray(height, np.int64), np.asarray(width, np.int64))


    # --- adapters -------------------------------------------------------------------------
    def as_tf_dataset(self):
        """A tf.data.Dataset over this loader: each iteration of it yields the rest of the current
        epoch and moves on to the next (so Keras ``fit(ds, epochs=k)`` sees k epochs).
        tf.data's generator bridge copies each batch once into its own tensors; iterate the
        loader with output='tf' for zero-copy tensors."""
        import tensorflow as tf

        images_spec, labels_spec = self._tf_specs(tf)
        sig = images_spec if labels_spec is None else (images_spec, labels_spec)
        to_np = batch_converter("numpy")

        def generate():
            for _ in range(self._remaining()):
                images, labels, _e, _i = self._live().next()
                if labels_spec is None:
                    yield to_np(images)
                else:
                    yield to_np(images), to_np(labels)

        ds = tf.data.Dataset.from_generator(generate, output_signature=sig)
        if self._live().state()[1:] == (0, 0):  # a whole epoch: tell tf.data (and Keras)
            ds = ds.apply(tf.data.experimental.assert_cardinality(len(self)))
        return ds

    def _tf_specs(self, tf):
        images = tf.TensorSpec(shape=(None, *self._sample_shape), dtype=getattr(tf, self._dtype))
        if self._labels is None:
            return images, None
        labels = tf.TensorSpec(shape=(None, *self._labels.shape[1:]),
                               dtype=tf.as_dtype(np.dtype(self._labels.dtype)))
        return images, labels

    def __repr__(self) -> str:
        state = "closed" if self._core is None else f"epoch={self.epoch}, batches={len(self)}"
        images = getattr(self._images, "shape", None) or f"ImageSet of {len(self._images)}"
        return f"nocopy.Loader(images={images}, output={self._output!r}, {state})"




def _label_converter(convert, output: str):
    """Labels are shared when the framework can hold them as they are, and converted otherwise
    (JAX without jax_enable_x64 stores int64 labels as int32): they are a small per-batch
    gather, already a copy of the source labels."""

    def run(v):
        try:
            return convert(v)
        except BufferError:
            if output == "jax":
                import jax.numpy as jnp

                return jnp.asarray(np.asarray(v))
            return convert(v, copy=True)

    return run
