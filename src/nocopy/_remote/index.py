"""The sharded dataset format as the remote store reads it: index.json's check (parse_index)
and sizes such as "10GB" (parse_size) are the shards format's (nocopy._shards_format), named here
for the store's modules, plus where each shard's files lie.

index.json (format_version 1) lists the shards, each with its files' sizes and SHA-256::

    {"format_version": 1, "kind": "image" | "video" | "tokens", "num_samples": N,
     "classes": [...] | null,
     "shards": [{"name": "shard-00000", "num_samples": n, "bytes": b,
                 "files": {"manifest.json": {"bytes": .., "sha256": ..}, ...}}, ...],
     "files": {"labels.npy": {"bytes": .., "sha256": ..}, ...},     # optional, dataset-wide
     "skipped": [...]}

An image or video shard is a folder OUT/<name> holding its files; a token shard is one file
OUT/<name>, listed under its own name.
"""

from __future__ import annotations

from .._shards_format import INDEX, parse_index, parse_size

__all__ = ["INDEX", "parse_index", "parse_size", "shard_paths"]


def shard_paths(index: dict, shard: dict) -> list[tuple[str, dict]]:
    """(path relative to the dataset folder, entry) of each file of ``shard``."""
    if index["kind"] == "tokens":
        return [(shard["name"], shard["files"][shard["name"]])]
    return [(f"{shard['name']}/{name}", e) for name, e in shard["files"].items()]
