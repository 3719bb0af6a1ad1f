"""nc.VideoSet: N videos packed by ``nc.pack_videos``, their container files kept as they are in
one memory-mapped byte array, with each video's size, frame rate, codec and per-frame index
(timestamps, keyframes) read from the folder and validated in C++ when it is opened.

>>> vs = nc.VideoSet.open("clips.nc")                   # doctest: +SKIP
>>> len(vs), vs.num_frames[:3], vs.fps[:3]              # doctest: +SKIP
>>> clip = vs.frames(0, [0, 2, 4, 6])                   # (4, H, W, 3) uint8  # doctest: +SKIP
"""

from __future__ import annotations

import os

import numpy as np

from . import _nocopy
from ._remote.urls import is_url, no_remote_options
from ._remote_sets import RemoteVideoSet
from ._shards_format import INDEX

__all__ = ["VideoSet"]


class VideoSet:
    """Videos of different sizes, lengths and frame rates, read from a VideoSet folder.

    ``len(vs)`` videos; ``vs.num_frames``, ``vs.fps``, ``vs.shapes``, ``vs.labels`` are arrays
    with one entry per video; ``vs.frames(i, indices)`` decodes frames of video i. The folder
    is validated once, when opened: a corrupt, truncated or hostile one is a ValueError (or an
    OSError for a missing or unreadable file) naming the file, never a hang or a crash.
    """

    __slots__ = ("_handle", "_folder", "_cache")

    def __init__(self, handle, folder):
        if not isinstance(handle, _nocopy._VideoSet):
            raise TypeError("use VideoSet.open(path)")
        self._handle = handle
        self._folder = folder
        self._cache = {}

    @classmethod
    def open(cls, path, **remote) -> "VideoSet":
        """Opens the VideoSet folder ``path`` (written by nc.pack_videos): the container bytes
        mapped read-only without copying, the index validated and read. A sharded dataset
        folder (one holding index.json) opens as a ShardedVideoSet of its shards. A URL
        (``http(s)://``, ``s3://``) of a sharded dataset opens as a RemoteVideoSet, read shard
        by shard through a local cache; ``remote`` are its options (``cache_dir``,
        ``cache_limit``, ``storage_options``, ``timeout``, ``retries``, ``max_open``), as for
        nc.ImageSet.open."""
        if is_url(path):
            return RemoteVideoSet(path, **remote)
        no_remote_options(path, remote)
        folder = os.fsdecode(os.fspath(path))
        if os.path.isfile(os.path.join(folder, INDEX)):
            from ._sharded_set import ShardedVideoSet

            return ShardedVideoSet._open(folder, cls)
        return cls._open_one(folder)

    @classmethod
    def _open_one(cls, folder: str) -> "VideoSet":
        """Opens one VideoSet folder (not a sharded one)."""
        return cls(_nocopy._VideoSet.open(folder), folder)

    def _array(self, name: str) -> np.ndarray:
        a = self._cache.get(name)
        if a is None:
            a = self._cache[name] = np.asarray(getattr(self._handle, name))
        return a

    def __len__(self) -> int:
        return len(self._handle)

    @property
    def num_frames(self) -> np.ndarray:
        """(N,) int64: frames of each video."""
        return np.diff(self._array("frame_starts"))

    @property
    def fps(self) -> np.ndarray:
        """(N,) float64: frame rate of each video."""
        r = self._array("fps")
        return r[:, 0] / r[:, 1]

    @property
    def fps_fractions(self) -> np.ndarray:
        """(N, 2) int64: frame rate of each video as (num, den)."""
        return self._array("fps")

    @property
    def shapes(self) -> np.ndarray:
        """(N, 3) int64: (H, W, 3) of each video's decoded RGB frames."""
        return self._array("shapes")

    @property
    def labels(self) -> np.ndarray | None:
        """(N,) int64 labels, or None when the set has none."""
        return self._array("labels") if self._handle.has_labels else None

    @property
    def classes(self) -> list[str] | None:
        """Names of the label values (the class folders), or None."""
        c = self._handle.classes
        return None if c is None else list(c)

    @property
    def codecs(self) -> list[str]:
        """Codec name of each video ("h264", "vp9", ...)."""
        names = self._handle.codec_names
        return [names[k] for k in self._array("codecs")]

    @property
    def skipped(self) -> list:
        """Inputs the packer skipped, each a dict with path and error."""
        return [{"path": p, "error": e} for p, e in self._handle.skipped]

    def timestamps(self, i) -> np.ndarray:
        """(T,) int64 presentation timestamps of video i's frames, in its stream's time base."""
        i = self._index(i)
        s = self._array("frame_starts")
        return self._array("pts")[s[i]:s[i + 1]]

    def keyframes(self, i) -> np.ndarray:
        """(T,) bool: which frames of video i are keyframes."""
        i = self._index(i)
        s = self._array("frame_starts")
        return self._array("keyframes")[s[i]:s[i + 1]].astype(bool)

    def time_base(self, i) -> tuple[int, int]:
        """(num, den): the unit of video i's timestamps, in seconds."""
        tb = self._array("time_bases")[self._index(i)]
        return int(tb[0]), int(tb[1])

    def encoded(self, i):
        """The container file of video i: a zero-copy 1-d uint8 View of the packed bytes."""
        return self._handle.encoded(self._index(i))

    def frames(self, i, indices) -> np.ndarray:
        """Frames ``indices`` (display order, 0-based; negative counts from the end) of video i
        as a new (T, H, W, 3) uint8 array."""
        i = self._index(i)
        n = int(self.num_frames[i])
        idx = np.asarray(indices)
        if idx.ndim != 1 or (idx.size and not np.issubdtype(idx.dtype, np.integer)):
            raise TypeError(f"indices must be a 1-d sequence of integers, got {idx.dtype} "
                            f"with shape {idx.shape}")
        idx = idx.astype(np.int64)
        if idx.size and (idx.min() < -n or idx.max() >= n):
            raise IndexError(f"frame index out of range for video {i} of {n} frames")
        idx = np.where(idx < 0, idx + n, idx)
        if not getattr(_nocopy, "_video_available", lambda: False)():
            raise NotImplementedError("this build of nocopy has no video decoder (FFmpeg); the "
                                      "set's index, bytes and metadata are readable")
        # The decoder takes frames in increasing order: each distinct frame decoded once, then
        # placed where it was asked for.
        wanted, where = np.unique(idx, return_inverse=True)
        # The stored index (display-order timestamps and keyframe flags) says where to seek:
        # nothing is probed here.
        h, w = (int(v) for v in self.shapes[i, :2])
        frames = np.asarray(_nocopy._video_decode_indexed(
            self.encoded(i), self.timestamps(i), np.asarray(self.keyframes(i), np.int64), wanted,
            h, w))
        return frames if np.array_equal(wanted, idx) else frames[where]

    def _index(self, i) -> int:
        if isinstance(i, (bool, np.bool_)) or not isinstance(i, (int, np.integer)):
            raise TypeError(f"VideoSet indices must be integers, not {type(i).__name__}")
        i = int(i)
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"video index {i} is out of range for {n} videos")
        return i + n if i < 0 else i

    def __repr__(self) -> str:
        return (f"nocopy.VideoSet({len(self)} videos, {int(self.num_frames.sum())} frames, "
                f"codecs={sorted(set(self.codecs))}, "
                f"{self._handle.data.nbytes / 2**20:.1f} MiB, "
                f"labels={self._handle.has_labels}, folder={self._folder!r})")

    def __reduce__(self):
        return (VideoSet.open, (self._folder,))


# A remote set's shards open as VideoSets (wired here: _remote_sets cannot import this module).
RemoteVideoSet.shard_class = VideoSet
