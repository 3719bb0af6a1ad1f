"""nc.pack_images: an ImageFolder tree or a CSV of ``path,label`` -> an ImageSet folder.

Images are probed (header only) to size the pixel array, then decoded (and shrunk with
``max_side``) by Pillow in a thread pool straight into a memory-mapped pixels.npy. Everything is
written under a temporary name beside ``out`` and renamed into place at the end, so an
interrupted pack never leaves a folder that looks complete.

>>> summary = nc.pack_images("photos/", "photos.nc", max_side=512)   # doctest: +SKIP
>>> ds = nc.ImageSet.open("photos.nc")                              # doctest: +SKIP
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import secrets
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ._image_set import FORMAT_VERSION, MANIFEST
from ._pack_jpeg import PACK_FORMATS, write_jpeg_images
from ._storage import create_npy

__all__ = ["pack_images", "PackSummary", "IMAGE_EXTENSIONS"]

#: File endings packed from an ImageFolder tree (torchvision's IMG_EXTENSIONS).
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")


@dataclasses.dataclass
class PackSummary:
    """What pack_images wrote."""
    out: str
    images: int
    classes: int
    bytes: int
    skipped: list
    seconds: float

    def __str__(self) -> str:
        lines = [f"packed {self.images} images, {self.classes} classes, "
                 f"{self.bytes / 2**20:.1f} MiB of pixels into {self.out} in {self.seconds:.1f} s"]
        if self.skipped:
            lines.append(f"skipped {len(self.skipped)} files (listed in {MANIFEST}):")
            lines += [f"  {s['path']}: {s['error']}" for s in self.skipped[:20]]
            if len(self.skipped) > 20:
                lines.append(f"  ... and {len(self.skipped) - 20} more")
        return "\n".join(lines)


def _image_folder(root: str):
    classes = sorted(e.name for e in os.scandir(root) if e.is_dir() and not e.name.startswith("."))
    if not classes:
        raise ValueError(f"{root}: no class folders (an ImageFolder tree is SRC/<class>/<image>)")
    items = []
    for label, name in enumerate(classes):
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, name), followlinks=True):
            dirnames.sort()
            for f in sorted(filenames):
                if f.lower().endswith(IMAGE_EXTENSIONS):
                    items.append((os.path.join(dirpath, f), label))
    return items, classes


def _csv_items(path: str):
    base = os.path.dirname(os.path.abspath(path))
    rows = []
    with open(path, newline="", encoding="utf-8") as f:
        try:
            lines = list(enumerate(csv.reader(f), 1))
        except UnicodeDecodeError as exc:
            raise ValueError(f"{path}: not a CSV of 'path,label' rows in UTF-8 ({exc})") from None
        for lineno, row in lines:
            if not row or not "".join(row).strip():
                continue
            if len(row) != 2:
                raise ValueError(f"{path}:{lineno}: expected 'path,label', got {len(row)} fields")
            if lineno == 1 and [c.strip().lower() for c in row] == ["path", "label"]:
                continue
            rows.append((os.path.join(base, row[0].strip()), row[1].strip(), lineno))
    labels = [r[1] for r in rows]
    try:
        ints = [int(v) for v in labels]
        classes = None
    except ValueError:
        classes = sorted(set(labels))
        index = {c: i for i, c in enumerate(classes)}
        ints = [index[v] for v in labels]
    integer_labels = zip(rows, ints) if classes is None else []
    for (_, text, lineno), v in integer_labels:
        if v < 0:
            raise ValueError(f"{path}:{lineno}: label {text} is negative")
        if v >= 2**62:  # stored as int64, and num_classes is the largest + 1: both must fit
            raise ValueError(f"{path}:{lineno}: label {text} is too large (integer labels are "
                             "class numbers below 2**62)")
    return [(r[0], v) for r, v in zip(rows, ints)], classes


def _count_arg(name: str, value) -> int:
    """A count option (>= 1) as a Python int (a NumPy integer goes into the JSON manifest):
    TypeError unless an integer (bools are not), ValueError below 1."""
    if not isinstance(value, (int, np.integer)) or isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} {value!r} must be >= 1")
    return int(value)


def _target_size(w: int, h: int, max_side: int | None) -> tuple[int, int]:
    if max_side is None or max(w, h) <= max_side:
        return w, h
    s = max_side / max(w, h)
    return max(1, round(w * s)), max(1, round(h * s))


def _progress(total: int, enabled: bool):
    """A rich progress bar (images/s, ETA), or a no-op when disabled or rich is missing."""
    if not enabled:
        return None
    try:
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                   TimeElapsedColumn, TimeRemainingColumn)
    except ImportError:
        return None

    class Rate(TextColumn):
        def render(self, task):
            speed = task.finished_speed or task.speed
            return f"{speed:,.0f} img/s" if speed else "- img/s"

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    Rate(""), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                    transient=False)


def pack_images(src, out, *, max_side: int | None = None, threads: int | None = None,
                on_error: str = "fail", overwrite: bool = False,
                progress: bool = False, format: str = "raw", quality: int = 90) -> PackSummary:
    """Packs ``src`` (an ImageFolder tree ``SRC/<class>/<image>``, labels by sorted class name,
    or a CSV of ``path,label`` rows, paths relative to the CSV) into the ImageSet folder ``out``
    (uint8 RGB). ``max_side`` shrinks the longer side of larger images to that many pixels
    (Pillow's antialiased bilinear filter). ``on_error="skip"`` lists unreadable files in the
    manifest and the summary instead of failing. An existing ``out`` is an error unless
    ``overwrite`` (and only an ImageSet folder is ever replaced). ``format`` is how images are
    stored: ``"raw"`` pixels (default), ``"jpeg"`` (re-encoded by Pillow at ``quality``) or
    ``"keep"`` (a JPEG input's own bytes when no resize is needed, others re-encoded); a JPEG
    set is several times smaller and is decoded when read. Returns a PackSummary.

    >>> summary = nc.pack_images("photos/", "photos.nc", max_side=512, on_error="skip")
    >>> print(summary)          # images, classes, bytes, skipped files
    """
    from PIL import Image  # Pillow: only needed to pack

    t0 = time.perf_counter()
    src, out = os.fspath(src), os.fspath(out)
    if on_error not in ("skip", "fail"):
        raise ValueError(f"on_error {on_error!r} is not one of 'skip', 'fail'")
    if max_side is not None:
        max_side = _count_arg("max_side", max_side)
    if format not in PACK_FORMATS:
        raise ValueError(f"format {format!r} is not one of {', '.join(map(repr, PACK_FORMATS))}")
    if (not isinstance(quality, (int, np.integer)) or isinstance(quality, bool)
            or not 1 <= quality <= 100):
        raise ValueError(f"quality {quality!r} must be an integer from 1 to 100")
    threads = min(8, os.cpu_count() or 1) if threads is None else _count_arg("threads", threads)
    if not os.path.exists(src):
        raise FileNotFoundError(2, "no such image folder or CSV", src)
    out = out.rstrip(os.sep) or out
    if os.path.lexists(out):
        if not overwrite:
            raise FileExistsError(17, "output exists (pass overwrite=True / --overwrite)", out)
        if not (os.path.isdir(out) and os.path.exists(os.path.join(out, MANIFEST))):
            raise FileExistsError(17, "output exists and is not an ImageSet folder; "
                                      "refusing to replace it", out)
    if os.path.isdir(src):
        items, classes = _image_folder(src)
    else:
        items, classes = _csv_items(src)
    if not items:
        raise ValueError(f"{src}: no images found")

    skipped: list[dict] = []
    lock = threading.Lock()

    def fail_or_skip(path, exc):
        if on_error == "fail":
            raise ValueError(f"{path}: cannot read image ({exc}); pass on_error='skip' "
                             "(--on-error skip) to leave it out") from exc
        with lock:
            skipped.append({"path": path, "error": str(exc) or type(exc).__name__})

    def probe(item):
        try:
            with Image.open(item[0]) as im:
                return _target_size(*im.size, max_side)
        except Exception as exc:  # noqa: BLE001 - any decode failure is the file's
            fail_or_skip(item[0], exc)
            return None

    parent = os.path.dirname(os.path.abspath(out))
    tmp = os.path.join(parent, f".{os.path.basename(out)}.tmp-{os.getpid()}-{secrets.token_hex(4)}")
    bar = _progress(len(items), progress)
    pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="nocopy-pack")
    try:
        if bar:
            bar.start()
        sizes = list(pool.map(probe, items))
        keep = [k for k, s in enumerate(sizes) if s is not None]
        if not keep:
            raise ValueError(f"{src}: no readable images ({len(skipped)} skipped)")
        shapes = np.array([(sizes[k][1], sizes[k][0], 3) for k in keep], np.int64)
        counts = shapes.prod(axis=1)
        ends = np.cumsum(-(-counts // 64) * 64)            # each start 64-byte aligned
        offsets = np.concatenate([[0], ends[:-1]]).astype(np.int64)
        os.mkdir(tmp, 0o755)
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
                    with Image.open(path) as im:
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
        num_classes = len(classes) if classes is not None else int(labels.max()) + 1
        manifest = {
            "format_version": FORMAT_VERSION, "num_images": int(len(shapes)),
            "num_classes": num_classes, "classes": classes, "dtype": "uint8", "channels": 3,
            "pixel_bytes": int(ends[-1]), "max_side": max_side, "source": os.path.abspath(src),
            "skipped": skipped, **jpeg_info,
        }
        with open(os.path.join(tmp, MANIFEST), "w", encoding="utf-8") as f:
            json.dump(manifest, f, indent=1)
        # Move into place; an old ImageSet (overwrite) goes only after the new one is there.
        old = None
        if os.path.lexists(out):
            old = tmp + ".old"
            os.rename(out, old)
        os.rename(tmp, out)
        if old:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        pool.shutdown(wait=True)
        if bar:
            bar.stop()
    return PackSummary(out, int(len(shapes)), num_classes, int(ends[-1]), skipped,
                       time.perf_counter() - t0)
