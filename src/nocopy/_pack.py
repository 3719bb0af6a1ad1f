"""nc.pack_images: an ImageFolder tree or a CSV of ``path,label`` -> an ImageSet folder.

Images are probed (header only) to size the pixel array, then decoded (and shrunk with
``max_side``) by Pillow in a thread pool straight into a memory-mapped pixels.npy, its disk
space reserved first (a full disk is an OSError, never a SIGBUS). Everything is written under a
temporary name beside ``out`` and moved into place at the end without replacing anything that
appeared there meanwhile (see _pack_output), so an interrupted pack never leaves a folder that
looks complete and a pack never removes what it did not create.

>>> summary = nc.pack_images("photos/", "photos.nc", max_side=512)   # doctest: +SKIP
>>> ds = nc.ImageSet.open("photos.nc")                              # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import json
import os
import time

import numpy as np

from ._image_set import FORMAT_VERSION, MANIFEST
from ._pack_inputs import IMAGE_EXTENSIONS, open_image
from ._pack_jpeg import PACK_FORMATS, write_jpeg_images
from ._pack_steps import (check_on_error, count_arg, default_threads, list_inputs,
                          progress_bar, shards_note, skip_handler, skipped_lines)
from ._pack_output import output_target, write_into_place
from ._printable import printable
from ._storage import create_npy

__all__ = ["pack_images", "PackSummary", "IMAGE_EXTENSIONS"]


@dataclasses.dataclass
class PackSummary:
    """What pack_images wrote."""
    out: str
    images: int
    classes: int
    bytes: int
    skipped: list
    seconds: float
    shards: int = 0   # shards written (shard_size or a part), 0 for one ImageSet folder

    def __str__(self) -> str:
        # File names and messages escaped: a name holding a newline or an escape sequence can
        # neither forge a line of the summary nor reach the terminal.
        lines = [f"packed {self.images} images, {self.classes} classes, "
                 f"{self.bytes / 2**20:.1f} MiB of pixels into {printable(self.out)} in "
                 f"{self.seconds:.1f} s" + shards_note(self.shards)]
        return "\n".join(lines + skipped_lines(self.skipped))


def _target_size(w: int, h: int, max_side: int | None) -> tuple[int, int]:
    if max_side is None or max(w, h) <= max_side:
        return w, h
    s = max_side / max(w, h)
    return max(1, round(w * s)), max(1, round(h * s))


def pack_images(src, out, *, max_side: int | None = None, threads: int | None = None,
                on_error: str = "fail", overwrite: bool = False,
                progress: bool = False, format: str = "raw", quality: int = 90,
                shard_size=None, num_shards: int | None = None,
                shard_index: int | None = None) -> PackSummary:
    """Packs ``src`` (an ImageFolder tree ``SRC/<class>/<image>``, labels by sorted class name,
    or a CSV of ``path,label`` rows, paths relative to the CSV) into the ImageSet folder ``out``
    (uint8 RGB). ``max_side`` shrinks the longer side of larger images to that many pixels
    (Pillow's antialiased bilinear filter). ``on_error="skip"`` lists unreadable files (and
    FIFOs, devices or sockets, which are never opened) in the manifest and the summary instead
    of failing. Symbolic links are followed, each real folder and file packed once (loops are
    listed as skipped). ``format`` is how images are stored: ``"raw"`` pixels (default),
    ``"jpeg"`` (re-encoded by Pillow at ``quality``) or ``"keep"`` (a JPEG input's own bytes
    when no resize is needed, others re-encoded); a JPEG set is several times smaller and is
    decoded when read. Returns a PackSummary.

    ``shard_size`` (bytes, or a text such as ``"256MB"``) writes ``out`` as shards, each a
    complete ImageSet folder, with an index.json (see docs/SHARDS.md); ``num_shards`` and
    ``shard_index`` pack only slice ``shard_index`` of ``num_shards`` as a part, for
    nc.merge_shards to index once every part is written.

    An existing ``out`` is a FileExistsError unless ``overwrite``, and then only an ImageSet
    folder holding nothing but ImageSet files is replaced, atomically (through a symbolic link
    ``out``, the folder it names). An ``out`` that appears while the pack runs is never
    replaced or removed: the pack fails with FileExistsError. A full disk is an OSError
    (ENOSPC); a failed pack leaves no temporary folder.

    >>> summary = nc.pack_images("photos/", "photos.nc", max_side=512, on_error="skip")
    >>> print(summary)          # images, classes, bytes, skipped files
    """
    t0 = time.perf_counter()
    src, out = os.fspath(src), os.fspath(out)
    check_on_error(on_error)
    if max_side is not None:
        max_side = count_arg("max_side", max_side)
    if format not in PACK_FORMATS:
        raise ValueError(f"format {format!r} is not one of {', '.join(map(repr, PACK_FORMATS))}")
    if (not isinstance(quality, (int, np.integer)) or isinstance(quality, bool)
            or not 1 <= quality <= 100):
        raise ValueError(f"quality {quality!r} must be an integer from 1 to 100")
    threads = default_threads(threads)
    if not os.path.exists(src):
        raise FileNotFoundError(2, "no such image folder or CSV", src)
    out = out.rstrip(os.sep) or out

    def write(folder, items, classes, pool, fail_or_skip, skipped, bar, num_classes=None):
        return write_images(folder, items, classes, src, pool, fail_or_skip, skipped, bar,
                            max_side=max_side, format=format, quality=quality,
                            num_classes=num_classes)

    if shard_size is not None or num_shards is not None or shard_index is not None:
        from ._pack_shards import pack_sharded

        n, num_classes, nbytes, skipped, shards = pack_sharded(
            "image", src, out, write, shard_size=shard_size, num_shards=num_shards,
            shard_index=shard_index, threads=threads, on_error=on_error, overwrite=overwrite,
            progress=progress)
        return PackSummary(out, n, num_classes, nbytes, skipped, time.perf_counter() - t0,
                           shards)
    target = output_target(out, overwrite)  # OUT, or the folder a link OUT names

    skipped, fail_or_skip = skip_handler(on_error, "cannot read image")
    items, classes = list_inputs(src, IMAGE_EXTENSIONS, skipped, fail_or_skip)
    if not items:
        raise ValueError(f"{src}: no images found")
    bar = progress_bar(progress)
    n, num_classes, nbytes = write_into_place(
        out, target, overwrite, threads, bar,
        lambda tmp, pool: write(tmp, items, classes, pool, fail_or_skip, skipped, bar))
    return PackSummary(out, n, num_classes, nbytes, skipped, time.perf_counter() - t0)


def write_images(tmp, items, classes, src, pool, fail_or_skip, skipped, bar, *, max_side,
                 format, quality, num_classes=None) -> tuple[int, int, int]:
    """Writes ``items`` ((path, label) pairs) as one ImageSet into the existing folder ``tmp``:
    probes, decodes (or encodes) with ``pool``, writes the arrays and the manifest. Returns
    (images, classes, bytes of pixels or encoded data). ``num_classes`` overrides the count
    taken from ``classes`` or the largest label (a shard of a larger listing)."""
    from PIL import Image  # Pillow: only needed to pack

    def probe(item):
        try:
            with open_image(item[0]) as (_, im):
                return _target_size(*im.size, max_side)
        except Exception as exc:  # noqa: BLE001 - any decode failure is the file's
            fail_or_skip(item[0], exc)
            return None

    sizes = list(pool.map(probe, items))
    keep = [k for k, s in enumerate(sizes) if s is not None]
    if not keep:
        raise ValueError(f"{src}: no readable images ({len(skipped)} skipped)")
    shapes = np.array([(sizes[k][1], sizes[k][0], 3) for k in keep], np.int64)
    counts = shapes.prod(axis=1)
    ends = np.cumsum(-(-counts // 64) * 64)            # each start 64-byte aligned
    offsets = np.concatenate([[0], ends[:-1]]).astype(np.int64)
    jpeg_info = {}
    if format != "raw":  # JPEG bytes streamed into jpeg.npy
        task = bar.add_task("packing", total=len(keep)) if bar else None
        ok, offsets, lengths, total, kept = write_jpeg_images(
            tmp, [items[k][0] for k in keep], shapes, pool, fail_or_skip,
            (lambda: bar.advance(task)) if bar else (lambda: None), format == "keep", quality)
        ends = np.array([total])
        jpeg_info = {"storage": "jpeg", "quality": quality, "jpeg_bytes": int(total),
                     "kept_originals": kept}
        labels = np.array([items[keep[j]][1] for j in range(len(keep))], np.int64)[ok]
        shapes, offsets = shapes[ok], offsets[ok]
        if len(shapes) == 0:
            raise ValueError(f"{src}: no readable images ({len(skipped)} skipped)")
    else:
        pixels_view = create_npy(os.path.join(tmp, "pixels.npy"), (int(ends[-1]),), "uint8")
        pixels = np.asarray(pixels_view)
        ok = np.ones(len(keep), bool)
        task = bar.add_task("packing", total=len(keep)) if bar else None

        def decode(j):
            path = items[keep[j]][0]
            h, w = int(shapes[j, 0]), int(shapes[j, 1])
            try:
                with open_image(path) as (_, im):
                    im = im.convert("RGB")
                    if im.size != (w, h):
                        im = im.resize((w, h), Image.Resampling.BILINEAR)
                    a = np.asarray(im)
                    if a.shape != (h, w, 3):
                        raise ValueError(f"decoded shape {a.shape} differs from the header's")
                    pixels[offsets[j]:offsets[j] + a.size] = a.reshape(-1)
            except Exception as exc:  # noqa: BLE001
                fail_or_skip(path, exc)
                ok[j] = False
            if bar:
                bar.advance(task)

        for _ in pool.map(decode, range(len(keep))):
            pass
        labels = np.array([items[keep[j]][1] for j in range(len(keep))], np.int64)[ok]
        shapes, offsets = shapes[ok], offsets[ok]
        if len(shapes) == 0:
            raise ValueError(f"{src}: no readable images ({len(skipped)} skipped)")
        del pixels
        del pixels_view  # unmapped once the last view goes
    np.save(os.path.join(tmp, "shapes.npy"), shapes)
    np.save(os.path.join(tmp, "offsets.npy"), offsets)
    np.save(os.path.join(tmp, "labels.npy"), labels)
    if format != "raw":
        np.save(os.path.join(tmp, "lengths.npy"), lengths[ok])
    skipped.sort(key=lambda s: s["path"])
    if num_classes is None:
        num_classes = len(classes) if classes is not None else int(labels.max()) + 1
    manifest = {
        "format_version": FORMAT_VERSION, "kind": "image", "num_images": int(len(shapes)),
        "num_classes": num_classes, "classes": classes, "dtype": "uint8", "channels": 3,
        "pixel_bytes": int(ends[-1]), "max_side": max_side, "source": os.path.abspath(src),
        "skipped": skipped, **jpeg_info,
    }
    with open(os.path.join(tmp, MANIFEST), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=1)
    return int(len(shapes)), num_classes, int(ends[-1])
