"""nc.ImageSet.open(url) and nc.VideoSet.open(url): a sharded image or video dataset on an HTTP
server or an S3 store, read by the loaders shard by shard through a local cache.

``RemoteShards`` (nocopy._remote) downloads a shard, checks every file against index.json and
keeps it in the shared cache; these classes give a loader what it needs before any shard is
there (every sample's size and label, and a video's frame count, from the arrays beside the
index) and open a shard when a worker first reads one of its samples (``_ShardedImages`` /
``_ShardedVideos`` in C++: one opening per shard, the batches ahead hinted so their shards
download in the background).
"""

from __future__ import annotations

from functools import partial

import numpy as np

from . import _nocopy
from ._remote import RemoteShards

__all__ = ["RemoteImageSet", "RemoteVideoSet"]


class RemoteDataset:
    """What every dataset at a URL has: its store (``_store``, a RemoteShards) and ``url``,
    ``stats()``, ``close()`` and ``with``. The callables its C++ handle keeps hold the store,
    never the dataset, so that no reference cycle runs through the handle: an unused dataset
    and its hint thread are freed."""

    _store: RemoteShards
    url: str

    def stats(self) -> dict:
        """Bytes downloaded, shards fetched, cache hits, retries, evictions."""
        return self._store.stats()

    def close(self) -> None:
        """Stops the background downloads (a loader keeps the shards it opened)."""
        self._store.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _open_image_shard(store: RemoteShards, k: int):
    """Shard k of ``store`` mapped (downloaded first when it is not in the cache), as the C++
    index."""
    with store.open_lock(k) as folder:  # kept from eviction while it is mapped
        return _nocopy._ImageSet.open(folder)


def _open_video_shard(store: RemoteShards, k: int):
    """Shard k of ``store`` mapped (downloaded first when it is not in the cache), as the C++
    set."""
    with store.open_lock(k) as folder:  # kept from eviction while it is mapped
        return _nocopy._VideoSet.open(folder)


class _RemoteSet(RemoteDataset):
    """What a remote image set and a remote video set share: the index's per-sample arrays and
    shard lookup."""

    _kind = ""  # index.json's "kind"
    _noun = ""  # what a sample is called in messages

    def __init__(self, url, *, cache_dir=None, cache_limit=None, storage_options=None,
                 timeout: float = 60.0, retries: int = 5, max_open: int = 16):
        store = RemoteShards(url, cache_dir=cache_dir, cache_limit=cache_limit,
                             storage_options=storage_options, timeout=timeout, retries=retries)
        try:
            index = store.index
            if index["kind"] != self._kind:
                raise ValueError(f"{url}: a sharded {index['kind']} dataset, not {self._noun}s")
            self._store = store
            self.url = store.url
            self.shapes = self._array("shapes.npy")
            self.labels = (np.load(store.files["labels.npy"], allow_pickle=False)
                           if "labels.npy" in store.files else None)
            self.classes = index.get("classes")
            self.shard_sizes = [s["num_samples"] for s in index["shards"]]
            if self.shapes.shape != (index["num_samples"], 3):
                raise ValueError(f"{url}: shapes.npy is {self.shapes.shape}, the index says "
                                 f"{index['num_samples']} {self._noun}s")
            self._offsets = np.cumsum([0] + self.shard_sizes)
            self._sharded = self._make_source(index, max_open)
        except BaseException:
            store.close()
            raise

    def _array(self, name: str) -> np.ndarray:
        """The dataset-wide array ``name`` beside the index (fetched and checked)."""
        if name not in self._store.files:
            raise ValueError(f"{self.url}: index.json lists no {name}: the set was packed by an "
                             "older nocopy; pack it again to open it from a URL")
        return np.load(self._store.files[name], allow_pickle=False)

    def _make_source(self, index: dict, max_open: int):
        raise NotImplementedError

    def __len__(self) -> int:
        return int(self._offsets[-1])

    def shard_of(self, i: int) -> tuple[int, int]:
        """(shard, index in it) of sample i."""
        n = len(self)
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or not -n <= i < n:
            raise IndexError(f"{self._noun} index {i!r} is out of range for {n} {self._noun}s")
        i = int(i) % n
        k = int(np.searchsorted(self._offsets, i, side="right")) - 1
        return k, i - int(self._offsets[k])

    @property
    def num_shards(self) -> int:
        return len(self.shard_sizes)

    def __repr__(self) -> str:
        return (f"nocopy.{type(self).__name__}({self.url!r}, {len(self)} {self._noun}s in "
                f"{self.num_shards} shards)")


