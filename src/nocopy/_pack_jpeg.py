"""The JPEG side of nc.pack_images (format="jpeg" | "keep"): each image encoded (or, with "keep",
its original JPEG file kept when no resize is needed and nocopy's decoder reads it) by worker
threads and streamed in order into jpeg.npy, with byte offsets and lengths beside it."""

from __future__ import annotations

import io
import os

import numpy as np

from . import _nocopy
from ._pack_inputs import open_image

__all__ = ["PACK_FORMATS", "write_jpeg_images"]

#: Storage formats of pack_images: raw pixels, JPEG re-encoded, original JPEG kept when possible.
PACK_FORMATS = ("raw", "jpeg", "keep")

# A version 1.0 .npy header of a 1-d uint8 array is 128 bytes for any length below 10**16.
_HEADER_BYTES = 128


def _npy_header(n: int) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": "|u1", "fortran_order": False, "shape": (n,)})
    return buf.getvalue()


def _kept_bytes(f, size: tuple[int, int], im) -> bytes | None:
    """The bytes of the open file ``f`` when it is a JPEG of the wanted size that nocopy
    decodes. The check decodes it as a fresh decoder does (no tables left from the images this
    thread read before), so a file that only decodes with another file's tables (no DQT) is not
    kept."""
    if im.format != "JPEG" or im.size != size:
        return None
    f.seek(0)
    data = f.read()
    try:
        h, w, _ = _nocopy.jpeg_info(data)
        if (w, h) != size:
            return None
        _nocopy.jpeg_decode(data)  # strict: files with corrupt-data warnings are re-encoded
    except ValueError:
        return None
    return data


def write_jpeg_images(tmp: str, paths, shapes: np.ndarray, pool, fail_or_skip, advance,
                      keep_original: bool, quality: int):
    """Writes jpeg.npy (and lengths) in ``tmp`` for ``paths`` decoded by Pillow and resized to
    ``shapes`` (H, W, 3), encoded at ``quality`` (4:2:0, as Pillow's default), or kept as they
    are (``keep_original``). Returns (ok mask, byte offsets, lengths, total bytes, kept count).
    Unreadable files go through ``fail_or_skip``."""
    from PIL import Image

    if not _nocopy.jpeg_available():
        raise RuntimeError("pack format 'jpeg'/'keep' needs nocopy built with libjpeg "
                           "(install libjpeg62-turbo-dev and rebuild)")
    n = len(paths)
    ok = np.ones(n, bool)
    kept = np.zeros(n, bool)

    def encode(j):
        path = paths[j]
        h, w = int(shapes[j, 0]), int(shapes[j, 1])
        try:
            with open_image(path) as (f, im):
                if keep_original:
                    data = _kept_bytes(f, (w, h), im)
                    if data is not None:
                        kept[j] = True
                        return data
                im = im.convert("RGB")
                if im.size != (w, h):
                    im = im.resize((w, h), Image.Resampling.BILINEAR)
                buf = io.BytesIO()
                im.save(buf, "JPEG", quality=quality)
                return buf.getvalue()
        except Exception as exc:  # noqa: BLE001 - any decode failure is the file's
            fail_or_skip(path, exc)
            ok[j] = False
            return b""
        finally:
            advance()

    offsets = np.zeros(n, np.int64)
    lengths = np.zeros(n, np.int64)
    total = 0
    target = os.path.join(tmp, "jpeg.npy")
    with open(target, "wb") as f:
        f.write(b"\0" * _HEADER_BYTES)
        for j, data in enumerate(pool.map(encode, range(n))):
            offsets[j], lengths[j] = total, len(data)
            f.write(data)
            total += len(data)
        header = _npy_header(total)
        if len(header) != _HEADER_BYTES:
            raise OverflowError(f"{target}: {total} bytes do not fit a .npy header of "
                                f"{_HEADER_BYTES} bytes")
        f.seek(0)
        f.write(header)
    return ok, offsets, lengths, total, int(kept[ok].sum())
