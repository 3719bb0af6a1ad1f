"""nc.ShardedImageSet and nc.ShardedVideoSet: a sharded dataset folder (written by pack_images /
pack_videos with shard_size, or by parallel parts and nc.merge_shards) opened as one dataset of
its shards, each an ImageSet or VideoSet mapped without copying. ``nc.ImageSet.open(folder)``
and ``nc.VideoSet.open(folder)`` return one when the folder holds an index.json.

>>> ds = nc.ImageSet.open("train.nc")            # doctest: +SKIP
>>> len(ds), ds.shard_of(1000), ds[1000].shape   # doctest: +SKIP
"""

from __future__ import annotations

import os

import numpy as np

from ._shards_format import INDEX, check_files, read_index, verify_files

__all__ = ["ShardedImageSet", "ShardedVideoSet"]


class _ShardedSet:
    """What both sharded sets share: the index, the shards, global sample numbers."""

    __slots__ = ("_folder", "_index", "_shards", "_starts", "_cache", "_set_class")
    _kind = ""

    def __init__(self, folder: str, index: dict, shards: list, set_class):
        self._set_class = set_class  # ImageSet or VideoSet: whose open() opens the folder
        self._folder = folder
        self._index = index
        self._shards = shards
        self._starts = np.concatenate([[0], np.cumsum([len(s) for s in shards])]).astype(
            np.int64)
        self._cache = {}

    @classmethod
    def _open(cls, folder: str, set_class):
        """Opens the sharded dataset folder ``folder`` (ImageSet.open / VideoSet.open call this,
        ``set_class`` being the one whose ``_open_one`` opens a shard): reads and checks
        index.json (its kind, every listed file present with its listed size), opens each shard
        and checks its sample count and classes against the index. ValueError naming the file
        for any mismatch; the files' hashes are checked only by ``verify()``."""
        index_path = os.path.join(folder, INDEX)
        index = read_index(index_path)
        if index["kind"] != cls._kind:
            raise ValueError(f"{index_path}: kind {index['kind']!r}: this is not a sharded "
                             f"{cls._kind} dataset")
        check_files(folder, index)
        shards = []
        for s in index["shards"]:
            shard = set_class._open_one(os.path.join(folder, s["name"]))
            if len(shard) != s["num_samples"]:
                raise ValueError(f"{os.path.join(folder, s['name'])}: {len(shard)} samples, but "
                                 f"{INDEX} lists {s['num_samples']}")
            if shard.classes != index["classes"]:
                raise ValueError(f"{os.path.join(folder, s['name'])}: classes differ from "
                                 f"{INDEX}'s")
            shards.append(shard)
        return cls(folder, index, shards, set_class)

    def __len__(self) -> int:
        return int(self._starts[-1])

    @property
    def shards(self) -> list:
        """The shards, in order, each an ImageSet or VideoSet."""
        return list(self._shards)

    @property
    def classes(self) -> list[str] | None:
        """Names of the label values (the same in every shard), or None."""
        c = self._index["classes"]
        return None if c is None else list(c)

    @property
    def skipped(self) -> list:
        """Inputs the packer skipped (from the index), each a dict with path and error."""
        return [dict(s) for s in self._index.get("skipped", [])]

    def _concat(self, name: str) -> np.ndarray | None:
        if name not in self._cache:
            parts = [getattr(s, name) for s in self._shards]
            a = None if any(p is None for p in parts) or not parts else np.concatenate(parts)
            if a is not None:
                a.flags.writeable = False
            self._cache[name] = a
        return self._cache[name]

    @property
    def labels(self) -> np.ndarray | None:
        """(N,) int64 read-only labels of every sample, shard after shard, or None."""
        return self._concat("labels")

    @property
    def shapes(self) -> np.ndarray:
        """(N, 3) int64 read-only (H, W, C) of every sample, shard after shard."""
        return self._concat("shapes")

    def shard_of(self, i) -> tuple[int, int]:
        """(shard number, index within that shard) of sample ``i`` (negative counts from the
        end); IndexError out of range."""
        if isinstance(i, (bool, np.bool_)) or not isinstance(i, (int, np.integer)):
            raise TypeError(f"indices must be integers, not {type(i).__name__}")
        i, n = int(i), len(self)
        if not -n <= i < n:
            raise IndexError(f"index {i} is out of range for {n} samples")
        i = i + n if i < 0 else i
        k = int(np.searchsorted(self._starts, i, side="right")) - 1
        return k, i - int(self._starts[k])

    def __getitem__(self, i):
        """Sample i, as its shard gives it (``shards[k][j]`` with ``(k, j) = shard_of(i)``)."""
        k, j = self.shard_of(i)
        return self._shards[k][j]

    def verify(self) -> None:
        """Reads every file of every shard and checks its size and SHA-256 against the index:
        ValueError naming the first file that differs."""
        verify_files(self._folder, self._index)

    def __reduce__(self):
        return (self._set_class.open, (self._folder,))

    def __repr__(self) -> str:
        return (f"nocopy.{type(self).__name__}({len(self)} {self._kind}s in "
                f"{len(self._shards)} shards, labels={self.labels is not None}, "
                f"folder={self._folder!r})")


