"""The local cache of a remote dataset: shards downloaded once, shared between processes.

Layout of one dataset's cache, ``cache_dir/<key>/`` (the key: a readable part of the URL and
a hash of it, so that two datasets never share a folder)::

    index.json               the dataset's index, as last read
    <shard>/...              a complete shard (a token shard: one file <shard>)
    <file>                   a dataset-wide file of the index's "files" (labels.npy, ...)
    .nocopy/locks/<shard>    the lock file of a shard (flock: exclusive to download or evict it,
                             shared while a reader maps it)
    .nocopy/entries/<shard>.json   the index entry a complete shard was checked against
    .nocopy/used/<shard>     touched on every use (least recently used evicted first)
    .nocopy/tmp/<shard>~<pid>~<hex>   a shard being downloaded, or removed

A shard is complete when its entry file matches the index and its folder (or file) is there:
the entry file is written before the staged folder is renamed into place, and removed before
the folder is taken away, so a process killed at any point leaves nothing that looks complete.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import secrets
import shutil
import time
from contextlib import contextmanager

from .errors import RemoteError
from .retry import Deadline

__all__ = ["DatasetCache", "evict_lru", "fsync_dir", "no_space", "META"]

#: The folder of a dataset's cache that holds its locks, entries and temporary files.
META = ".nocopy"
_LOCK_POLL_S = 0.02


def fsync_dir(path: str) -> None:
    """Flushes a folder's entries (a rename in it) to disk."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_tree(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


