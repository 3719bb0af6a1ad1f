"""nc.open_tokens(url): a token dataset (written by nc.pack_tokens) on an HTTP server or an S3
store, read by nc.SequenceLoader shard by shard through a local cache.

``RemoteShards`` (nocopy._remote) downloads a shard, checks it against index.json and keeps it
in the shared cache; this class gives the loader what it needs before any shard is there (the
tokens of each shard and their dtype, from the index) and opens a shard when a worker first
reads a window of it (``_ShardedSequences`` in C++: one opening per shard, the shards of the
batches ahead hinted so they download in the background).
"""

from __future__ import annotations

from functools import partial

import numpy as np

from . import _nocopy
from ._remote import RemoteShards
from ._remote_sets import RemoteDataset
from ._tokens_format import open_shard_file, token_layout

__all__ = ["RemoteTokens"]


def _open_shard(store: RemoteShards, fmt: str, dtype: np.dtype, lengths: list, k: int):
    """Shard k of ``store`` mapped (downloaded first when it is not in the cache), as a View."""
    with store.open_lock(k) as path:  # kept from eviction while it is mapped
        return open_shard_file(path, fmt, dtype, lengths[k])


class RemoteTokens(RemoteDataset):
    """The shards of a token dataset at a URL (``http(s)://``, ``s3://``), opened by
    ``nc.open_tokens(url, cache_dir=..., cache_limit=..., storage_options=..., timeout=...,
    retries=..., max_open=...)``: the remote counterpart of the list of views a local folder
    opens as.

    ``len`` (shards), ``shard_lengths`` (tokens of each), ``num_tokens`` and ``dtype`` come
    from the index, read at once; ``tokens[k]`` fetches shard k and returns it as a zero-copy
    1-d View. ``nc.SequenceLoader(tokens, ...)`` reads it shard by shard, with the same windows
    and bytes as the local copy: a shard is downloaded (and checked against the index's
    SHA-256) when a worker first reads a window of it, and the shards of the next
    ``fetch_ahead`` batches download in the background. ``max_open`` shards stay mapped at
    once. A shard that cannot be had within ``timeout`` seconds (after ``retries`` retries)
    fails its windows with an ``nc.LoaderError`` naming the shard. ``stats()`` counts
    downloads, cache hits and retries. See docs/REMOTE.md.
    """

    def __init__(self, url, *, cache_dir=None, cache_limit=None, storage_options=None,
                 timeout: float = 60.0, retries: int = 5, max_open: int = 16):
        store = RemoteShards(url, cache_dir=cache_dir, cache_limit=cache_limit,
                             storage_options=storage_options, timeout=timeout, retries=retries)
        self._store = store
        self.url = store.url
        self.shard_lengths = [int(s["num_samples"]) for s in store.index["shards"]]
        try:
            self._format, self.dtype = token_layout(store.index, f"{url}: index.json")
            # max_open and the layout are checked by the C++ core. The callables hold the store,
            # not this object (RemoteDataset).
            self._sequences = _nocopy._ShardedSequences(
                partial(_open_shard, store, self._format, self.dtype, self.shard_lengths),
                store.prefetch, self.shard_lengths, self.dtype.name, max_open)
        except BaseException:
            store.close()
            raise
        self.max_open = max_open

    def __len__(self) -> int:
        return len(self.shard_lengths)

    def __getitem__(self, k):
        """Shard ``k`` (fetched first when needed) as a zero-copy 1-d View of the mapped file."""
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
            raise TypeError(f"shard number must be an integer, got {k!r}")
        n = len(self)
        if not -n <= k < n:
            raise IndexError(f"shard {k} out of range ({n} shards)")
        k = int(k) % n
        return open_shard_file(self._store.fetch(k), self._format, self.dtype,
                               self.shard_lengths[k])

    def __iter__(self):
        return (self[k] for k in range(len(self)))

    @property
    def num_tokens(self) -> int:
        """Tokens in every shard together."""
        return sum(self.shard_lengths)

    @property
    def num_shards(self) -> int:
        return len(self.shard_lengths)

    def __nocopy_sequence_shards__(self):
        return self._sequences

    def __repr__(self) -> str:
        return (f"nocopy.RemoteTokens({self.url!r}, {self.num_tokens} {self.dtype} tokens in "
                f"{self.num_shards} shards)")
