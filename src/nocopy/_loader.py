"""nocopy.Loader: training batches with crop / mirror / normalize fused into one C++ pass.

The C++ core (``_Loader``: the batch engine running the image producer) validates every option
(declared once, in C++), plans every batch from (seed, epoch, batch index), fills pooled 64-byte
aligned buffers on worker threads without the GIL, and hands them out in order. This module
turns the framework objects it is given into views; BatchLoader (``_batch_loader.py``) does the
rest: iteration, epochs, resume, statistics and the zero-copy hand-off to the chosen framework
(the exported tensor owns the batch buffer, so a batch you keep is never overwritten).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._batch_loader import BatchLoader, block_shuffle, options_doc
from ._dtypes import dtype_name
from ._nocopy import _ImageSet as _ImageSetIndex
from ._nocopy import _ShardedImages
from ._nocopy import _Loader
from ._video_loader import VideoLoader
from ._video_set import VideoSet
from ._views import view
from .transforms import _plan as _transform_plan
from .transforms import _close_at_exit
from .transforms import batch_spec_of as _batch_spec
from .transforms import is_batch_mix as _is_batch_mix
from .transforms import steps_of as _transform_steps


class BatchPlan(NamedTuple):
    """What batch i holds: dataset ``indices`` and, per sample, the window origin ``top``/
    ``left`` in the source image, whether it is mirrored (``mirror``, bool), and the window size
    ``height``/``width`` (the crop; random_resized's drawn window; resize_center's whole image);
    with an nc.Mixture, ``dataset`` says which dataset each sample came from."""

    indices: np.ndarray
    top: np.ndarray
    left: np.ndarray
    mirror: np.ndarray
    height: np.ndarray
    width: np.ndarray
    #: With an nc.Mixture: the dataset of each sample (``indices`` are then its index there).
    dataset: np.ndarray | None = None


class Loader(BatchLoader):
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

    Iterating yields the batches from the current position to the end of the epoch (the epoch
    rule: see nocopy._batch_loader); ``set_epoch`` sets the epoch, as with DistributedSampler.
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

    ``transforms`` takes a ``nocopy.transforms`` pipeline (torchvision v2's classes: a Compose,
    a list, or a torchvision Compose, converted by ``transforms.from_torchvision``) in place of
    the shorthand options crop, crop_mode, area, ratio, resize, interpolation, mirror, mean,
    std, scale and dtype (giving one of them with transforms is a ValueError): samples keep
    their size unless a transform changes it, the output dtype is ToDtype's (uint8 without
    one), and a pipeline whose output size differs between images is a ValueError. See
    docs/AUGMENT.md. ``batch_transforms`` takes ``transforms.MixUp`` or ``CutMix`` (or a
    RandomChoice of them, or torchvision's), run in C++ on each complete batch: labels must be
    class indices and become float32 (num_classes) soft labels. Any other callable runs on each
    exported batch in the consumer's thread (``fn(batch)`` returns the batch handed out).

    Batch buffers come from 64-byte aligned heap memory, or from ``allocator(nbytes)`` (a
    writable, 64-byte aligned buffer of at least nbytes that nc.view accepts; the loader keeps
    and reuses each one and writes batches straight into it), or with ``pin_memory=True`` from
    torch's pinned host memory (needs CUDA; RuntimeError otherwise). See nocopy._batch_allocator.
    """

    def __new__(cls, images=None, *args, **kwargs):
        # A VideoSet makes the video loader (nc.VideoLoader, its own options).
        if cls is Loader and (isinstance(images, VideoSet)
                              or hasattr(images, "__nocopy_video_sources__")):
            return VideoLoader(images, *args, **kwargs)
        if getattr(images, "kind", None) == "sequence" and hasattr(images, "__nocopy_mixture__"):
            raise TypeError("a Mixture of token / series datasets is read by nc.SequenceLoader("
                            "mix, seq_len, ...), not nc.Loader")
        return super().__new__(cls)

    def __init__(self, images, labels=None, batch_size: int = 32, crop=(256, 256),
                 crop_mode: str = "random", mirror: float = 0.5, mean=None, std=None,
                 area=None, ratio=None, resize: int | None = None,
                 interpolation: str = "bilinear",
                 scale: float | None = None, layout: str = "CHW", dtype: str = "float32",
                 shuffle: bool | str = True, seed: int = 0, drop_last: bool = False,
                 num_threads: int | None = None, prefetch: int = 2, rank: int = 0,
                 world_size: int = 1, output: str = "torch",
                 allocator=None, pin_memory: bool = False, on_error: str = "raise",
                 decode_scale: str = "auto", fetch_ahead: int = 4, block_shards: int = 0,
                 transforms=None, batch_transforms=None):
        # The options are checked once, by the C++ core; here only the framework objects become
        # views and the output adapter is chosen.
        allocator = self._setup(output, allocator, pin_memory)
        shuffle, block_shards = block_shuffle(shuffle, block_shards)
        self._dtype = dtype if isinstance(dtype, str) else dtype_name(dtype)
        if output == "numpy" and self._dtype == "bfloat16":
            try:
                import ml_dtypes  # noqa: F401
            except ImportError as exc:
                raise ValueError("NumPy has no bfloat16 without the ml_dtypes package; use "
                                 "output='torch', 'jax', 'tf' or 'view'") from exc
        image_set = getattr(images, "__nocopy_image_set__", None)
        sources = getattr(images, "__nocopy_image_sources__", None)
        mixture = getattr(images, "__nocopy_mixture__", None)
        self._mixture = images if mixture is not None else None
        if sources is not None:  # shards or a Mixture's datasets, read as one in C++
            self._images = [s if isinstance(s, (_ImageSetIndex, _ShardedImages)) else view(s)
                            for s in sources()]
            if labels is None and images.labels is not None:
                labels = images.labels
        elif image_set is not None:
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
        extra = {}
        self._transforms = transforms
        # Workers that call Python (a Lambda, a remote dataset's shard opener) wait for the GIL:
        # they are joined with it released (close, collection, exit).
        self._python_steps = isinstance(self._images, list) and any(
            isinstance(s, _ShardedImages) for s in self._images)
        if transforms is not None:
            extra["transforms"] = _transform_steps(transforms)
            self._python_steps = self._python_steps or any(
                name == "Lambda" for name, _args in extra["transforms"])
        if self._python_steps:
            _close_at_exit(self)
        if mixture is not None:
            extra["mixture"] = mixture()
        self._batch_names = None
        if callable(batch_transforms) and not _is_batch_mix(batch_transforms):
            # Any other callable runs on each exported batch, in Python, in this thread.
            self._batch_function = batch_transforms
        elif batch_transforms is not None:
            spec = _batch_spec(batch_transforms)
            self._batch_names = [name for name, _alpha, _w in spec[1]]
            extra["batch_transforms"] = spec
        self._core = _Loader(self._images, self._labels, batch_size=batch_size, crop=crop,
                             crop_mode=crop_mode, area=area, ratio=ratio, resize=resize,
                             interpolation=interpolation, mirror=mirror, mean=mean, std=std,
                             scale=scale,
                             layout=layout, dtype=self._dtype, shuffle=shuffle, seed=seed,
                             drop_last=drop_last, num_threads=num_threads, prefetch=prefetch,
                             rank=rank, world_size=world_size, allocator=allocator,
                             on_error=on_error, decode_scale=decode_scale,
                             fetch_ahead=fetch_ahead, block_shards=block_shards, **extra)

    def plan(self, i: int, epoch: int | None = None):
        """What batch `i` of `epoch` holds, as NumPy arrays (to recompute it): a BatchPlan, or
        with ``transforms=`` a ``nocopy.transforms.TransformPlan`` (indices and every drawn
        parameter). The default epoch is the current one (the epoch rule: ``for i, b in
        enumerate(loader): loader.plan(i)`` describes ``b``)."""
        if self._transforms is not None or self._batch_names is not None:
            indices, steps, batch = self._live().plan_parameters(i, epoch)
            batch = dict(batch)
            if batch:
                batch["transform"] = self._batch_names[int(batch.pop("choice"))]
            plan = _transform_plan(indices, steps, batch)
        else:
            idx, top, left, mirror, height, width = self._live().plan(i, epoch)
            plan = BatchPlan(np.asarray(idx, np.int64), np.asarray(top, np.int64),
                             np.asarray(left, np.int64), np.asarray(mirror, bool),
                             np.asarray(height, np.int64), np.asarray(width, np.int64))
        if self._mixture is None:
            return plan
        dataset, local = self._mixture.locate(plan.indices)
        return plan._replace(indices=local, dataset=dataset)

    def __repr__(self) -> str:
        state = "closed" if self._core is None else f"epoch={self.epoch}, batches={len(self)}"
        if self._mixture is not None:
            images = f"Mixture of {len(self._mixture.datasets)} datasets"
        elif isinstance(self._images, list):
            images = f"{len(self._images)} parts"
        else:
            images = getattr(self._images, "shape", None) or f"ImageSet of {len(self._images)}"
        return f"nocopy.Loader(images={images}, output={self._output!r}, {state})"


Loader.__doc__ += options_doc("Loader")
