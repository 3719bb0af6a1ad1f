"""Sharded datasets on web servers and in object storage, fetched into a verified local cache
shared between processes: RemoteShards, RemoteError, and parse_size for cache limits."""

from .errors import RemoteError
from .index import parse_size
from .shards import RemoteShards

__all__ = ["RemoteShards", "RemoteError", "parse_size"]
