"""nc.ImageSet: N images of different sizes (H_i, W_i, C), stored raw (one flat pixel array,
``ds[i]`` a zero-copy View) or as JPEG files (one flat byte array, ``ds[i]`` decoded); on disk a
folder of ordinary .npy files and a manifest (written by ``nc.pack_images``), read in C++.

>>> import numpy as np, nocopy as nc
>>> ds = nc.ImageSet.from_arrays([np.zeros((4, 6, 3), np.uint8), np.ones((5, 2, 3), np.uint8)],
...                              labels=[0, 1])
>>> len(ds), ds.format, ds[1].shape, ds.labels.tolist()
(2, 'raw', (5, 2, 3), [0, 1])
"""

from __future__ import annotations

import os

import numpy as np

from . import _nocopy
from ._nocopy import View
from ._remote.urls import is_url, no_remote_options
from ._shards_format import INDEX
from ._storage import SharedArray

__all__ = ["ImageSet", "FORMAT_VERSION", "MANIFEST"]

#: Version of the folder format (manifest.json's "format_version").
FORMAT_VERSION = _nocopy._IMAGE_SET_FORMAT_VERSION
#: Name of the manifest inside an ImageSet folder.
MANIFEST = _nocopy._IMAGE_SET_MANIFEST


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
    """Images of different sizes, each (H_i, W_i, C) with the same C, stored one of two ways
    (``ds.format``):

    - ``"raw"``: every image's pixels (uint8, uint16 or float32) in one flat array, each image
      starting 64-byte aligned; ``ds[i]`` is a zero-copy View of it.
    - ``"jpeg"``: every image's JPEG file in one flat uint8 array; ``ds[i]`` decodes image i
      into a new (H, W, 3) uint8 array, ``ds.encoded(i)`` is the zero-copy View of its bytes.

    Build one with ``ImageSet.open(folder)`` (memory-mapped, zero copy),
    ``ImageSet.from_arrays(arrays, labels)`` (one copy into memory, raw) or ``ds.to_shared()``
    (one copy into shared memory that other processes attach to; pickled by reference). The
    index is checked against the data once, when the set is built: a corrupt, truncated or
    hostile folder is a ValueError naming the file (and the sample), never a hang or a crash.
    """

    __slots__ = ("_handle", "_classes", "_skipped", "_source", "_shared", "_shapes", "_labels")

    def __init__(self, handle, classes=None, skipped=(), source=None, shared=None):
        if not isinstance(handle, _nocopy._ImageSet):
            raise TypeError("use ImageSet.open(path), ImageSet.from_arrays(...) or to_shared()")
        self._handle = handle
        self._classes = None if classes is None else [str(c) for c in classes]
        self._skipped = [dict(s) for s in skipped]
        self._source = source      # ("folder", path) | ("shared", names) | None
        self._shared = shared      # the SharedArray handles of a shared set
        self._shapes = None
        self._labels = None

    # --- construction ------------------------------------------------------------------------
    @classmethod
    def open(cls, path, **remote) -> "ImageSet":
        """Opens the ImageSet folder ``path``: reads manifest.json, maps the .npy files of its
        format (raw: pixels.npy; jpeg: jpeg.npy and lengths.npy; both: shapes.npy, offsets.npy,
        optional labels.npy) read-only, without copying, and validates the index. A sharded
        dataset folder (one holding index.json) opens as a ShardedImageSet of its shards. A URL
        (``http(s)://``, ``s3://``) of a sharded dataset opens as a RemoteImageSet, read shard
        by shard through a local cache; ``remote`` are its options (``cache_dir``,
        ``cache_limit``, ``storage_options``, ``timeout``, ``retries``, ``max_open``).

        >>> ds = nc.ImageSet.open("train.nc")
        >>> ds = nc.ImageSet.open("s3://bucket/train", cache_limit="200GB")  # doctest: +SKIP
        """
        if is_url(path):
            from ._remote_sets import RemoteImageSet

            return RemoteImageSet(path, **remote)
        no_remote_options(path, remote)
        folder = os.fsdecode(os.fspath(path))
        if os.path.isfile(os.path.join(folder, INDEX)):
            from ._sharded_set import ShardedImageSet

            return ShardedImageSet._open(folder, cls)
        return cls._open_one(folder)

    @classmethod
    def _open_one(cls, folder: str) -> "ImageSet":
        """Opens one ImageSet folder (not a sharded one)."""
        handle = _nocopy._ImageSet.open(folder)
        if handle.format == "jpeg" and not _nocopy.jpeg_available():
            raise RuntimeError(f"{folder}: this is a JPEG ImageSet, but nocopy was built without "
                               "libjpeg (install libjpeg62-turbo-dev and rebuild), so it cannot "
                               "decode it")
        skipped = [{"path": p, "error": e} for p, e in handle.skipped]
        return cls(handle, handle.classes, skipped, ("folder", folder))

    @classmethod
    def from_arrays(cls, arrays, labels=None, classes=None) -> "ImageSet":
        """An in-memory raw set holding a copy of ``arrays`` (each (H, W, C), one dtype and C
        for all; NumPy, torch, nocopy Views, ...) with optional integer ``labels`` (one per
        image) and ``classes`` (names of the label values).

        >>> ds = nc.ImageSet.from_arrays([np.zeros((300, 400, 3), np.uint8)] * 8)
        """
        views = [_nocopy.view(a) for a in arrays]
        handle = _nocopy._ImageSet.copy_of(views, _labels_view(labels, len(views)))
        return cls(handle, classes)

    def to_shared(self) -> "ImageSet":
        """A copy of this set in POSIX shared memory (one copy of the pixels, or of the encoded
        bytes of a JPEG set). Pickling the result sends the segment names, so worker processes
        attach in O(1) without copying; the segments are removed when this process's set is
        garbage collected or at exit.

        >>> shared = ds.to_shared()
        >>> pickle.loads(pickle.dumps(shared))[0].shape     # in any process
        """
        h = self._handle
        data = h.data
        n = len(h)
        flat = SharedArray.create(data.shape, data.dtype)
        index = SharedArray.create((n, 6), np.int64)
        try:
            np.asarray(flat.view)[...] = np.asarray(data)
            table = np.asarray(index.view)
            table[:, :3] = np.asarray(h.shapes)
            table[:, 3] = np.asarray(h.offsets)
            table[:, 4] = np.asarray(h.lengths) if h.format == "jpeg" else 0
            table[:, 5] = np.asarray(h.labels) if h.has_labels else -1
            shared = self._from_shared(flat, index, h.format, h.has_labels, self._classes,
                                       self._skipped)
        except BaseException:
            flat.close()
            index.close()
            raise
        return shared

    @classmethod
    def _from_shared(cls, flat: SharedArray, index: SharedArray, fmt: str, has_labels: bool,
                     classes, skipped) -> "ImageSet":
        table = index.view
        labels = table[:, 5] if has_labels else None
        where = f"shared ImageSet '{flat.name}'"
        if fmt == "jpeg":
            handle = _nocopy._ImageSet.from_jpeg_index(flat.view, table[:, 0:3], table[:, 3],
                                                       table[:, 4], labels, where)
        else:
            handle = _nocopy._ImageSet.from_index(flat.view, table[:, 0:3], table[:, 3], labels,
                                                  where)
        return cls(handle, classes, skipped, ("shared", (flat.name, index.name, fmt, has_labels)),
                   (flat, index))

    # --- the images --------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._handle)

    def __getitem__(self, i) -> View:
        """Image i as an (H, W, C) View: zero-copy for a raw set; for a JPEG set a new (H, W, 3)
        uint8 array decoded with libjpeg-turbo (Pillow's settings). A corrupt JPEG, or one whose
        header says another size than the index, is a ValueError naming the set and sample."""
        return self._handle.image(checked_index(i, len(self)))

    def encoded(self, i: int) -> View:
        """The JPEG bytes of image i of a JPEG set: a zero-copy 1-d uint8 View of jpeg.npy.
        TypeError for a raw set (``ds[i]`` is already its zero-copy view)."""
        self._require("jpeg", "encoded(i)")
        return self._handle.encoded(checked_index(i, len(self)))

    @property
    def format(self) -> str:
        """How the images are stored: "raw" (pixels) or "jpeg" (encoded; ds[i] decodes)."""
        return self._handle.format

    @property
    def storage(self) -> str:
        """Alias of ``format``."""
        return self._handle.format

    @property
    def shapes(self) -> np.ndarray:
        """(N, 3) int64 read-only array of each image's (H, W, C) (decoded size for JPEG)."""
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
        return [dict(s) for s in self._skipped]

    @property
    def dtype(self) -> np.dtype:
        """Dtype of ``ds[i]``: the pixel dtype (raw) or uint8 (JPEG)."""
        return np.dtype(self._handle.dtype)

    @property
    def channels(self) -> int:
        """Channels C of every image (3 for JPEG: decoded to RGB)."""
        return self._handle.channels

    @property
    def pixels(self) -> View:
        """The flat pixel array every image of a raw set is a view of. TypeError for a JPEG set
        (see ``encoded_bytes``)."""
        self._require("raw", "pixels")
        return self._handle.pixels

    @property
    def encoded_bytes(self) -> View:
        """The flat uint8 array of every image's JPEG bytes (jpeg.npy) of a JPEG set. TypeError
        for a raw set (see ``pixels``)."""
        self._require("jpeg", "encoded_bytes")
        return self._handle.data

    @property
    def offsets(self) -> np.ndarray:
        """(N,) int64: where each image starts in the flat array, in elements of ``pixels``
        (raw) or bytes of ``encoded_bytes`` (JPEG)."""
        return np.asarray(self._handle.offsets)

    @property
    def lengths(self) -> np.ndarray:
        """(N,) int64: length in bytes of each image's JPEG. TypeError for a raw set (an
        image's size is its shape)."""
        self._require("jpeg", "lengths")
        return np.asarray(self._handle.lengths)

    @property
    def nbytes(self) -> int:
        """Bytes of the stored flat array: the pixels (raw) or the encoded bytes (JPEG)."""
        return self._handle.data.nbytes

    @property
    def is_shared(self) -> bool:
        return self._source is not None and self._source[0] == "shared"

    def __nocopy_image_set__(self):
        """The C++ set (used by nc.Loader, whose workers read or decode each sample's window)."""
        return self._handle

    def _require(self, fmt: str, member: str) -> None:
        if self._handle.format == fmt:
            return
        if fmt == "raw":
            raise TypeError(f"{member}: a JPEG ImageSet stores encoded bytes, not pixels: use "
                            "ds[i] (decodes) or ds.encoded(i) / ds.encoded_bytes")
        raise TypeError(f"{member}: a raw ImageSet stores pixels, not encoded bytes: ds[i] is "
                        "image i without a copy, ds.pixels the flat pixel array")

    # --- pickling and printing ---------------------------------------------------------------
    def __reduce__(self):
        if self._source is None:
            raise TypeError("an in-memory ImageSet is not pickled (that would copy every image); "
                            "call ds.to_shared() and pickle that, or pack it to a folder")
        if self._source[0] == "folder":
            return (ImageSet.open, (self._source[1],))
        flat_name, index_name, fmt, has_labels = self._source[1]
        return (_attach_shared, (flat_name, index_name, fmt, has_labels, self._classes,
                                 self._skipped))

    def __repr__(self) -> str:
        where = "" if self._source is None else f", {self._source[0]}"
        return (f"nocopy.ImageSet({len(self)} images, format={self.format}, "
                f"dtype={self._handle.dtype}, channels={self.channels}, "
                f"{self.nbytes / 2**20:.1f} MiB stored, labels={self._handle.has_labels}{where})")


def _attach_shared(flat_name, index_name, fmt, has_labels, classes, skipped) -> ImageSet:
    return ImageSet._from_shared(SharedArray.attach(flat_name, readonly=True),
                                 SharedArray.attach(index_name, readonly=True), fmt, has_labels,
                                 classes, skipped)
