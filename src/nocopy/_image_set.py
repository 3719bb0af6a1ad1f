"""nc.ImageSet: N images of different sizes (H_i, W_i, C), each a zero-copy View of one flat
pixel array; on disk a folder of ordinary .npy files (written by ``nc.pack_images``).

>>> import numpy as np, nocopy as nc
>>> ds = nc.ImageSet.from_arrays([np.zeros((4, 6, 3), np.uint8), np.ones((5, 2, 3), np.uint8)],
...                              labels=[0, 1])
>>> len(ds), ds[1].shape, ds.labels.tolist()
(2, (5, 2, 3), [0, 1])
"""

from __future__ import annotations

import json
import os

import numpy as np

from . import _nocopy
from ._nocopy import View
from ._storage import SharedArray

__all__ = ["ImageSet", "FORMAT_VERSION", "MANIFEST", "STORAGE_FORMATS", "read_manifest"]

#: Version of the folder format (manifest.json's "format_version").
FORMAT_VERSION = 1
#: Name of the manifest inside an ImageSet folder.
MANIFEST = "manifest.json"
#: How an ImageSet folder stores its images (manifest.json's "storage"; absent means "raw").
STORAGE_FORMATS = ("raw", "jpeg")


def read_manifest(folder) -> dict:
    """The manifest of an ImageSet folder, checked: a dict with a supported ``format_version``
    and a ``num_images`` count. FileNotFoundError when the folder or manifest is missing,
    ValueError (naming the file) when it is not a valid manifest."""
    path = os.path.join(os.fspath(folder), MANIFEST)
    with open(path, "rb") as f:
        raw = f.read()
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text ({exc})") from None
    except ValueError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(manifest, dict):
        raise ValueError(f"{path}: expected a JSON object, got {type(manifest).__name__}")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise ValueError(f"{path}: format_version {version!r} is not supported "
                         f"(this nocopy reads version {FORMAT_VERSION})")
    count = manifest.get("num_images")
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise ValueError(f"{path}: num_images {count!r} is not a count")
    storage = manifest.get("storage", "raw")
    if storage not in STORAGE_FORMATS:
        raise ValueError(f"{path}: storage {storage!r} is not one of {', '.join(STORAGE_FORMATS)}")
    classes = manifest.get("classes")
    if classes is not None and not (isinstance(classes, list)
                                    and all(isinstance(c, str) for c in classes)):
        raise ValueError(f"{path}: classes must be a list of strings")
    skipped = manifest.get("skipped", [])
    if not (isinstance(skipped, list) and all(
            isinstance(e, dict) and isinstance(e.get("path"), str) for e in skipped)):
        raise ValueError(f"{path}: skipped must be a list of {{'path': ..., 'error': ...}} "
                         "entries")
    return manifest



def _open_checked(folder: str, manifest: dict, files, open_handle):
    """Opens an ImageSet folder's index with ``open_handle(folder)`` after checking its files
    exist, then checks the handle against the manifest: its image count, and every label inside
    the manifest's classes. Shared by the raw and the JPEG readers."""
    for name in files:
        p = os.path.join(folder, name)
        if not os.path.exists(p):
            raise FileNotFoundError(2, "ImageSet file missing", p)
    handle = open_handle(folder)
    if len(handle) != manifest["num_images"]:
        raise ValueError(f"{os.path.join(folder, MANIFEST)}: num_images is "
                         f"{manifest['num_images']} but offsets.npy holds {len(handle)}")
    classes = manifest.get("classes")
    if classes is not None and handle.has_labels:
        labels = np.asarray(handle.labels)
        bad = np.flatnonzero((labels < 0) | (labels >= len(classes)))
        if bad.size:
            raise ValueError(f"{os.path.join(folder, 'labels.npy')}: sample {int(bad[0])} has "
                             f"label {int(labels[bad[0]])}, outside the {len(classes)} classes")
    return handle

