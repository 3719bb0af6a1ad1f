"""nc.VideoLoader: batches of video clips from a VideoSet, decoded by C++ worker threads.

The C++ core (``_VideoLoader``: the batch engine running the video producer) validates every
option (declared once, in C++), plans every batch from (seed, epoch, batch index), decodes each
clip's frames in a worker (one decoder per worker, kept open on its last video; only each
frame's transform window converted from YUV), runs the ``nocopy.transforms`` pipeline drawn once
per clip on every frame, and writes pooled 64-byte aligned buffers handed over zero-copy.
BatchLoader (``_batch_loader.py``) does the rest: iteration, epochs, resume, statistics.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._batch_loader import BatchLoader, block_shuffle, options_doc
from ._nocopy import _ShardedVideos, _VideoLoader
from ._video_set import VideoSet
from ._views import view
from .transforms import _close_at_exit
from .transforms import _plan as _transform_plan
from .transforms import steps_of as _transform_steps

__all__ = ["VideoLoader", "VideoPlan"]


class VideoPlan(NamedTuple):
    """What batch i holds: the video of each clip (``indices``), which of that video's
    ``clips_per_video`` clips it is (``clips``), its frame numbers (``frames``, (B, clip_len),
    display order), and with ``transforms=`` each transform's drawn parameters per clip
    (``params``: {transform name: {parameter: (B,) array}}, the same as nc.Loader's
    TransformPlan; repeated names get #2, #3 suffixes). Every value is a pure function of
    (seed, epoch, global position)."""

    indices: np.ndarray
    clips: np.ndarray
    frames: np.ndarray
    params: dict
    #: With an nc.Mixture: the dataset of each clip (``indices`` are then its index there).
    dataset: np.ndarray | None = None


class VideoLoader(BatchLoader):
    """Batches of (clips, labels) from an ``nc.VideoSet``: clips of ``clip_len`` frames,
    ``frame_step`` apart, decoded and transformed in C++ worker threads.

    >>> loader = nc.VideoLoader(nc.VideoSet.open("clips.nc"), clip_len=16, frame_step=2,
    ...                         transforms=[T.RandomResizedCrop(112), T.ToDtype(torch.float32,
    ...                         scale=True)], batch_size=8)             # doctest: +SKIP
    >>> clips, labels = next(iter(loader))   # (8, 16, 3, 112, 112) float32  # doctest: +SKIP

    ``nc.Loader(video_set, ...)`` builds the same loader. Each epoch holds ``clips_per_video``
    clips of every video. ``clip_sampling`` chooses each clip's first frame: ``"random"`` (drawn
    per seed, epoch and position), ``"uniform"`` (``clips_per_video`` clips evenly spread from
    the start to the end) or ``"center"``; a video shorter than a clip's span repeats its last
    frame. ``layout`` is ``"TCHW"`` (batches (B, T, C, H, W)), ``"CTHW"`` ((B, C, T, H, W)) or
    ``"THWC"``.

    ``transforms`` takes a ``nocopy.transforms`` pipeline (as nc.Loader does): its random
    parameters are drawn ONCE per clip and every frame gets the same ones (the same crop, flip,
    colour change, erased box), as torchvision v2 does for a video tensor. The output dtype is
    ToDtype's. Without transforms the frames are delivered as decoded, uint8, and every video
    must have the same size. Only each frame's transform window is converted from YUV to RGB.

    ``labels`` default to the set's labels. Determinism, ``plan(i)``, ``state_dict()`` /
    ``load_state_dict()``, ``rank`` / ``world_size`` sharding, ``on_error`` (a corrupt or
    truncated video is an ``nc.LoaderError`` whose ``.sample`` is the video's index, or with
    ``"skip"`` a substitute clip), ``allocator`` and ``pin_memory`` work as for nc.Loader.

    A VideoSet at a URL (``nc.VideoSet.open("https://...")``, a RemoteVideoSet) is read shard
    by shard: a shard is fetched when a worker first decodes one of its videos, and the shards
    of the next ``fetch_ahead`` batches download in the background (docs/REMOTE.md).
    """

    _what = "video loader"

    def __init__(self, videos, labels=None, batch_size: int = 32, *, clip_len: int = 16,
                 frame_step: int = 1, clips_per_video: int = 1, clip_sampling: str = "random",
                 layout: str = "TCHW", transforms=None, shuffle: bool | str = True, seed: int = 0,
                 drop_last: bool = False, num_threads: int | None = None, prefetch: int = 2,
                 rank: int = 0, world_size: int = 1, output: str = "torch", allocator=None,
                 pin_memory: bool = False, on_error: str = "raise", fetch_ahead: int = 4,
                 block_shards: int = 0):
        shards = getattr(videos, "__nocopy_video_sources__", None)
        if not isinstance(videos, VideoSet) and shards is None:
            raise TypeError(f"videos must be an nc.VideoSet, not {type(videos).__name__}")
        mixture = getattr(videos, "__nocopy_mixture__", None)
        self._mixture = videos if mixture is not None else None
        allocator = self._setup(output, allocator, pin_memory)
        shuffle, block_shards = block_shuffle(shuffle, block_shards)
        self._videos = videos
        if labels is None:
            labels = videos.labels
        elif isinstance(labels, (list, tuple)):
            labels = np.asarray(labels)  # a Python list has no buffer: converted once
        self._labels = None if labels is None else view(labels)
        extra = {}
        self._transforms = transforms
        sources = shards() if shards is not None else videos._handle
        # Workers that call Python (a Lambda, a remote dataset's shard opener) wait for the GIL:
        # they are joined with it released (close, collection, exit).
        self._python_steps = isinstance(sources, list) and any(
            isinstance(s, _ShardedVideos) for s in sources)
        if mixture is not None:
            extra["mixture"] = mixture()
        if transforms is not None:
            extra["transforms"] = _transform_steps(transforms)
            self._python_steps = self._python_steps or any(
                name == "Lambda" for name, _args in extra["transforms"])
        if self._python_steps:
            _close_at_exit(self)
        self._core = _VideoLoader(
            sources, self._labels, batch_size=batch_size, clip_len=clip_len,
            frame_step=frame_step, clips_per_video=clips_per_video, clip_sampling=clip_sampling,
            layout=layout, shuffle=shuffle, seed=seed, drop_last=drop_last,
            num_threads=num_threads, prefetch=prefetch, rank=rank, world_size=world_size,
            allocator=allocator, on_error=on_error, fetch_ahead=fetch_ahead,
            block_shards=block_shards, **extra)

    @property
    def clip_shape(self) -> tuple:
        """Shape of one clip, in the layout's order: (T, C, H, W), (C, T, H, W) or (T, H, W, C)."""
        return self._live().clip_shape

    @property
    def clips_per_epoch(self) -> int:
        """Clips in one epoch over all ranks: len(videos) * clips_per_video."""
        return self._live().clips_per_epoch

    def plan(self, i: int, epoch: int | None = None) -> VideoPlan:
        """What batch ``i`` of ``epoch`` holds (default: the current epoch, as for
        nc.Loader.plan): a VideoPlan of NumPy arrays, enough to rebuild the batch with any
        decoder and torchvision's functional ops."""
        indices, clips, frames, steps = self._live().plan(i, epoch)
        indices = np.asarray(indices, np.int64)
        frames = np.asarray(frames, np.int64).reshape(len(indices), -1)
        params = _transform_plan(indices, steps).params
        plan = VideoPlan(indices, np.asarray(clips, np.int64), frames, params)
        if self._mixture is None:
            return plan
        dataset, local = self._mixture.locate(plan.indices)
        return plan._replace(indices=local, dataset=dataset)

    def __repr__(self) -> str:
        state = "closed" if self._core is None else f"epoch={self.epoch}, batches={len(self)}"
        return (f"nocopy.VideoLoader(videos={len(self._videos)}, output={self._output!r}, "
                f"{state})")


VideoLoader.__doc__ += options_doc("VideoLoader")
