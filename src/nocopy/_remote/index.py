"""The checks of a sharded dataset's index.json as read from a store (sizes such as "10GB": the
shards format's parse_size).

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

import json
import re

from .._shards_format import parse_size

__all__ = ["INDEX", "FORMAT_VERSION", "KINDS", "parse_index", "parse_size", "shard_paths"]

#: Name of the index inside a sharded dataset folder.
INDEX = "index.json"
#: The index format this module reads.
FORMAT_VERSION = 1
#: What a sharded dataset may hold.
KINDS = ("image", "video", "tokens")
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def _count(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _check_files(where: str, files, fail) -> None:
    if not isinstance(files, dict) or not files:
        fail(f"{where}: files must name the files")
    for name, e in files.items():
        if not isinstance(name, str) or not _SAFE_NAME.match(name) or name == INDEX \
                or not isinstance(e, dict) or not _count(e.get("bytes")) \
                or not isinstance(e.get("sha256"), str) or not _HEX64.match(e["sha256"]):
            fail(f"{where}: file entry {name!r} is not {{\"bytes\": n, \"sha256\": 64 hex "
                 "digits}} under a plain file name")


def parse_index(data: bytes, url: str) -> dict:
    """The index read from ``url`` (its bytes ``data``), every field checked: ValueError
    naming the URL and what is wrong (a shard or file name is one plain name, never a path)."""

    def fail(why: str):
        raise ValueError(f"{url}: {why}")

    try:
        index = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        fail(f"not a JSON index ({exc})")
    if not isinstance(index, dict):
        fail("not a JSON object")
    if index.get("format_version") != FORMAT_VERSION:
        fail(f"format_version {index.get('format_version')!r} is not supported (this nocopy "
             f"reads version {FORMAT_VERSION})")
    if index.get("kind") not in KINDS:
        fail(f"kind {index.get('kind')!r} is not one of {', '.join(KINDS)}")
    if not _count(index.get("num_samples")):
        fail(f"num_samples {index.get('num_samples')!r} is not a count")
    shards = index.get("shards")
    if not isinstance(shards, list):
        fail("shards must be a list")
    for s in shards:
        if not isinstance(s, dict) or not isinstance(s.get("name"), str) \
                or not _SAFE_NAME.match(s["name"]) or s["name"] == INDEX:
            fail(f"shard {s.get('name') if isinstance(s, dict) else s!r} has no valid name "
                 "(one plain file or folder name)")
        if not _count(s.get("num_samples")) or not _count(s.get("bytes")):
            fail(f"shard {s['name']}: num_samples and bytes must be counts")
        _check_files(f"shard {s['name']}", s.get("files"), fail)
        if index["kind"] == "tokens" and list(s["files"]) != [s["name"]]:
            fail(f"shard {s['name']}: a token shard is one file listed under its own name")
    if len({s["name"] for s in shards}) != len(shards):
        fail("two shards have the same name")
    if sum(s["num_samples"] for s in shards) != index["num_samples"]:
        fail(f"num_samples {index['num_samples']} is not the sum of the shards' "
             f"({sum(s['num_samples'] for s in shards)})")
    if "files" in index:
        _check_files("dataset", index["files"], fail)
        clash = set(index["files"]) & {s["name"] for s in shards}
        if clash:
            fail(f"dataset file {sorted(clash)[0]!r} has a shard's name")
    return index


def shard_paths(index: dict, shard: dict) -> list[tuple[str, dict]]:
    """(path relative to the dataset folder, entry) of each file of ``shard``."""
    if index["kind"] == "tokens":
        return [(shard["name"], shard["files"][shard["name"]])]
    return [(f"{shard['name']}/{name}", e) for name, e in shard["files"].items()]