def _labels_view(labels, n: int):
    if labels is None:
        return None
    a = np.asarray(labels)
    if a.shape != (n,):
        raise ValueError(f"labels has shape {a.shape}; expected ({n},), one per image")
    if a.size and not np.issubdtype(a.dtype, np.integer):
        raise TypeError(f"labels must be integers, got {a.dtype}")
    if a.size and a.dtype.kind == "u" and int(a.max()) > np.iinfo(np.int64).max:
        # Labels are stored as int64: a larger one would wrap around to a negative label.
        raise OverflowError(f"label {int(a.max())} does not fit in int64 (labels are stored "
                            "as int64)")
    return _nocopy.view(np.ascontiguousarray(a, dtype=np.int64))


def checked_index(i, n: int) -> int:
    """An image index as an int: TypeError unless an integer (bools are not), IndexError past
    the int64 range (the handle checks the set's own range)."""
    if isinstance(i, (bool, np.bool_)) or not isinstance(i, (int, np.integer)):
        raise TypeError(f"ImageSet indices must be integers, not {type(i).__name__}")
    i = int(i)
    if not -2**63 <= i < 2**63:
        raise IndexError(f"image index {i} is out of range for {n} images")
    return i


class ImageSet:
    """Images of different sizes sharing one pixel array (uint8, uint16 or float32; every image
    (H_i, W_i, C) with the same C, starting 64-byte aligned). ``ds[i]`` is a zero-copy View.

    Build one with ``ImageSet.open(folder)`` (memory-mapped, zero copy),
    ``ImageSet.from_arrays(arrays, labels)`` (one copy into memory) or ``ds.to_shared()`` (one
    copy into shared memory that other processes attach to; pickled by reference). Every shape
    and offset is checked against the pixel array once, when the set is built: a corrupt or
    truncated dataset is a ValueError naming the file and the sample.
    """

    __slots__ = ("_handle", "_classes", "_skipped", "_source", "_shared", "_shapes", "_labels")

    def __init__(self, handle, classes=None, skipped=(), source=None, shared=None):
        if not isinstance(handle, _nocopy._ImageSet):
            raise TypeError("use ImageSet.open(path), ImageSet.from_arrays(...) or to_shared()")
        self._handle = handle
        self._classes = None if classes is None else [str(c) for c in classes]
        self._skipped = list(skipped)
        self._source = source      # ("folder", path) | ("shared", names) | None
        self._shared = shared      # the SharedArray handles of a shared set
        self._shapes = None
        self._labels = None

    # --- construction ------------------------------------------------------------------------
    @classmethod
    def open(cls, path) -> "ImageSet":
        """Maps the ImageSet folder ``path`` (pixels.npy, shapes.npy, offsets.npy, optional
        labels.npy, manifest.json) read-only, without copying pixels, and validates it.

        >>> ds = nc.ImageSet.open("train.nc")
        """
        folder = os.fspath(path)
        if not os.path.isdir(folder):
            raise FileNotFoundError(2, "no ImageSet folder", folder)
        manifest = read_manifest(folder)
        if manifest.get("storage", "raw") == "jpeg":
            from ._jpeg_image_set import JpegImageSet
            return JpegImageSet._open(folder, manifest)
        handle = _open_checked(folder, manifest, ("pixels.npy", "shapes.npy", "offsets.npy"),
                               _nocopy._ImageSet.open)
        classes = manifest.get("classes")
        return cls(handle, classes, manifest.get("skipped", []), ("folder", folder))

    @classmethod
    def from_arrays(cls, arrays, labels=None, classes=None) -> "ImageSet":
        """An in-memory set holding a copy of ``arrays`` (each (H, W, C), one dtype and C for
        all; NumPy, torch, nocopy Views, ...) with optional integer ``labels`` (one per image)
        and ``classes`` (names of the label values).

        >>> ds = nc.ImageSet.from_arrays([np.zeros((300, 400, 3), np.uint8)] * 8)
        """
        views = [_nocopy.view(a) for a in arrays]
        handle = _nocopy._ImageSet.copy_of(views, _labels_view(labels, len(views)))
        return cls(handle, classes)

    def to_shared(self) -> "ImageSet":
        """A copy of this set in POSIX shared memory (one copy of the pixels). Pickling the
        result sends the segment names, so worker processes attach in O(1) without copying;
        the segments are removed when this process's set is garbage collected or at exit.

        >>> shared = ds.to_shared()
        >>> pickle.loads(pickle.dumps(shared))[0].shape     # in any process
        """
        h = self._handle
        pixels = h.pixels
        n = len(h)
        pix = SharedArray.create(pixels.shape, pixels.dtype)
        index = SharedArray.create((n, 5), np.int64)
        try:
            np.asarray(pix.view)[...] = np.asarray(pixels)
            table = np.asarray(index.view)
            table[:, :3] = np.asarray(h.shapes)
            table[:, 3] = np.asarray(h.offsets)
            table[:, 4] = np.asarray(h.labels) if h.has_labels else -1
            shared = self._from_shared(pix, index, h.has_labels, self._classes, self._skipped)
        except BaseException:
            pix.close()
            index.close()
            raise
        return shared

    @classmethod
    def _from_shared(cls, pix: SharedArray, index: SharedArray, has_labels: bool, classes,
                     skipped) -> "ImageSet":
        table = index.view
        handle = _nocopy._ImageSet.from_index(
            pix.view, table[:, 0:3], table[:, 3], table[:, 4] if has_labels else None,
            f"shared ImageSet '{pix.name}'")
        return cls(handle, classes, skipped, ("shared", (pix.name, index.name, has_labels)),
                   (pix, index))

    # --- the images --------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._handle)

    def __getitem__(self, i) -> View:
        return self._handle.image(checked_index(i, len(self)))

    @property
    def shapes(self) -> np.ndarray:
        """(N, 3) int64 read-only array of each image's (H, W, C)."""
        if self._shapes is None:
            self._shapes = np.asarray(self._handle.shapes)
        return self._shapes

    @property
    def labels(self) -> np.ndarray | None:
        """(N,) int64 read-only array of labels, or None when the set has none."""
        if self._labels is None and self._handle.has_labels:
            self._labels = np.asarray(self._handle.labels)
        return self._labels

    @property
    def classes(self) -> list[str] | None:
        """Names of the label values (the ImageFolder class folders), or None."""
        return None if self._classes is None else list(self._classes)

    @property
    def skipped(self) -> list:
        """Inputs the packer skipped (from the manifest), each a dict with path and error."""
        return list(self._skipped)

    @property
    def storage(self) -> str:
        """How the images are stored: "raw" (pixels) or "jpeg" (encoded; ds[i] decodes)."""
        return "raw"

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(self._handle.dtype)

    @property
    def channels(self) -> int:
        return self._handle.channels

    @property
    def pixels(self) -> View:
        """The flat pixel array every image is a view of."""
        return self._handle.pixels

    @property
    def offsets(self) -> np.ndarray:
        """(N,) int64: element offset of each image in ``pixels``."""
        return np.asarray(self._handle.offsets)

    @property
    def nbytes(self) -> int:
        return self._handle.pixels.nbytes

    @property
    def is_shared(self) -> bool:
        return self._source is not None and self._source[0] == "shared"

    def __nocopy_image_set__(self):
        """The C++ index (used by nc.Loader)."""
        return self._handle

    # --- pickling and printing ---------------------------------------------------------------
    def __reduce__(self):
        if self._source is None:
            raise TypeError("an in-memory ImageSet is not pickled (that would copy every image); "
                            "call ds.to_shared() and pickle that, or pack it to a folder")
        if self._source[0] == "folder":
            return (ImageSet.open, (self._source[1],))
        pix_name, index_name, has_labels = self._source[1]
        return (_attach_shared, (pix_name, index_name, has_labels, self._classes, self._skipped))

    def __repr__(self) -> str:
        where = "" if self._source is None else f", {self._source[0]}"
        return (f"nocopy.ImageSet({len(self)} images, dtype={self._handle.dtype}, "
                f"channels={self.channels}, labels={self._handle.has_labels}{where})")


def _attach_shared(pix_name, index_name, has_labels, classes, skipped) -> ImageSet:
    return ImageSet._from_shared(SharedArray.attach(pix_name, readonly=True),
                                 SharedArray.attach(index_name, readonly=True), has_labels,
                                 classes, skipped)

