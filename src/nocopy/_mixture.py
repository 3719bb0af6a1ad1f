"""nc.Mixture: several image, video or token / series datasets read as one, each sample drawn from
dataset d with probability proportional to ``weights[d]``, deterministically per (seed, epoch,
position).

The order is computed in C++ (``nocopy/pipeline/sampling/mixture_order.hpp``): an epoch has
``num_samples`` slots, dataset d gets exactly ``round(num_samples * w_d / sum(w))`` of them
(largest remainder), their places shuffled per epoch, and dataset d's k-th slot of epoch e is its
``(e * c_d + k)``-th draw overall, walking through fresh permutations of d: over the epochs every
sample of d is drawn equally often, whether d is upsampled or subsampled. For token / series
datasets (read by nc.SequenceLoader) a sample is a window, and the sizes follow from the loader's
window options (``nocopy/pipeline/sampling/sequence_sampler.hpp``).
"""

from __future__ import annotations


import numpy as np

from . import _nocopy
from ._views import view

__all__ = ["Mixture"]


def _parts(dataset) -> tuple[str, list]:
    """("image", "video" or "sequence", the sources a dataset is read from: its shards, its set's
    index, array views, or a token dataset's shards opened on demand)."""
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
    shards = getattr(type(dataset), "__nocopy_sequence_shards__", None)
    if shards is not None:  # a remote token dataset: its shards opened on demand
        return "sequence", [shards(dataset)]
    if isinstance(dataset, (list, tuple)):  # documents or series, as nc.SequenceLoader takes
        if not dataset:
            raise ValueError("a dataset of the mixture is an empty list of sequences")
        return "sequence", [view(s) for s in dataset]
    v = view(dataset)
    # 1-D tokens or a (T, F) series; (N, H, W[, C]) images.
    return ("sequence" if v.ndim <= 2 else "image"), [v]


def _sequence_layout(dataset, parts: list) -> tuple[np.dtype, tuple]:
    """(dtype, row shape) of a token / series dataset: every sequence of it must agree."""
    if isinstance(parts[0], _nocopy._ShardedSequences):
        return np.dtype(dataset.dtype), ()
    layouts = {(np.dtype(p.dtype), tuple(p.shape[1:])) for p in parts}
    if len(layouts) > 1:
        raise ValueError(f"the sequences of a dataset differ in dtype or row shape: "
                         f"{sorted((str(d), r) for d, r in layouts)}")
    return layouts.pop()


