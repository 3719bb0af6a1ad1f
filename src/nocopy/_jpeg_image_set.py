"""JPEG ImageSets: an ImageSet folder whose images are stored as their JPEG files (one flat
uint8 jpeg.npy, byte offsets and lengths, the decoded shapes), written by
``nc.pack_images(..., format="jpeg" | "keep")`` and opened by ``nc.ImageSet.open``.

``ds[i]`` decodes image i with libjpeg-turbo (the same settings as Pillow: accurate integer IDCT,
fancy upsampling) into a new (H, W, 3) uint8 array: that is a decode, so a copy by nature;
``ds.encoded(i)`` is the zero-copy view of its bytes. ``nc.Loader(ds, ...)`` decodes in its C++
worker threads, fused with the sample pipeline: only the rows and iMCU columns of each window
are decoded (DCT-scaled by 1/2, 1/4 or 1/8 when the window is at least 4, 8 or 16 times the
crop on both sides), then resized, mirrored, normalized and written into the batch.
"""

from __future__ import annotations

import numpy as np

from . import _nocopy
from ._image_set import ImageSet, _open_checked, checked_index
from ._nocopy import View

__all__ = ["JpegImageSet", "JPEG_FILES"]

#: The .npy files of a JPEG ImageSet folder (labels.npy is optional).
JPEG_FILES = ("jpeg.npy", "shapes.npy", "offsets.npy", "lengths.npy")


class JpegImageSet(ImageSet):
    """An ImageSet of JPEG-compressed images (see the module docs); a subclass of ImageSet so
    ``isinstance(ds, nc.ImageSet)`` holds. ``ds.storage == "jpeg"``."""

    __slots__ = ()

    def __init__(self, handle, classes=None, skipped=(), source=None):  # noqa: D107
        if not isinstance(handle, _nocopy._JpegImageSet):
            raise TypeError("use ImageSet.open(path) on a folder packed with format='jpeg'")
        self._handle = handle
        self._classes = None if classes is None else [str(c) for c in classes]
        self._skipped = list(skipped)
        self._source = source
        self._shared = None
        self._shapes = None
        self._labels = None

    @classmethod
    def _open(cls, folder: str, manifest: dict) -> "JpegImageSet":
        if not _nocopy.jpeg_available():
            raise RuntimeError(f"{folder}: this is a JPEG ImageSet, but nocopy was built without "
                               "libjpeg (install libjpeg62-turbo-dev and rebuild), so it cannot "
                               "decode it")
        handle = _open_checked(folder, manifest, JPEG_FILES, _nocopy._JpegImageSet.open)
        classes = manifest.get("classes")
        return cls(handle, classes, manifest.get("skipped", []), ("folder", folder))

    def __getitem__(self, i) -> View:
        """Image i decoded to a new (H, W, 3) uint8 View (a decode: new memory). A corrupt
        JPEG is a ValueError naming the folder and the sample."""
        return self._handle.decode(checked_index(i, len(self)))

    def encoded(self, i: int) -> View:
        """The JPEG bytes of image i: a zero-copy 1-d uint8 View of jpeg.npy."""
        return self._handle.encoded(checked_index(i, len(self)))

    @property
    def storage(self) -> str:
        return "jpeg"

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(np.uint8)

    @property
    def channels(self) -> int:
        return 3

    @property
    def pixels(self) -> View:
        raise TypeError("a JPEG ImageSet stores encoded bytes, not pixels: use ds[i] (decodes) "
                        "or ds.encoded(i) / ds.encoded_bytes")

    @property
    def encoded_bytes(self) -> View:
        """The flat uint8 array of every image's JPEG bytes (jpeg.npy)."""
        return self._handle.bytes

    @property
    def offsets(self) -> np.ndarray:
        """(N,) int64: byte offset of each image's JPEG in ``encoded_bytes``."""
        return np.asarray(self._handle.offsets)

    @property
    def lengths(self) -> np.ndarray:
        """(N,) int64: length in bytes of each image's JPEG."""
        return np.asarray(self._handle.lengths)

    @property
    def nbytes(self) -> int:
        return self._handle.bytes.nbytes

    def to_shared(self):
        raise TypeError("a JPEG ImageSet folder is already shared between processes through "
                        "the page cache (it is memory-mapped); pickle it or open it in each "
                        "process instead of to_shared()")

    def __nocopy_image_set__(self):
        """The C++ index (nc.Loader's workers decode each sample's window from it)."""
        return self._handle

    def __repr__(self) -> str:
        return (f"nocopy.ImageSet({len(self)} images, storage=jpeg, "
                f"{self.nbytes / 2**20:.1f} MiB encoded, labels={self._handle.has_labels})")
