"""RemoteShards: the shards of a sharded dataset on a web server or in S3, fetched on demand
into a local cache shared by every process of the machine, each file checked against the
index's size and SHA-256."""

from __future__ import annotations

import os
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from .cache import DatasetCache, evict_lru, fsync_dir, no_space
from .download import Counters, download_file, read_small
from .errors import RemoteError
from .index import INDEX, parse_index, parse_size, shard_paths
from .retry import Deadline
from .urls import dataset_key, default_cache_dir, local_path, open_store

__all__ = ["RemoteShards", "PREFETCH_THREADS"]

#: How many shards prefetch() downloads at once.
PREFETCH_THREADS = 4
#: Files of one shard downloaded at once.
FILE_THREADS = 6


def _seconds(value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"timeout must be a number of seconds, got {value!r}")
    if not value > 0:
        raise ValueError(f"timeout must be positive, got {value!r}")
    return float(value)


def _retries(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"retries must be an integer, got {value!r}")
    if value < 0:
        raise ValueError(f"retries must be 0 or more, got {value!r}")
    return value


class RemoteShards:
    """The shards of the sharded dataset at ``url``: ``http(s)://host/path``,
    ``s3://bucket/prefix``, or a local folder (read in place, nothing cached).

    index.json is read at once (retried) and checked (ValueError naming what is wrong); the
    dataset-wide files it lists under "files" (labels.npy, shapes.npy) are fetched with it.
    ``fetch(k)`` returns the local folder of shard k (a token shard: its file), downloading
    it into ``cache_dir`` (default $NOCOPY_CACHE_DIR or ~/.cache/nocopy/remote) when it is not
    there yet; processes that share ``cache_dir`` download each shard once. ``cache_limit``
    (bytes or a text such as ``"10GB"``) bounds the shards kept under ``cache_dir``: the least
    recently used are removed after each download. ``storage_options``: for S3
    ``endpoint_url``, ``key``, ``secret``, ``token``, ``region`` (else the AWS environment);
    for HTTP ``headers``. Each fetch gives up after ``timeout`` seconds in all, and each file
    after ``retries`` retries, with a RemoteError naming the shard, the URL and the last
    cause.

    >>> shards = nc.RemoteShards("https://data.example.com/imagenet", cache_limit="200GB")
    >>> with shards.open_lock(0) as folder:     # downloaded if needed, kept while held
    ...     images = nc.ImageSet.open(folder)
    """

    def __init__(self, url, cache_dir=None, cache_limit=None, storage_options=None,
                 timeout: float = 60.0, retries: int = 5):
        if not isinstance(url, (str, os.PathLike)):
            raise TypeError(f"url must be a str or a path, got {type(url).__name__}")
        url = os.fspath(url)
        self.timeout = _seconds(timeout)
        self.retries = _retries(retries)
        self.cache_limit = None if cache_limit is None else parse_size(cache_limit, "cache_limit")
        if storage_options is not None and not isinstance(storage_options, dict):
            raise TypeError("storage_options must be a dict")
        self.url = url
        self._counters = Counters(threading.Lock())
        self._mutex = threading.Lock()
        self._inflight: dict = {}
        self._pool = None
        self._local = local_path(url)
        if self._local is not None:
            self._init_local(storage_options)
        else:
            self._init_remote(cache_dir, storage_options)
        self.num_shards = len(self.index["shards"])
        self.shard_names = [s["name"] for s in self.index["shards"]]

    # --- construction -----------------------------------------------------------------------
    def _init_local(self, storage_options) -> None:
        if storage_options:
            raise ValueError("storage_options apply to remote URLs, not to the local folder "
                             f"{self._local!r}")
        self.store = None
        self.cache = None
        self.cache_dir = None
        self.root = self._local
        with open(os.path.join(self._local, INDEX), "rb") as f:
            self.index = parse_index(f.read(), os.path.join(self._local, INDEX))
        self.files = {n: os.path.join(self._local, n) for n in self.index.get("files", {})}

    def _init_remote(self, cache_dir, storage_options) -> None:
        self.store = open_store(self.url, storage_options)
        self.cache_dir = os.path.abspath(os.fspath(cache_dir) if cache_dir is not None
                                         else default_cache_dir())
        self.cache = DatasetCache(os.path.join(self.cache_dir, dataset_key(self.url)))
        self.root = self.cache.root
        deadline = Deadline(self.timeout)
        data = read_small(self.store, INDEX, "index", deadline, self.retries, self._counters)
        self.index = parse_index(data, self.store.describe(INDEX))
        self.cache.create()
        self.cache.clean_temps()  # left by processes that died
        self._write_index_copy(data)
        self.files = {}
        for name, entry in self.index.get("files", {}).items():
            record = {"bytes": entry["bytes"], "files": {name: entry}}
            self.files[name] = self._fetch_item(name, record, [(name, entry)], "file " + name,
                                                deadline, count=False, shard=False)

    def _write_index_copy(self, data: bytes) -> None:
        path = os.path.join(self.root, INDEX)
        tmp = os.path.join(self.cache.tmp, f"{INDEX}~{os.getpid()}~{threading.get_ident()}")
        try:
            with open(tmp, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException as exc:
            if os.path.lexists(tmp):
                os.unlink(tmp)
            if isinstance(exc, OSError) and no_space(exc):
                raise OSError(exc.errno, f"no space left on the cache {self.cache_dir} while "
                              f"writing {INDEX}", self.cache_dir) from None
            raise

    # --- fetching ---------------------------------------------------------------------------
    def _shard(self, k) -> dict:
        if isinstance(k, bool) or not hasattr(k, "__index__"):
            raise TypeError(f"shard number must be an integer, got {k!r}")
        k = k.__index__()
        if not -self.num_shards <= k < self.num_shards:
            raise IndexError(f"shard {k} out of range ({self.num_shards} shards)")
        return self.index["shards"][k]

    def fetch(self, k: int) -> str:
        """The local folder of shard ``k`` (a token shard: its file), every file downloaded and
        checked when it is not in the cache yet; joins a prefetch of ``k`` (and raises its
        error). RemoteError past the timeout or the retries; OSError (ENOSPC) for a full
        cache disk."""
        shard = self._shard(k)
        if self._local is not None:
            return self._fetch_local(shard)
        with self._mutex:
            pending = self._inflight.pop(shard["name"], None)
        if pending is not None:
            pending.result()
            return self._fetch_shard(shard, count=False)
        return self._fetch_shard(shard)

    def _fetch_local(self, shard: dict) -> str:
        for rel, e in shard_paths(self.index, shard):
            path = os.path.join(self._local, rel)
            size = os.stat(path).st_size
            if size != e["bytes"]:
                raise ValueError(f"{path}: {size} bytes, but {INDEX} lists {e['bytes']}")
        self._counters.add(cache_hits=1)
        return os.path.join(self._local, shard["name"])

    def _fetch_shard(self, shard: dict, count: bool = True) -> str:
        return self._fetch_item(shard["name"], shard, shard_paths(self.index, shard),
                                f"shard {shard['name']}", Deadline(self.timeout), count)

    def _fetch_item(self, name: str, entry: dict, files, what: str, deadline: Deadline,
                    count: bool, shard: bool = True) -> str:
        """Shard (or dataset file, not ``shard``) ``name`` in the cache, downloaded under its
        exclusive lock when it is not complete; ``count`` a hit in the stats."""
        cache = self.cache
        if cache.is_complete(name, entry):
            cache.mark_used(name)
            self._counters.add(cache_hits=int(count))
            return cache.path(name)
        with cache.lock(name, False, deadline, f"{what}: {self.store.describe(name)}"):
            if cache.is_complete(name, entry):  # another process downloaded it meanwhile
                cache.mark_used(name)
                self._counters.add(cache_hits=int(count))
                return cache.path(name)
            cache.remove(name)  # an older version, or what a killed process left
            cache.clean_temps(name)
            staging = None
            try:
                staging = cache.new_staging(name)
                self._download_all(files, staging, what, deadline)
                fsync_dir(staging)
                single = len(files) == 1 and files[0][0] == name  # a file, not a folder
                cache.commit(name, os.path.join(staging, name) if single else staging, entry,
                             evictable=shard)
                cache.mark_used(name)
            except OSError as exc:
                if no_space(exc) and self.cache_dir not in str(exc):
                    raise OSError(exc.errno, f"no space left on the cache {self.cache_dir} "
                                  f"while fetching {what} ({exc})", self.cache_dir) from None
                raise
            finally:
                if staging is not None:
                    shutil.rmtree(staging, ignore_errors=True)
        if shard:
            self._counters.add(shards_fetched=1)
            self._evict(name)
        return cache.path(name)

    def _download_all(self, files, staging: str, what: str, deadline: Deadline) -> None:
        """Downloads ``files`` ((path, entry) pairs) into ``staging``, up to FILE_THREADS at
        once: a shard's files cost one round trip together, not one each. The first failure is
        raised once every download has ended (each bounded by the deadline)."""
        def one(rel: str, e: dict) -> None:
            dest = os.path.join(staging, rel.rpartition("/")[2])
            download_file(self.store, rel, e, dest, f"{what}, file {rel}", self.cache_dir,
                          deadline, self.retries, self._counters)

        if len(files) == 1:
            one(*files[0])
            return
        with ThreadPoolExecutor(min(len(files), FILE_THREADS),
                                thread_name_prefix="nocopy-download") as pool:
            futures = [pool.submit(one, rel, e) for rel, e in files]
        for future in futures:
            future.result()

    def _evict(self, keep: str) -> None:
        if self.cache_limit is None:
            return
        removed = evict_lru(self.cache_dir, self.cache_limit, (self.cache.root, keep))
        self._counters.add(evicted=len(removed))

    # --- prefetch, locks, stats ---------------------------------------------------------------
    def prefetch(self, k: int) -> None:
        """Starts fetching shard ``k`` in the background (at most PREFETCH_THREADS at once; a
        shard already on its way is not asked twice; one already in the cache counts as a cache
        hit). Its error, if any, is raised by ``fetch(k)``."""
        shard = self._shard(k)
        if self._local is not None:
            return
        with self._mutex:
            pending = self._inflight.get(shard["name"])
            if pending is not None and not pending.done():
                return
            if self._pool is None:
                self._pool = ThreadPoolExecutor(PREFETCH_THREADS,
                                                thread_name_prefix="nocopy-prefetch")
            # A shard the prefetch finds in the cache counts as a hit there (and fetch(k),
            # joining it, counts nothing more).
            self._inflight[shard["name"]] = self._pool.submit(self._fetch_shard, shard)

    @contextmanager
    def open_lock(self, k: int):
        """Context manager: shard ``k`` fetched, then held under a shared lock so that no
        eviction (of any process) removes it; yields its local path. Open or map the shard
        inside; once mapped, its removal no longer matters."""
        shard = self._shard(k)
        if self._local is not None:
            yield self._fetch_local(shard)
            return
        deadline = Deadline(self.timeout)
        name = shard["name"]
        while True:
            path = self.fetch(k)
            with self.cache.lock(name, True, deadline,
                                 f"shard {name}: {self.store.describe(name)}"):
                if self.cache.is_complete(name, shard):
                    yield path
                    return
            if deadline.expired():  # removed each time between fetch and lock
                raise RemoteError(f"shard {name}: {self.store.describe(name)}: evicted again "
                                  f"and again for {self.timeout:g} s")

    def stats(self) -> dict:
        """Counts so far: ``bytes_downloaded``, ``shards_fetched``, ``cache_hits``,
        ``retries``, ``evicted`` (shards removed to keep within cache_limit)."""
        return self._counters.as_dict()

    def close(self) -> None:
        """Waits for the prefetches on their way and stops their threads."""
        with self._mutex:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self) -> str:
        return (f"RemoteShards({self.url!r}, {self.num_shards} shards of {self.index['kind']}, "
                f"cache={self.root!r})")
