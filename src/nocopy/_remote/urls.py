"""Which store reads a dataset URL, and the cache key of a URL."""

from __future__ import annotations

import hashlib
import os
import re
import urllib.parse

__all__ = ["SCHEMES", "is_url", "no_remote_options", "local_path", "open_store", "dataset_key", "default_cache_dir"]

#: The URL forms a remote dataset may have (anything else is a local path).
SCHEMES = ("http://", "https://", "s3://")


def is_url(path) -> bool:
    """True when ``path`` is a remote dataset's URL (one of SCHEMES), not a local path."""
    return isinstance(path, str) and path.lower().startswith(SCHEMES)


def no_remote_options(path, options: dict) -> None:
    """TypeError when a local folder is opened with a remote dataset's options."""
    if options:
        raise TypeError(f"{', '.join(sorted(options))}: options of a remote dataset (a URL), "
                        f"not of the folder {path!r}")


def local_path(url: str) -> str | None:
    """The local folder that ``url`` names (a plain path or file://), None for a remote URL;
    ValueError for a scheme that is not supported."""
    if url.startswith("file://"):
        return urllib.parse.unquote(urllib.parse.urlsplit(url).path)
    if url.lower().startswith(SCHEMES):
        return None
    m = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://", url)
    if m:
        raise ValueError(f"{url!r}: scheme {m.group(1)!r} is not supported (use a local path, "
                         "file://, http://, https:// or s3://)")
    return url


def open_store(url: str, storage_options: dict | None):
    """The store that reads the files under the remote ``url``."""
    options = dict(storage_options or {})
    if url.lower().startswith(("http://", "https://")):
        from .http_store import HttpStore as store_class
    else:
        from .s3_store import S3Store as store_class
    unknown = sorted(set(options) - set(store_class.OPTIONS))
    if unknown:
        raise ValueError(f"storage_options {unknown} are not understood for {url!r} (known: "
                         f"{', '.join(store_class.OPTIONS)})")
    return store_class(url, options)


def dataset_key(url: str) -> str:
    """The cache folder name of the dataset at ``url``: a readable part of the URL (host and
    last path part) and 16 hex digits of its SHA-256."""
    norm = url.rstrip("/")
    parts = urllib.parse.urlsplit(norm)
    last = parts.path.rstrip("/").rpartition("/")[2]
    readable = re.sub(r"[^A-Za-z0-9._-]+", "-", f"{parts.netloc}-{last}").strip("-.")[:48]
    return f"{readable or 'dataset'}-{hashlib.sha256(norm.encode()).hexdigest()[:16]}"


def default_cache_dir() -> str:
    """$NOCOPY_CACHE_DIR, else $XDG_CACHE_HOME/nocopy/remote, else ~/.cache/nocopy/remote."""
    if os.environ.get("NOCOPY_CACHE_DIR"):
        return os.environ["NOCOPY_CACHE_DIR"]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "nocopy", "remote")
