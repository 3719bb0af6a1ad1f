"""Splitting one packed ImageSet or VideoSet folder into shards: consecutive runs of samples,
each shard a complete set folder of its own (same classes, same label values), its data file
(pixels.npy, jpeg.npy or videos.npy) holding at most ``shard_size`` bytes of sample data unless
a single sample is larger. A sample's data bytes are what it takes in that file: a raw image's
pixels or a video's container bytes rounded up to 64 (each starts 64-byte aligned), a JPEG's
length."""

from __future__ import annotations

import json
import os

import numpy as np

from ._image_set import MANIFEST
from ._storage import create_npy

__all__ = ["group_by_size", "sample_bytes", "write_shard"]

_ALIGN = 64


def group_by_size(sizes, limit: int) -> list[tuple[int, int]]:
    """Consecutive [start, end) runs of the samples of ``sizes`` bytes: a run closes when the
    next sample would take it past ``limit`` bytes (a sample larger than ``limit`` alone)."""
    runs, start, total = [], 0, 0
    for k, size in enumerate(int(s) for s in sizes):
        if k > start and total + size > limit:
            runs.append((start, k))
            start, total = k, 0
        total += size
    if len(sizes):
        runs.append((start, len(sizes)))
    return runs


def _aligned(n: np.ndarray) -> np.ndarray:
    return -(-n // _ALIGN) * _ALIGN


def _load(folder: str, name: str, mmap: bool = False) -> np.ndarray:
    return np.load(os.path.join(folder, f"{name}.npy"), mmap_mode="r" if mmap else None)


def _manifest(folder: str) -> dict:
    with open(os.path.join(folder, MANIFEST), encoding="utf-8") as f:
        return json.load(f)


def sample_bytes(folder: str) -> np.ndarray:
    """(N,) int64: each sample's data bytes in the set folder ``folder`` (see the module)."""
    m = _manifest(folder)
    if m.get("kind") == "video":
        return _aligned(_load(folder, "lengths"))
    if m.get("storage") == "jpeg":
        return _load(folder, "lengths")
    return _aligned(_load(folder, "shapes").prod(axis=1))


def _copy_data(src: np.ndarray, dst_path: str, offsets: np.ndarray, lengths: np.ndarray,
               new_offsets: np.ndarray, total: int) -> None:
    """Writes the byte ranges [offsets, offsets + lengths) of ``src`` at ``new_offsets`` of a
    new .npy file of ``total`` bytes: one copy when the ranges already lie that way."""
    dst_view = create_npy(dst_path, (int(total),), "uint8")
    dst = np.asarray(dst_view)
    start = int(offsets[0])
    if np.array_equal(offsets - start, new_offsets) and start + total <= len(src):
        dst[:] = src[start:start + total]
    else:
        for o, n, d in zip(offsets.tolist(), lengths.tolist(), new_offsets.tolist()):
            dst[d:d + n] = src[o:o + n]
    del dst
    del dst_view


def _starts(lengths: np.ndarray, aligned: bool) -> tuple[np.ndarray, int]:
    ends = np.cumsum(_aligned(lengths) if aligned else lengths)
    return np.concatenate([[0], ends[:-1]]).astype(np.int64), int(ends[-1])


def _write_image_shard(whole: str, dest: str, a: int, b: int, m: dict) -> None:
    shapes = _load(whole, "shapes")[a:b]
    offsets = _load(whole, "offsets")[a:b]
    arrays = {"shapes": shapes, "labels": _load(whole, "labels")[a:b]}
    if m.get("storage") == "jpeg":
        lengths = _load(whole, "lengths")[a:b]
        new_offsets, total = _starts(lengths, aligned=False)
        _copy_data(_load(whole, "jpeg", mmap=True), os.path.join(dest, "jpeg.npy"), offsets,
                   lengths, new_offsets, total)
        arrays["lengths"] = lengths
        m["jpeg_bytes"] = total
        m.pop("kept_originals", None)  # counted for the whole pack, not per image
    else:
        counts = shapes.prod(axis=1)
        new_offsets, total = _starts(counts, aligned=True)
        _copy_data(_load(whole, "pixels", mmap=True), os.path.join(dest, "pixels.npy"),
                   offsets, counts, new_offsets, total)
        m["pixel_bytes"] = total
    arrays["offsets"] = new_offsets
    for name, arr in arrays.items():
        np.save(os.path.join(dest, f"{name}.npy"), np.ascontiguousarray(arr))
    m["num_images"] = b - a


def _write_video_shard(whole: str, dest: str, a: int, b: int, m: dict) -> None:
    lengths = _load(whole, "lengths")[a:b]
    new_offsets, total = _starts(lengths, aligned=True)
    _copy_data(_load(whole, "videos", mmap=True), os.path.join(dest, "videos.npy"),
               _load(whole, "offsets")[a:b], lengths, new_offsets, total)
    starts = _load(whole, "frame_starts")
    f0, f1 = int(starts[a]), int(starts[b])
    codecs = _load(whole, "codecs")[a:b]
    names = sorted({m["codecs"][c] for c in codecs.tolist()})
    arrays = {
        "offsets": new_offsets, "lengths": lengths,
        "shapes": _load(whole, "shapes")[a:b], "fps": _load(whole, "fps")[a:b],
        "time_bases": _load(whole, "time_bases")[a:b],
        "codecs": np.array([names.index(m["codecs"][c]) for c in codecs.tolist()], np.int64),
        "frame_starts": starts[a:b + 1] - f0, "pts": _load(whole, "pts")[f0:f1],
        "keyframes": _load(whole, "keyframes")[f0:f1], "labels": _load(whole, "labels")[a:b],
    }
    for name, arr in arrays.items():
        np.save(os.path.join(dest, f"{name}.npy"), np.ascontiguousarray(arr))
    m.update(num_videos=b - a, num_frames=f1 - f0, codecs=names, data_bytes=total)


def write_shard(whole: str, dest: str, a: int, b: int) -> None:
    """Writes samples [a, b) of the set folder ``whole`` as a complete set folder ``dest`` (made
    here): the data and index arrays sliced and re-based, the manifest's counts updated, its
    classes kept; skipped inputs are listed by the dataset's index, not by each shard."""
    m = _manifest(whole)
    os.mkdir(dest, 0o755)
    (_write_video_shard if m.get("kind") == "video" else _write_image_shard)(whole, dest, a, b, m)
    m["skipped"] = []
    with open(os.path.join(dest, MANIFEST), "w", encoding="utf-8") as f:
        json.dump(m, f, indent=1)
