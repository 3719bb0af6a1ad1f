"""nc.Mixture: several image (or video) datasets read as one, each sample drawn from dataset d with
probability proportional to ``weights[d]``, deterministically per (seed, epoch, position).

The order is computed in C++ (``nocopy/pipeline/sampling/mixture_order.hpp``): an epoch has
``num_samples`` slots, dataset d gets exactly ``round(num_samples * w_d / sum(w))`` of them
(largest remainder), their places shuffled per epoch, and dataset d's k-th slot of epoch e is its
``(e * c_d + k)``-th draw overall, walking through fresh permutations of d: over the epochs every
sample of d is drawn equally often, whether d is upsampled or subsampled.
"""

from __future__ import annotations


import numpy as np

from . import _nocopy
from ._views import view

__all__ = ["Mixture"]


def _parts(dataset) -> tuple[str, list]:
    """("image" or "video", the sources a dataset is read from: its shards, its set's index, or
    an array view)."""
    if isinstance(dataset, Mixture):
        raise TypeError("a Mixture cannot hold another Mixture: list its datasets instead")
    videos = getattr(dataset, "__nocopy_video_sources__", None)
    if videos is not None:
        return "video", list(videos())
    handle = getattr(dataset, "_handle", None)
    if isinstance(handle, _nocopy._VideoSet):  # one VideoSet
        return "video", [handle]
    many = getattr(dataset, "__nocopy_image_sources__", None)
    if many is not None:
        return "image", list(many())
    one = getattr(dataset, "__nocopy_image_set__", None)
    if one is not None:
        return "image", [one()]
    return "image", [view(dataset)]


class Mixture:
    """Image datasets (``nc.ImageSet``, sharded or remote sets, or (N, H, W, C) arrays of one
    channel count and dtype) or video datasets (``nc.VideoSet``, sharded or remote) mixed by
    ``weights`` (default: equal), a dataset ``nc.Loader`` (images) and ``nc.VideoLoader``
    (videos) accept.

    >>> mix = nc.Mixture([web_images, curated], weights=[0.8, 0.2])     # doctest: +SKIP
    >>> loader = nc.Loader(mix, batch_size=64, transforms=...)            # doctest: +SKIP

    For videos a sample is a video: every epoch holds ``clips_per_video`` clips of each of its
    ``counts[d]`` video draws of dataset d (``clips_per_epoch = len(mix) * clips_per_video``),
    and ``plan(i).dataset`` says which dataset each clip came from.

    An epoch has ``num_samples`` samples (``len(mix)``); by default enough that the FIRST
    dataset is drawn about once per epoch: ``ceil(len(datasets[0]) * sum(weights) /
    weights[0])``. Every epoch holds exactly ``counts[d]`` samples of dataset d. The loader's
    ``shuffle`` and ``seed`` drive the mixing (``shuffle=False`` interleaves the datasets evenly
    and walks each in order). ``plan(i)`` gives each sample's ``dataset`` and its index in that
    dataset (``indices``); ``locate`` turns the combined indices that ``skipped_samples`` and
    errors report into (dataset, index) pairs. Labels are the datasets' own, concatenated (each
    dataset needs labels, or none has; the loader's ``labels=`` overrides, one row per sample of
    the datasets end to end).

    Resuming: ``state_dict()`` holds the position, not the weights. A loader built with other
    weights (and the same epoch size: give ``num_samples`` so it does not change with them) can
    ``load_state_dict`` it: the epoch in progress continues from the same position in the new
    weights' order (a sample of it may come twice or not at all), and later epochs are exactly
    the new weights' epochs. A different epoch size is refused.
    """

    def __init__(self, datasets, weights=None, num_samples: int | None = None):
        datasets = list(datasets)
        if not datasets:
            raise ValueError("a Mixture needs at least one dataset")
        if weights is None:
            weights = [1.0] * len(datasets)
        weights = [float(w) for w in weights]
        if len(weights) != len(datasets):
            raise ValueError(f"{len(datasets)} datasets need {len(datasets)} weights, "
                             f"got {len(weights)}")
        self.datasets = datasets
        self.weights = weights
        kinds, self._parts = zip(*(_parts(d) for d in datasets))
        if len(set(kinds)) > 1:
            raise TypeError("a Mixture holds image datasets or video datasets, not both")
        #: "image" (read by nc.Loader) or "video" (read by nc.VideoLoader).
        self.kind = kinds[0]
        self.sizes = np.array([len(d) for d in datasets], np.int64)
        if (self.sizes < 1).any():
            raise ValueError(f"dataset {int(np.argmin(self.sizes))} of the mixture is empty")
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes)[:-1]]).astype(np.int64)
        if num_samples is None:
            self.num_samples = _nocopy._mixture_default_size(self.sizes.tolist(), weights)
        else:
            if isinstance(num_samples, bool) or not isinstance(num_samples, (int, np.integer)):
                raise TypeError(f"num_samples must be an integer, not "
                                f"{type(num_samples).__name__}")
            self.num_samples = int(num_samples)
        #: Samples of each dataset in every epoch.
        self.counts = np.asarray(_nocopy._mixture_counts(weights, self.num_samples), np.int64)

    def __len__(self) -> int:
        """Samples per epoch."""
        return self.num_samples

    @property
    def labels(self) -> np.ndarray | None:
        """The datasets' labels end to end, or None when no dataset has labels."""
        labels = [getattr(d, "labels", None) for d in self.datasets]
        if all(lab is None for lab in labels):
            return None
        if any(lab is None for lab in labels):
            missing = [i for i, lab in enumerate(labels) if lab is None]
            raise ValueError(f"datasets {missing} of the mixture have no labels while others "
                             f"do: give the loader labels=")
        return np.concatenate([np.asarray(lab) for lab in labels])

    def locate(self, indices) -> tuple[np.ndarray, np.ndarray]:
        """(dataset, index in it) of combined indices (the datasets end to end)."""
        idx = np.asarray(indices, np.int64)
        total = int(self.sizes.sum())
        if idx.size and (idx.min() < 0 or idx.max() >= total):
            raise IndexError(f"combined index out of range for {total} samples")
        d = np.searchsorted(self.offsets, idx, side="right") - 1
        return d, idx - self.offsets[d]

    @property
    def __nocopy_image_sources__(self):
        if self.kind != "image":
            raise AttributeError("a Mixture of videos has no image sources")
        return lambda: [p for parts in self._parts for p in parts]

    @property
    def __nocopy_video_sources__(self):
        if self.kind != "video":
            raise AttributeError("a Mixture of images has no video sources")
        return lambda: [p for parts in self._parts for p in parts]

    def __nocopy_mixture__(self) -> tuple:
        return (self.sizes.tolist(), self.weights, self.num_samples)

    def __repr__(self) -> str:
        share = ", ".join(f"{c}" for c in self.counts.tolist())
        return (f"nocopy.Mixture({len(self.datasets)} datasets of {self.sizes.tolist()} samples, "
                f"weights={self.weights}, {self.num_samples} samples an epoch: {share})")