class ShardedImageSet(_ShardedSet):
    """A sharded image dataset: ``len``, ``labels``, ``shapes``, ``classes`` of all shards,
    ``ds[i]`` as ImageSet gives it, ``ds.shards`` the ImageSets, ``ds.shard_of(i)``,
    ``ds.verify()``. nc.Loader reads it as one dataset through
    ``__nocopy_image_sources__``."""

    __slots__ = ()
    _kind = "image"

    @property
    def format(self) -> str:
        """How the images are stored: "raw" or "jpeg" (the same in every shard)."""
        formats = {s.format for s in self._shards}
        if len(formats) > 1:
            raise ValueError(f"{self._folder}: shards mix formats {sorted(formats)}")
        return formats.pop() if formats else "raw"

    @property
    def nbytes(self) -> int:
        """Bytes of the shards' stored flat arrays, together."""
        return sum(s.nbytes for s in self._shards)

    def __nocopy_image_sources__(self) -> list:
        """The C++ set of each shard, in order (what ``shard.__nocopy_image_set__()`` returns):
        a loader reads them as one dataset, sample i of the whole being sample j of shard k
        for ``(k, j) = shard_of(i)``."""
        return [s.__nocopy_image_set__() for s in self._shards]


class ShardedVideoSet(_ShardedSet):
    """A sharded video dataset: ``len``, ``labels``, ``shapes``, ``num_frames``, ``fps`` of all
    shards, ``vs.frames(i, indices)``, ``vs.shards`` the VideoSets, ``vs.shard_of(i)``,
    ``vs.verify()``; ``__nocopy_video_sources__`` gives a loader the shards' C++ sets."""

    __slots__ = ()
    _kind = "video"

    @property
    def num_frames(self) -> np.ndarray:
        """(N,) int64: frames of each video."""
        return self._concat("num_frames")

    @property
    def fps(self) -> np.ndarray:
        """(N,) float64: frame rate of each video."""
        return self._concat("fps")

    def frames(self, i, indices) -> np.ndarray:
        """Frames ``indices`` of video i, as VideoSet.frames decodes them."""
        k, j = self.shard_of(i)
        return self._shards[k].frames(j, indices)

    def encoded(self, i):
        """The container file of video i: a zero-copy 1-d uint8 View of its shard's bytes."""
        k, j = self.shard_of(i)
        return self._shards[k].encoded(j)

    def timestamps(self, i) -> np.ndarray:
        """(T,) int64 presentation timestamps of video i's frames, in its stream's time base."""
        k, j = self.shard_of(i)
        return self._shards[k].timestamps(j)

    def keyframes(self, i) -> np.ndarray:
        """(T,) bool: which frames of video i are keyframes."""
        k, j = self.shard_of(i)
        return self._shards[k].keyframes(j)

    def __getitem__(self, i):
        raise TypeError("a video is read with vs.frames(i, indices)")

    def __nocopy_video_sources__(self) -> list:
        """The C++ set (``_nocopy._VideoSet``) of each shard, in order: a loader reads them as
        one dataset, video i of the whole being video j of shard k for
        ``(k, j) = shard_of(i)``."""
        return [s._handle for s in self._shards]
