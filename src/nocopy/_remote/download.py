"""One file downloaded from a store and checked against its index entry (bytes, SHA-256)."""

from __future__ import annotations

import errno
import hashlib
import os

from .cache import no_space
from .errors import TransientError
from .retry import Deadline, retrying

__all__ = ["download_file", "read_small", "Counters", "OP_TIMEOUT_S"]

#: The longest wait for one socket operation (connect, one read), below the deadline.
OP_TIMEOUT_S = 30.0


class Counters:
    """What a dataset's downloads did (updated from several threads under a lock)."""

    def __init__(self, lock):
        self.lock = lock
        self.bytes_downloaded = 0
        self.shards_fetched = 0
        self.cache_hits = 0
        self.retries = 0
        self.evicted = 0

    def add(self, **counts) -> None:
        """Adds to the named counters."""
        with self.lock:
            for k, v in counts.items():
                setattr(self, k, getattr(self, k) + v)

    def as_dict(self) -> dict:
        """The counters by name."""
        with self.lock:
            return {k: getattr(self, k) for k in (
                "bytes_downloaded", "shards_fetched", "cache_hits", "retries", "evicted")}


def _op_timeout(deadline: Deadline) -> float:
    return min(OP_TIMEOUT_S, deadline.left())


def read_small(store, rel: str, what: str, deadline: Deadline, retries: int,
               counters: Counters, limit: int = 1 << 28) -> bytes:
    """The whole file ``rel`` in memory (an index), retried like a download."""

    def attempt() -> bytes:
        _, chunks = store.open(rel, 0, _op_timeout(deadline))
        data = bytearray()
        try:
            for chunk in chunks:
                data += chunk
                if len(data) > limit:
                    raise TransientError(f"larger than {limit} bytes")
                if deadline.expired():
                    raise TransientError("timed out while reading")
        finally:
            chunks.close()
        return bytes(data)

    data = retrying(what, store.describe(rel), attempt, deadline, retries,
                    lambda exc: counters.add(retries=1))
    counters.add(bytes_downloaded=len(data))
    return data


class _Partial:
    """The bytes of one file received so far, their hash, and the open temporary file."""

    def __init__(self, f, cache_dir: str, what: str):
        self.f, self.cache_dir, self.what = f, cache_dir, what
        self.reset()

    def reset(self) -> None:
        self.f.seek(0)
        self.f.truncate()
        self.size = 0
        self.hash = hashlib.sha256()

    def write(self, chunk: bytes) -> None:
        try:
            self.f.write(chunk)
        except OSError as exc:
            if no_space(exc):
                raise OSError(exc.errno, f"no space left on the cache {self.cache_dir} while "
                              f"writing {self.what}", self.cache_dir) from None
            raise
        self.hash.update(chunk)
        self.size += len(chunk)


def download_file(store, rel: str, entry: dict, dest: str, what: str, cache_dir: str,
                  deadline: Deadline, retries: int, counters: Counters) -> None:
    """Downloads ``rel`` to ``dest`` (a temporary file + fsync + rename), checked against
    ``entry`` ({"bytes", "sha256"}). A short body resumes from where it stopped (a range
    request) when the store allows; a long or corrupt one is fetched again. RemoteError when the
    tries or the deadline run out; OSError (ENOSPC) when the cache's disk is full."""
    expected, want = entry["bytes"], entry["sha256"]
    part = dest + ".part"
    with open(part, "wb") as f:
        got = _Partial(f, cache_dir, what)

        def attempt() -> None:
            offset = got.size if got.size < expected else 0
            start, chunks = store.open(rel, offset, _op_timeout(deadline))
            try:
                if start != got.size:
                    got.reset()
                for chunk in chunks:
                    if got.size + len(chunk) > expected:
                        got.reset()
                        raise TransientError(f"the file is longer than the {expected} bytes "
                                             "its index entry lists")
                    got.write(chunk)
                    counters.add(bytes_downloaded=len(chunk))
                    if deadline.expired():
                        raise TransientError("timed out while reading")
            finally:
                chunks.close()
            if got.size < expected:
                raise TransientError(f"short body: {got.size} of {expected} bytes")
            digest = got.hash.hexdigest()
            if digest != want:
                got.reset()
                raise TransientError(f"SHA-256 {digest} of {rel} differs from the index's "
                                     f"{want} (the file is corrupt or was replaced)")

        retrying(what, store.describe(rel), attempt, deadline, retries,
                  lambda exc: counters.add(retries=1))
        try:
            f.flush()
            os.fsync(f.fileno())
        except OSError as exc:
            if no_space(exc):
                raise OSError(errno.ENOSPC, f"no space left on the cache {cache_dir} while "
                              f"writing {what}", cache_dir) from None
            raise
    os.replace(part, dest)
