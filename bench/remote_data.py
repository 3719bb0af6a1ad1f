"""The image data of bench/bench_remote.py: synthetic ImageNet-like JPEGs, and the same JPEG
bytes as WebDataset tar shards and as litdata's optimized chunks."""

from __future__ import annotations

import io
import os
import sys
import tarfile

import numpy as np


def make_jpegs(src: str, n: int, classes: int, seed: int) -> list:
    """``n`` ImageNet-like JPEGs (about 400x350, smooth content with some texture, quality 90)
    in an ImageFolder tree; returns [(path, label)] in sorted order."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        label = i % classes
        folder = os.path.join(src, f"c{label:03d}")
        os.makedirs(folder, exist_ok=True)
        h, w = int(rng.integers(300, 420)), int(rng.integers(340, 480))
        base = rng.integers(0, 256, (h // 16 + 1, w // 16 + 1, 3), dtype=np.uint8)
        img = Image.fromarray(base).resize((w, h), Image.BICUBIC)
        px = np.asarray(img, dtype=np.int16) + rng.integers(-12, 13, (h, w, 3), dtype=np.int16)
        path = os.path.join(folder, f"{i:06d}.jpg")
        Image.fromarray(np.clip(px, 0, 255).astype(np.uint8)).save(path, quality=90)
        out.append((path, label))
    return sorted(out)


def write_wds(files: list, out: str, shard_bytes: int) -> int:
    """WebDataset tar shards of the same JPEG bytes (key.jpg + key.cls); returns the count."""
    os.makedirs(out)
    k, size, tar = 0, 0, None
    for i, (path, label) in enumerate(files):
        if tar is None or size >= shard_bytes:
            if tar is not None:
                tar.close()
                k += 1
            tar, size = tarfile.open(os.path.join(out, f"shard-{k:05d}.tar"), "w"), 0
        for ext, data in (("jpg", open(path, "rb").read()), ("cls", str(label).encode())):
            info = tarfile.TarInfo(f"{i:06d}.{ext}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
            size += len(data) + 1024
    tar.close()
    return k + 1


def _litdata_sample(item):
    path, label = item
    return {"image": open(path, "rb").read(), "label": int(label)}


def write_litdata(files: list, out: str, shard_mb: int) -> None:
    """litdata's own format (optimize) holding the same JPEG bytes."""
    from litdata import optimize

    import multiprocessing

    # optimize() and its worker print progress on file descriptor 1: sent to stderr, so that
    # stdout holds the JSON alone.
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        optimize(fn=_litdata_sample, inputs=files, output_dir=out,
                 chunk_bytes=f"{shard_mb}MB", num_workers=1, mode="overwrite")
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
    # optimize() switches the process to "spawn"; every DataLoader here uses the default, fork.
    multiprocessing.set_start_method("fork", force=True)