class RemoteImageSet(_RemoteSet):
    """A sharded image dataset at a URL (``http(s)://``, ``s3://``), opened by
    ``nc.ImageSet.open(url, cache_dir=..., cache_limit=..., storage_options=...)``.

    ``len``, ``labels``, ``classes``, ``shapes`` and ``format`` come from the index, read at
    once; ``ds[i]`` fetches the shard holding image i. ``nc.Loader(ds, ...)`` reads it shard by
    shard: a shard is downloaded (and checked against the index's SHA-256) when a worker first
    needs it, and the shards of the next ``fetch_ahead`` batches download in the background.
    ``shuffle="block"`` keeps the reads within a few shards at a time. ``max_open`` shards stay
    mapped at once. A shard that cannot be had within ``timeout`` seconds (after ``retries``
    retries of each file) fails its samples with an ``nc.LoaderError`` naming the shard.
    ``stats()`` counts downloads, cache hits and retries. See docs/REMOTE.md.
    """

    _kind = "image"
    _noun = "image"

    def _make_source(self, index: dict, max_open: int):
        self.format = index.get("format", "raw")
        self.dtype = np.dtype(index.get("dtype", "uint8"))
        return _nocopy._ShardedImages(
            partial(_open_image_shard, self._store), self._store.prefetch, self.shard_sizes,
            self.shapes.reshape(-1).tolist(), self.dtype.name, self.format == "jpeg", max_open)

    def __getitem__(self, i):
        """Image i (its shard fetched first when needed), a zero-copy view of the mapped shard."""
        k, j = self.shard_of(i)
        return _nocopy._ImageSet.open(self._store.fetch(k)).image(j)

    def __nocopy_image_sources__(self) -> list:
        return [self._sharded]

    def __repr__(self) -> str:
        return super().__repr__()[:-1] + f", format={self.format!r})"


class RemoteVideoSet(_RemoteSet):
    """A sharded video dataset at a URL (``http(s)://``, ``s3://``), opened by
    ``nc.VideoSet.open(url, cache_dir=..., cache_limit=..., storage_options=...)``.

    ``len``, ``labels``, ``classes``, ``shapes`` and ``num_frames`` come from the index, read at
    once; ``vs.frames(i, indices)`` fetches the shard holding video i and decodes them.
    ``nc.VideoLoader(vs, ...)`` (or ``nc.Loader(vs, ...)``) reads it shard by shard, as
    RemoteImageSet is read: a shard is downloaded (and checked against the index's SHA-256) when
    a worker first decodes one of its videos, the shards of the next ``fetch_ahead`` batches
    download in the background, ``max_open`` shards stay mapped, and a shard that cannot be had
    within ``timeout`` seconds fails its clips with an ``nc.LoaderError`` naming the shard.
    """

    _kind = "video"
    _noun = "video"
    #: What a shard opens as: nc.VideoSet (set by its module, which imports this one).
    shard_class = None

    def _make_source(self, index: dict, max_open: int):
        self.num_frames = self._array("num_frames.npy")
        if self.num_frames.shape != (index["num_samples"],):
            raise ValueError(f"{self.url}: num_frames.npy is {self.num_frames.shape}, the index "
                             f"says {index['num_samples']} videos")
        return _nocopy._ShardedVideos(
            partial(_open_video_shard, self._store), self._store.prefetch, self.shard_sizes,
            self.num_frames.tolist(), self.shapes.reshape(-1).tolist(), max_open)

    def shard(self, k: int):
        """Shard k as an nc.VideoSet (downloaded first when it is not in the cache)."""
        return self.shard_class._open_one(self._store.fetch(k))

    def frames(self, i, indices) -> np.ndarray:
        """Frames ``indices`` of video i, as VideoSet.frames decodes them (its shard fetched)."""
        k, j = self.shard_of(i)
        return self.shard(k).frames(j, indices)

    def __getitem__(self, i):
        raise TypeError("a video is read with vs.frames(i, indices)")

    def __nocopy_video_sources__(self):
        return [self._sharded]