class DatasetCache:
    """The cache folder ``root`` of one dataset (see the module's layout)."""

    def __init__(self, root: str):
        self.root = root
        self.meta = os.path.join(root, META)
        self.locks = os.path.join(self.meta, "locks")
        self.entries = os.path.join(self.meta, "entries")
        self.used = os.path.join(self.meta, "used")
        self.tmp = os.path.join(self.meta, "tmp")

    def create(self) -> None:
        """Makes the folders (an existing cache is kept)."""
        for d in (self.locks, self.entries, self.used, self.tmp):
            os.makedirs(d, exist_ok=True)

    def path(self, name: str) -> str:
        """Where shard (or dataset file) ``name`` lies once complete."""
        return os.path.join(self.root, name)

    # --- locks -------------------------------------------------------------------------------
    def _open_lock_file(self, name: str) -> int:
        return os.open(os.path.join(self.locks, name), os.O_RDWR | os.O_CREAT, 0o644)

    @contextmanager
    def lock(self, name: str, shared: bool, deadline: Deadline, what: str):
        """Holds the lock of ``name`` (shared or exclusive), waiting at most until
        ``deadline``: RemoteError naming ``what`` past it."""
        fd = self._open_lock_file(name)
        mode = (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB
        try:
            while True:
                try:
                    fcntl.flock(fd, mode)
                    break
                except BlockingIOError:
                    if deadline.expired():
                        raise RemoteError(
                            f"{what}: timed out after {deadline.seconds:g} s waiting for the "
                            f"lock {os.path.join(self.locks, name)} (another process is "
                            "downloading or removing it)") from None
                    time.sleep(min(_LOCK_POLL_S, deadline.left()))
            yield
        finally:
            os.close(fd)  # closing the only descriptor releases the flock

    def try_lock_exclusive(self, name: str) -> int | None:
        """The descriptor holding the exclusive lock of ``name``, or None at once when another
        holder has it (shared or exclusive). Close the descriptor to release."""
        fd = self._open_lock_file(name)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        return fd

    # --- completeness ------------------------------------------------------------------------
    def _entry_path(self, name: str) -> str:
        return os.path.join(self.entries, name + ".json")

    def recorded(self, name: str) -> dict | None:
        """The entry that complete shard ``name`` was checked against, or None."""
        try:
            with open(self._entry_path(name), encoding="utf-8") as f:
                return json.load(f)
        except (FileNotFoundError, ValueError):
            return None

    def is_complete(self, name: str, entry: dict) -> bool:
        """True when ``name`` was completed against the same files (names, sizes, hashes) as
        ``entry`` lists and is still there."""
        rec = self.recorded(name)
        return rec is not None and rec.get("files") == entry["files"] and os.path.lexists(
            self.path(name))

    def mark_used(self, name: str) -> None:
        """Records a use of ``name`` (its place in the least-recently-used order)."""
        p = os.path.join(self.used, name)
        try:
            os.utime(p)
        except FileNotFoundError:
            with open(p, "a"):
                pass

    def last_used(self, name: str) -> float:
        """When ``name`` was last used (0 if never recorded)."""
        try:
            return os.stat(os.path.join(self.used, name)).st_mtime
        except FileNotFoundError:
            return 0.0

    # --- staging, commit, removal -------------------------------------------------------------
    def new_staging(self, name: str) -> str:
        """A new, empty temporary folder for downloading ``name``."""
        p = os.path.join(self.tmp, f"{name}~{os.getpid()}~{secrets.token_hex(4)}")
        os.mkdir(p)
        return p

    def clean_temps(self, name: str | None = None) -> None:
        """Removes the temporary files of ``name`` (call with its exclusive lock held), or,
        without a name, those whose process has died."""
        try:
            found = os.listdir(self.tmp)
        except FileNotFoundError:
            return
        for entry in found:
            parts = entry.split("~")
            if len(parts) != 3:
                continue
            if name is not None and parts[0] != name:
                continue
            if name is None and (not parts[1].isdigit() or _pid_alive(int(parts[1]))):
                continue
            _remove_tree(os.path.join(self.tmp, entry))

    def commit(self, name: str, staged: str, entry: dict, evictable: bool = True) -> None:
        """Puts the verified download ``staged`` (a folder, or a token shard's file) in place
        as ``name``: the entry file first (flushed), then one rename (call with the exclusive
        lock held). A dataset-wide file is not ``evictable``."""
        tmp_entry = os.path.join(self.tmp, f"{name}~{os.getpid()}~entry")
        try:
            with open(tmp_entry, "w", encoding="utf-8") as f:
                json.dump({"name": name, "bytes": entry["bytes"], "files": entry["files"],
                           "evictable": evictable}, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp_entry, self._entry_path(name))
        except BaseException:
            if os.path.lexists(tmp_entry):
                os.unlink(tmp_entry)
            raise
        fsync_dir(self.entries)
        os.replace(staged, self.path(name))
        fsync_dir(self.root)

    def remove(self, name: str) -> None:
        """Takes ``name`` out of the cache (call with its exclusive lock held): its entry file
        first, so that what remains never looks complete, then its files."""
        try:
            os.unlink(self._entry_path(name))
        except FileNotFoundError:
            pass
        path = self.path(name)
        if os.path.lexists(path):
            trash = os.path.join(self.tmp, f"{name}~{os.getpid()}~{secrets.token_hex(4)}")
            os.replace(path, trash)
            _remove_tree(trash)


def evict_lru(cache_dir: str, limit: int, keep: tuple[str, str]) -> list[tuple[str, str]]:
    """Removes the least recently used complete shards of every dataset under ``cache_dir``
    until their bytes fit in ``limit``; never ``keep`` (root, name), never a shard whose lock
    another holder has (a reader's shared lock). Returns the (root, name) removed."""
    shards = []
    try:
        roots = [os.path.join(cache_dir, d) for d in os.listdir(cache_dir)]
    except FileNotFoundError:
        return []
    for root in roots:
        cache = DatasetCache(root)
        try:
            names = [f[:-5] for f in os.listdir(cache.entries) if f.endswith(".json")]
        except (FileNotFoundError, NotADirectoryError):
            continue
        for name in names:
            rec = cache.recorded(name)
            if rec is not None and isinstance(rec.get("bytes"), int) and rec.get("evictable"):
                shards.append((cache.last_used(name), cache, name, rec["bytes"]))
    total = sum(s[3] for s in shards)
    removed = []
    for _, cache, name, size in sorted(shards, key=lambda s: s[0]):
        if total <= limit:
            break
        if (cache.root, name) == keep:
            continue
        fd = cache.try_lock_exclusive(name)
        if fd is None:
            continue
        try:
            if cache.recorded(name) is None:  # removed meanwhile by another process
                total -= size
                continue
            cache.remove(name)
        finally:
            os.close(fd)
        total -= size
        removed.append((cache.root, name))
    return removed


def no_space(exc: OSError) -> bool:
    """True for a full disk (or quota)."""
    return exc.errno in (errno.ENOSPC, errno.EDQUOT)
