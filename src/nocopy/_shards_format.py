"""The sharded dataset format: a folder OUT holding shards and OUT/index.json, which lists them.

index.json (format_version 1)::

    {"format_version": 1,
     "kind": "image" | "video" | "tokens",
     "num_samples": N,                       # images, videos, or tokens
     "classes": [...] or null,               # the whole listing's classes (null for tokens)
     "shards": [{"name": "shard-00000", "num_samples": n, "bytes": b,
                 "files": {"manifest.json": {"bytes": .., "sha256": ".."}, ...}}, ...],
     "skipped": [{"path": .., "error": ..}, ...]}

An image or video shard is a folder OUT/<name>, a complete ImageSet or VideoSet with its own
manifest; ``files`` lists every file in it. A token shard is a file OUT/<name> (``.bin`` or
``.npy``), listed under its own name in ``files``; a tokens index also says the ``dtype`` and
``format`` ("bin" or "npy"). ``bytes`` is the sum of the shard's file sizes. Shards keep the
input's order (shard 0 first); a parallel part i writes shards ``part-{i:05d}-{k:05d}`` and
the partial index ``index.part-{i:05d}.json`` (the same fields, plus ``"part": {"index": i,
"count": N}``), which nc.merge_shards joins into index.json.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets

__all__ = ["INDEX", "INDEX_FORMAT_VERSION", "SHARD_KINDS", "shard_name", "part_shard_name",
           "part_index_name", "parse_size", "file_entry", "shard_entry", "write_json_atomic",
           "read_index", "parse_index", "check_index", "check_files", "verify_files", "write_sample_arrays", "SAMPLE_ARRAYS"]

#: Name of the index inside a sharded dataset folder.
INDEX = "index.json"
#: Version of the index format (index.json's "format_version").
INDEX_FORMAT_VERSION = 1
#: What a sharded dataset holds (index.json's "kind").
SHARD_KINDS = ("image", "video", "tokens")
#: A partial index written by one parallel part (index.part-00003.json).
PART_INDEX_PATTERN = re.compile(r"^index\.part-(\d{5,})\.json$")
#: What a shard's name may be: one plain name inside OUT, never a path.
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
#: A SHA-256 as index.json writes it: 64 lowercase hex digits.
_HEX64 = re.compile(r"^[0-9a-f]{64}$")

_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([a-z]*)\s*$", re.IGNORECASE)
_HASH_CHUNK = 1 << 22


def shard_name(k: int) -> str:
    """Name of shard k of a sharded pack."""
    return f"shard-{k:05d}"


def part_shard_name(i: int, k: int) -> str:
    """Name of shard k of parallel part i."""
    return f"part-{i:05d}-{k:05d}"


def part_index_name(i: int) -> str:
    """Name of parallel part i's partial index."""
    return f"index.part-{i:05d}.json"


def parse_size(value, what: str = "shard_size") -> int:
    """Bytes (>= 1) from an integer or a text: ``"256MB"`` (10**6), ``"1.5GiB"`` (2**30),
    ``"512KiB"``, ``"4096"``; units B, KB, MB, GB, TB, KiB, MiB, GiB, TiB, any case. ``what``
    names the option in messages (shard_size, cache_limit). TypeError for another type,
    ValueError for other text or a size below one byte."""
    if isinstance(value, bool) or not isinstance(value, (int, str)) and not hasattr(
            value, "__index__"):
        raise TypeError(f"{what} must be bytes (an integer) or a text such as '256MB', "
                        f"got {value!r}")
    if isinstance(value, str):
        m = _SIZE.match(value)
        if not m or m.group(2).lower() not in _UNITS:
            raise ValueError(f"{what} {value!r} is not a size such as '256MB', '1.5GiB' or "
                             "'512KiB'")
        number, unit = m.group(1), _UNITS[m.group(2).lower()]
        size = int(float(number) * unit) if "." in number else int(number) * unit
    else:
        size = int(value.__index__())
    if size < 1:
        raise ValueError(f"{what} {value!r} must be at least 1 byte")
    return size


def file_entry(path: str) -> dict:
    """{"bytes", "sha256"} of the file at ``path``."""
    h = hashlib.sha256()
    n = 0
    with open(path, "rb") as f:
        while chunk := f.read(_HASH_CHUNK):
            h.update(chunk)
            n += len(chunk)
    return {"bytes": n, "sha256": h.hexdigest()}


def shard_entry(out: str, name: str, num_samples: int) -> dict:
    """The index entry of shard ``name`` in ``out``: a folder (every file in it hashed) or one
    file (a token shard)."""
    path = os.path.join(out, name)
    if os.path.isdir(path):
        files = {f: file_entry(os.path.join(path, f)) for f in sorted(os.listdir(path))}
    else:
        files = {name: file_entry(path)}
    return {"name": name, "num_samples": int(num_samples),
            "bytes": sum(e["bytes"] for e in files.values()), "files": files}


#: The per-sample arrays of an image or video dataset gathered beside index.json (listed in its
#: top-level "files"; a video dataset's num_frames.npy too), so a reader can plan batches
#: before any shard is fetched.
SAMPLE_ARRAYS = ("shapes.npy", "labels.npy")


