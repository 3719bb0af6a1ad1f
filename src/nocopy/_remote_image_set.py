"""nc.ImageSet.open(url): a sharded image dataset on an HTTP server or an S3 store, read by the
loader shard by shard through a local cache.

``RemoteShards`` (nocopy._remote) downloads a shard, checks every file against index.json and
keeps it in the shared cache; this class gives the loader what it needs before any shard is
there (every sample's size and label, from the index's shapes.npy and labels.npy) and opens a
shard when a worker first reads one of its samples (``_ShardedImages`` in C++: one opening per
shard, the batches ahead hinted so their shards download in the background).
"""

from __future__ import annotations

import numpy as np

from . import _nocopy
from ._remote import RemoteShards

__all__ = ["RemoteImageSet"]


class RemoteImageSet:
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

    def __init__(self, url, *, cache_dir=None, cache_limit=None, storage_options=None,
                 timeout: float = 60.0, retries: int = 5, max_open: int = 16):
        store = RemoteShards(url, cache_dir=cache_dir, cache_limit=cache_limit,
                             storage_options=storage_options, timeout=timeout, retries=retries)
        index = store.index
        if index["kind"] != "image":
            store.close()
            raise ValueError(f"{url}: a sharded {index['kind']} dataset, not images")
        if "shapes.npy" not in store.files:
            store.close()
            raise ValueError(f"{url}: index.json lists no shapes.npy (pack it again with this "
                             "nocopy, or merge_shards it)")
        self._store = store
        self.url = store.url
        self.shapes = np.load(store.files["shapes.npy"], allow_pickle=False)
        self.labels = (np.load(store.files["labels.npy"], allow_pickle=False)
                       if "labels.npy" in store.files else None)
        self.classes = index.get("classes")
        self.format = index.get("format", "raw")
        self.dtype = np.dtype(index.get("dtype", "uint8"))
        self.shard_sizes = [s["num_samples"] for s in index["shards"]]
        if self.shapes.shape != (index["num_samples"], 3):
            raise ValueError(f"{url}: shapes.npy is {self.shapes.shape}, the index says "
                             f"{index['num_samples']} images")
        self._offsets = np.cumsum([0] + self.shard_sizes)
        self._sharded = _nocopy._ShardedImages(
            self._open_shard, self._prefetch_shard, self.shard_sizes,
            self.shapes.reshape(-1).tolist(), self.dtype.name, self.format == "jpeg", max_open)

    def _open_shard(self, k: int):
        """Shard k mapped (downloaded first when it is not in the cache), as the C++ index."""
        with self._store.open_lock(k) as folder:  # kept from eviction while it is mapped
            return _nocopy._ImageSet.open(folder)

    def _prefetch_shard(self, k: int) -> None:
        self._store.prefetch(k)

    def __len__(self) -> int:
        return int(self._offsets[-1])

    def shard_of(self, i: int) -> tuple[int, int]:
        """(shard, index in it) of image i."""
        n = len(self)
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or not -n <= i < n:
            raise IndexError(f"image index {i!r} is out of range for {n} images")
        i = int(i) % n
        k = int(np.searchsorted(self._offsets, i, side="right")) - 1
        return k, i - int(self._offsets[k])

    def __getitem__(self, i):
        """Image i (its shard fetched first when needed), a zero-copy view of the mapped shard."""
        k, j = self.shard_of(i)
        return _nocopy._ImageSet.open(self._store.fetch(k)).image(j)

    @property
    def num_shards(self) -> int:
        return len(self.shard_sizes)

    def stats(self) -> dict:
        """Bytes downloaded, shards fetched, cache hits, retries, evictions."""
        return self._store.stats()

    def close(self) -> None:
        """Stops the background downloads (the loader keeps what it opened)."""
        self._store.close()

    def __nocopy_image_sources__(self) -> list:
        return [self._sharded]

    def __repr__(self) -> str:
        return (f"nocopy.RemoteImageSet({self.url!r}, {len(self)} images in {self.num_shards} "
                f"shards, format={self.format!r})")
