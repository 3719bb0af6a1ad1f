"""nc.pack_tokens and nc.open_tokens: a 1-d token stream written as shards (OUT/shard-00000.bin
... or .npy) with the sharded index (kind "tokens", see _shards_format), and read back as the
list of zero-copy views that nc.SequenceLoader takes (a URL: an nc.RemoteTokens, _remote_tokens).

>>> nc.pack_tokens("train.bin", "train.tokens", np.uint16, "256MB")   # doctest: +SKIP
>>> loader = nc.SequenceLoader(nc.open_tokens("train.tokens"), seq_len=1024, batch_size=8)
...                                                                     # doctest: +SKIP
"""

from __future__ import annotations

import os

import numpy as np

from ._pack_output import make_temp_folder, move_into_place, output_target, remove_if_ours
from ._remote.urls import is_url, no_remote_options
from ._shards_format import (INDEX, INDEX_FORMAT_VERSION, check_files, parse_size, read_index,
                             shard_entry, shard_name, write_json_atomic)
from ._tokens_format import FORMATS, open_shard_file, token_layout

__all__ = ["pack_tokens", "open_tokens"]


def _source(src, dtype):
    """(1-d array of the tokens, "bin" or "npy": the natural shard format)."""
    if isinstance(src, (str, os.PathLike)):
        path = os.fspath(src)
        if path.endswith(".npy"):
            return np.load(path, mmap_mode="r"), "npy"
        if dtype is None:
            raise TypeError(f"{path}: a .bin file has no header: pass its dtype")
        return np.memmap(path, dtype=np.dtype(dtype), mode="r"), "bin"
    return np.asarray(src), "npy"


def pack_tokens(src, out, dtype=None, shard_size="256MB", *, format: str | None = None,
                overwrite: bool = False) -> dict:
    """Writes the 1-d token stream ``src`` (a headerless .bin file of ``dtype``, a .npy file, or
    an array) into the folder ``out`` as consecutive shards of at most ``shard_size`` bytes
    (bytes or a text such as "256MB"; at least one token each), ``format`` "bin" (raw, as
    nanoGPT's train.bin) or "npy" (default: the source's kind, "npy" for an array), with an
    index.json listing each shard's token count, size and SHA-256. ``dtype`` converts .npy or
    array tokens (ValueError when a value does not fit). ``out`` is written and replaced as
    pack_images does. Returns the index.

    >>> nc.pack_tokens(np.arange(1000, dtype=np.uint16), "toy.tokens", shard_size=512)
    """
    size = parse_size(shard_size)
    tokens, natural = _source(src, dtype)
    fmt = natural if format is None else format
    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r} is not one of 'bin', 'npy'")
    if tokens.ndim != 1:
        raise ValueError(f"tokens must be 1-d, got shape {tokens.shape}")
    if tokens.dtype.kind not in "iu":
        raise TypeError(f"tokens must be integers, got {tokens.dtype}")
    want = tokens.dtype if dtype is None else np.dtype(dtype)
    if want.kind not in "iu":
        raise TypeError(f"dtype must be an integer type, got {want}")
    if want != tokens.dtype and tokens.size:
        info = np.iinfo(want)
        lo, hi = int(tokens.min()), int(tokens.max())
        if lo < info.min or hi > info.max:
            raise ValueError(f"token values {lo}..{hi} do not fit in {want}")
    if not tokens.size:
        raise ValueError("no tokens to pack")
    per_shard = max(1, size // want.itemsize)
    out = os.fspath(out).rstrip(os.sep) or os.fspath(out)
    target = output_target(out, overwrite)
    tmp, tmp_id = make_temp_folder(target)
    try:
        shards = []
        for k, start in enumerate(range(0, len(tokens), per_shard)):
            name = f"{shard_name(k)}.{fmt}"
            piece = np.ascontiguousarray(tokens[start:start + per_shard], dtype=want)
            if fmt == "npy":
                np.save(os.path.join(tmp, name), piece)
            else:
                piece.tofile(os.path.join(tmp, name))
            shards.append(shard_entry(tmp, name, len(piece)))
        index = {"format_version": INDEX_FORMAT_VERSION, "kind": "tokens",
                 "num_samples": int(len(tokens)), "classes": None, "dtype": want.str,
                 "format": fmt, "shards": shards, "skipped": []}
        write_json_atomic(os.path.join(tmp, INDEX), index)
        move_into_place(tmp, tmp_id, target, overwrite, out)
    except BaseException:
        remove_if_ours(tmp, tmp_id)
        raise
    return index


def open_tokens(path, **remote):
    """The shards of the token folder ``path`` (written by pack_tokens) as a list of zero-copy
    1-d Views, in order: nc.SequenceLoader(nc.open_tokens(path), ...) reads them as one dataset
    of windows within shards. The index is checked (kind, each file's size and the token count
    it implies); ValueError naming the file otherwise.

    A URL (``http(s)://``, ``s3://``) of a token folder opens as an nc.RemoteTokens, which
    nc.SequenceLoader reads shard by shard through a local cache; ``remote`` are its options
    (``cache_dir``, ``cache_limit``, ``storage_options``, ``timeout``, ``retries``,
    ``max_open``).

    >>> views = nc.open_tokens("toy.tokens")
    >>> shards = nc.open_tokens("https://data.example.com/toy.tokens")  # doctest: +SKIP
    """
    if is_url(path):
        from ._remote_tokens import RemoteTokens

        return RemoteTokens(path, **remote)
    no_remote_options(path, remote)
    folder = os.fsdecode(os.fspath(path))
    index_path = os.path.join(folder, INDEX)
    index = read_index(index_path)
    fmt, dtype = token_layout(index, index_path)
    check_files(folder, index)
    return [open_shard_file(os.path.join(folder, s["name"]), fmt, dtype, s["num_samples"])
            for s in index["shards"]]