def write_sample_arrays(out: str, index: dict) -> None:
    """Writes OUT/shapes.npy and OUT/labels.npy (when the shards have labels), and for videos
    OUT/num_frames.npy (frames of each video): the shards' arrays end to end, and lists them in
    ``index["files"]`` (bytes, SHA-256). Nothing for tokens."""
    if index["kind"] == "tokens":
        return
    import numpy as np

    def load_all(name):
        paths = [os.path.join(out, sh["name"], name) for sh in index["shards"]]
        if not all(os.path.exists(p) for p in paths):
            return None
        return [np.load(p, allow_pickle=False) for p in paths]

    arrays = {name: load_all(name) for name in SAMPLE_ARRAYS}
    if index["kind"] == "video":
        starts = load_all("frame_starts.npy")
        arrays["num_frames.npy"] = None if starts is None else [np.diff(a) for a in starts]
    files = {}
    for name, parts in arrays.items():
        if parts is None:
            continue
        tmp = os.path.join(out, f".{name}.tmp")
        with open(tmp, "wb") as f:
            np.save(f, np.concatenate(parts), allow_pickle=False)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, os.path.join(out, name))
        files[name] = file_entry(os.path.join(out, name))
    index["files"] = files
    if index["kind"] == "image" and index["shards"]:
        # What a reader needs to know of the pixels before it opens a shard.
        with open(os.path.join(out, index["shards"][0]["name"], "manifest.json"),
                  encoding="utf-8") as f:
            manifest = json.load(f)
        index["format"] = manifest.get("storage", "raw")
        index["dtype"] = manifest.get("dtype", "uint8")


def write_json_atomic(path: str, obj) -> None:
    """Writes ``obj`` as JSON to ``path`` all at once: a temporary file beside it, flushed to
    disk, then renamed over ``path`` (a reader sees the old file or the whole new one)."""
    folder, base = os.path.split(os.path.abspath(path))
    tmp = os.path.join(folder, f".{base}.tmp-{os.getpid()}-{secrets.token_hex(4)}")
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(obj, f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.lexists(tmp):
            os.unlink(tmp)
        raise


def _fail(path: str, why: str):
    raise ValueError(f"{path}: {why}")


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


def check_index(index, where: str) -> dict:
    """``index`` (an index or partial index, parsed from JSON) with every field checked:
    ValueError "<where>: <what is wrong>" otherwise. A shard or file name is one plain name,
    never a path; a token shard is one file listed under its own name; the dataset-wide
    ``files`` never take a shard's name. The one check of the format, for local folders and
    remote stores alike."""

    def fail(why: str):
        _fail(where, why)

    if not isinstance(index, dict):
        fail("not a JSON object")
    if index.get("format_version") != INDEX_FORMAT_VERSION:
        fail(f"format_version {index.get('format_version')!r} is not supported (this nocopy "
             f"reads version {INDEX_FORMAT_VERSION})")
    if index.get("kind") not in SHARD_KINDS:
        fail(f"kind {index.get('kind')!r} is not one of {', '.join(SHARD_KINDS)}")
    if not _count(index.get("num_samples")):
        fail(f"num_samples {index.get('num_samples')!r} is not a count")
    classes = index.get("classes")
    if classes is not None and not (isinstance(classes, list)
                                    and all(isinstance(c, str) for c in classes)):
        fail("classes must be a list of names or null")
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
    if not isinstance(index.get("skipped", []), list):
        fail("skipped must be a list")
    return index


def parse_index(data: bytes, where: str) -> dict:
    """The index whose JSON bytes are ``data`` (read from ``where``: a path or a URL), checked
    (check_index)."""
    try:
        index = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        _fail(where, f"not a JSON index ({exc})")
    return check_index(index, where)


def read_index(path: str) -> dict:
    """The index (or partial index) at ``path``, its fields checked: ValueError naming the file
    and the field for anything out of format (check_index)."""
    with open(path, "rb") as f:
        return parse_index(f.read(), path)


def _shard_files(out: str, index: dict, shard: dict):
    """(path of each listed file, its entry) of ``shard``."""
    if index["kind"] == "tokens":
        return [(os.path.join(out, shard["name"]), shard["files"][name])
                for name in shard["files"]]
    return [(os.path.join(out, shard["name"], name), e) for name, e in shard["files"].items()]


def check_files(out: str, index: dict) -> None:
    """Every file the index lists is present with its listed size: ValueError naming the first
    that is not (no hashing: see verify_files)."""
    for shard in index["shards"]:
        for path, e in _shard_files(out, index, shard):
            try:
                size = os.stat(path).st_size
            except FileNotFoundError:
                raise ValueError(f"{path}: listed in {INDEX} but missing") from None
            if size != e["bytes"]:
                raise ValueError(f"{path}: {size} bytes, but {INDEX} lists {e['bytes']}")


def verify_files(out: str, index: dict) -> None:
    """Every file the index lists has its listed size and SHA-256 (each file read in full):
    ValueError naming the first that does not."""
    check_files(out, index)
    for shard in index["shards"]:
        for path, e in _shard_files(out, index, shard):
            got = file_entry(path)["sha256"]
            if got != e["sha256"]:
                raise ValueError(f"{path}: SHA-256 {got} differs from {INDEX}'s {e['sha256']} "
                                 "(the file is corrupt or was changed)")
