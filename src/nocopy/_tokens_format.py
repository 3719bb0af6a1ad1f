"""The token shard layout that nc.open_tokens reads, local or remote: the index's format and
dtype checked, and one shard file mapped as a zero-copy 1-d View checked against its entry."""

from __future__ import annotations

import numpy as np

from ._sequence import open_raw
from ._shards_format import INDEX
from ._storage import open_npy

__all__ = ["FORMATS", "token_layout", "open_shard_file"]

#: The shard file formats pack_tokens writes.
FORMATS = ("bin", "npy")


def token_layout(index: dict, where: str) -> tuple[str, np.dtype]:
    """(format, dtype) of the token dataset whose index is ``index`` (read from ``where``);
    ValueError naming ``where`` when it is not a token dataset or either is not understood."""
    if index["kind"] != "tokens":
        raise ValueError(f"{where}: kind {index['kind']!r}: not a token dataset (open "
                         "images with nc.ImageSet.open, videos with nc.VideoSet.open)")
    if index.get("format") not in FORMATS:
        raise ValueError(f"{where}: format {index.get('format')!r} is not 'bin' or 'npy'")
    try:
        if not isinstance(index.get("dtype"), str):
            raise TypeError
        dtype = np.dtype(index["dtype"])
    except TypeError:
        raise ValueError(f"{where}: dtype {index.get('dtype')!r} is not a dtype") from None
    return index["format"], dtype


def open_shard_file(path: str, fmt: str, dtype: np.dtype, tokens: int):
    """The token shard file ``path`` mapped as a zero-copy 1-d View, checked against its index
    entry (``tokens`` of ``dtype``; ValueError naming the file otherwise)."""
    v = open_npy(path) if fmt == "npy" else open_raw(path, dtype)
    if v.shape != (tokens,) or np.dtype(v.dtype) != dtype:
        raise ValueError(f"{path}: {v.shape} {v.dtype} tokens, but {INDEX} lists "
                         f"({tokens},) {dtype}")
    return v