class Mixture:
    """Image datasets (``nc.ImageSet``, sharded or remote sets, or (N, H, W, C) arrays of one
    channel count and dtype) or video datasets (``nc.VideoSet``, sharded or remote) mixed by
    ``weights`` (default: equal), a dataset ``nc.Loader`` (images) and ``nc.VideoLoader``
    (videos) accept; or token / series datasets (what nc.SequenceLoader takes: an array, a list
    of arrays, ``nc.open_tokens(...)``; one dtype and row shape) that ``nc.SequenceLoader``
    accepts.

    >>> mix = nc.Mixture([web_images, curated], weights=[0.8, 0.2])     # doctest: +SKIP
    >>> loader = nc.Loader(mix, batch_size=64, transforms=...)            # doctest: +SKIP

    For videos a sample is a video: every epoch holds ``clips_per_video`` clips of each of its
    ``counts[d]`` video draws of dataset d (``clips_per_epoch = len(mix) * clips_per_video``),
    and ``plan(i).dataset`` says which dataset each clip came from.

    For sequences a sample is a window: dataset d's size is the windows per epoch a lone
    nc.SequenceLoader with the same options would have (``step=k``: its windows; random
    starts: its usable steps // seq_len), known once the loader is built
    (``loader.mixture_sizes``); ``num_samples`` and ``counts`` are then the loader's
    (``len(mix)`` needs ``num_samples`` given). See docs/SEQUENCES.md.

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
            raise TypeError(f"a Mixture holds datasets of one kind (images, videos or token / "
                            f"series sequences), not {' and '.join(sorted(set(kinds)))}")
        #: "image" (read by nc.Loader), "video" (read by nc.VideoLoader) or "sequence" (read by
        #: nc.SequenceLoader).
        self.kind = kinds[0]
        if self.kind == "sequence":
            self._init_sequences(num_samples)
            return
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

    def _init_sequences(self, num_samples) -> None:
        """Token / series datasets: one dtype and row shape; sizes come with the loader."""
        layouts = [_sequence_layout(d, p) for d, p in zip(self.datasets, self._parts)]
        for d, (dtype, rows) in enumerate(layouts[1:], 1):
            if dtype != layouts[0][0]:
                raise ValueError(f"dataset {d} of the mixture has dtype {dtype} but dataset 0 "
                                f"has {layouts[0][0]}; every dataset needs the same dtype")
            if rows != layouts[0][1]:
                raise ValueError(f"dataset {d} of the mixture has rows of shape {rows} but "
                                 f"dataset 0 has {layouts[0][1]}; every dataset needs the same "
                                 f"feature count")
        #: Sequences (arrays or shards) of each dataset; they are read end to end.
        self.sources = np.array([len(p[0]) if isinstance(p[0], _nocopy._ShardedSequences)
                                 else len(p) for p in self._parts], np.int64)
        self.source_offsets = np.concatenate(
            [[0], np.cumsum(self.sources)[:-1]]).astype(np.int64)
        #: Windows per epoch of each dataset: set by the loader's window options.
        self.sizes = None
        self.offsets = None
        if num_samples is None:
            self.num_samples = None
            self.counts = None
            _nocopy._mixture_counts(self.weights, 1)  # the weights are checked now
            return
        if isinstance(num_samples, bool) or not isinstance(num_samples, (int, np.integer)):
            raise TypeError(f"num_samples must be an integer, not {type(num_samples).__name__}")
        self.num_samples = int(num_samples)
        self.counts = np.asarray(_nocopy._mixture_counts(self.weights, self.num_samples),
                                 np.int64)

    def __len__(self) -> int:
        """Samples per epoch."""
        if self.num_samples is None:
            raise TypeError("a Mixture of sequences without num_samples has the epoch size its "
                            "loader's windows give: see SequenceLoader.windows_per_epoch")
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
        """(dataset, index in it) of combined indices (the datasets end to end; for sequences
        the indices of their sequences end to end, as an nc.LoaderError's ``.sample``)."""
        idx = np.asarray(indices, np.int64)
        if self.kind == "sequence":
            total = int(self.sources.sum())
            if idx.size and (idx.min() < 0 or idx.max() >= total):
                raise IndexError(f"combined index out of range for {total} sequences")
            d = np.searchsorted(self.source_offsets, idx, side="right") - 1
            return d, idx - self.source_offsets[d]
        total = int(self.sizes.sum())
        if idx.size and (idx.min() < 0 or idx.max() >= total):
            raise IndexError(f"combined index out of range for {total} samples")
        d = np.searchsorted(self.offsets, idx, side="right") - 1
        return d, idx - self.offsets[d]

    @property
    def __nocopy_image_sources__(self):
        if self.kind != "image":
            raise AttributeError(f"a Mixture of {self.kind}s has no image sources")
        return lambda: [p for parts in self._parts for p in parts]

    @property
    def __nocopy_video_sources__(self):
        if self.kind != "video":
            raise AttributeError(f"a Mixture of {self.kind}s has no video sources")
        return lambda: [p for parts in self._parts for p in parts]

    @property
    def __nocopy_sequence_sources__(self):
        if self.kind != "sequence":
            raise AttributeError(f"a Mixture of {self.kind}s has no sequence sources")
        return lambda: [p for parts in self._parts for p in parts]

    def __nocopy_mixture__(self) -> tuple:
        if self.kind == "sequence":  # sources per dataset: the sizes follow from the windows
            return (self.sources.tolist(), self.weights, self.num_samples)
        return (self.sizes.tolist(), self.weights, self.num_samples)

    def __repr__(self) -> str:
        if self.kind == "sequence":
            size = ("windows an epoch set by the loader" if self.num_samples is None
                    else f"{self.num_samples} windows an epoch: "
                         f"{', '.join(str(c) for c in self.counts.tolist())}")
            return (f"nocopy.Mixture({len(self.datasets)} sequence datasets of "
                    f"{self.sources.tolist()} sequences, weights={self.weights}, {size})")
        share = ", ".join(f"{c}" for c in self.counts.tolist())
        return (f"nocopy.Mixture({len(self.datasets)} datasets of {self.sizes.tolist()} samples, "
                f"weights={self.weights}, {self.num_samples} samples an epoch: {share})")


