"""nc.pack_videos: a folder tree of videos or a CSV of ``path,label`` -> a VideoSet folder.

Each container file is kept byte for byte (one flat videos.npy, every file 64-byte aligned) and
probed once, here (by nocopy's FFmpeg probe, or PyAV in a build without it): frame size, frame rate,
codec, and every frame's presentation timestamp and keyframe flag, so that reading a clip later
seeks exactly without probing. The output is written and moved into place as pack_images does
(see _pack_output): atomic, never replacing what the pack did not create. With reencode=True
each file is first re-encoded by PyAV (see _reencode) and the re-encoded bytes are probed and
stored instead.

>>> summary = nc.pack_videos("clips/", "clips.nc", on_error="skip")   # doctest: +SKIP
>>> vs = nc.VideoSet.open("clips.nc")                                  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import json
import os
import time

import numpy as np

from . import _nocopy
from ._image_set import FORMAT_VERSION, MANIFEST
from ._pack_steps import (check_on_error, default_threads, list_inputs, progress_bar,
                          shards_note, skip_handler, skipped_lines)
from ._pack_inputs import VIDEO_EXTENSIONS, open_regular
from ._pack_output import make_temp_folder, output_target, remove_if_ours, write_into_place
from ._printable import printable
from ._reencode import reencode_options, reencode_video, summary_line
from ._storage import create_npy

__all__ = ["pack_videos", "VideoPackSummary", "VIDEO_EXTENSIONS", "probe_video"]

_ALIGN = 64


@dataclasses.dataclass
class VideoPackSummary:
    """What pack_videos wrote."""
    out: str
    videos: int
    frames: int
    classes: int
    bytes: int
    skipped: list
    seconds: float
    reencoded: int = 0        # videos re-encoded (reencode=True)
    bytes_before: int = 0     # their input files' bytes
    bytes_after: int = 0      # their re-encoded bytes
    shards: int = 0           # shards written (shard_size or a part), 0 for one folder

    def __str__(self) -> str:
        lines = [f"packed {self.videos} videos ({self.frames} frames), {self.classes} classes, "
                 f"{self.bytes / 2**20:.1f} MiB into {printable(self.out)} in "
                 f"{self.seconds:.1f} s" + shards_note(self.shards)]
        if self.reencoded:
            lines.append(summary_line(self.reencoded, self.bytes_before, self.bytes_after))
        return "\n".join(lines + skipped_lines(self.skipped))


@dataclasses.dataclass
class VideoProbe:
    """What one video's probe found."""
    size: int                 # bytes of the file
    height: int
    width: int
    fps: tuple                # (num, den)
    time_base: tuple          # (num, den)
    codec: str
    pts: np.ndarray           # (T,) int64, display order
    keyframes: np.ndarray     # (T,) uint8


def _fraction(value, what: str) -> tuple:
    if value is None or value.numerator < 1 or value.denominator < 1:
        raise ValueError(f"the stream has no {what}")
    return int(value.numerator), int(value.denominator)


def probe_video(path: str) -> VideoProbe:
    """The frames of the video stream of ``path`` (a regular file) in display order with their
    timestamps and keyframe flags, its size, frame rate and codec: by nocopy's own FFmpeg probe
    when this build has the video decoder, else by PyAV."""
    if getattr(_nocopy, "_video_available", lambda: False)():
        return _probe_with_nocopy(path)
    return _probe_with_pyav(path)


def _probe_with_nocopy(path: str) -> VideoProbe:
    with open_regular(path) as f:
        data = f.read()
    p = _nocopy._video_probe(data)
    if not p["pts"]:
        raise ValueError("the video has no frames")
    if p["height"] < 1 or p["width"] < 1:
        raise ValueError(f"frame size {p['width']}x{p['height']}")
    fps, time_base = tuple(p["fps"]), tuple(p["time_base"])
    if min(fps) < 1 or min(time_base) < 1:
        raise ValueError(f"frame rate {fps} or time base {time_base} is unknown")
    return _sorted_probe(len(data), p["height"], p["width"], fps, time_base, p["codec"],
                         p["pts"], p["keyframe"])


def _sorted_probe(size, height, width, fps, time_base, codec, pts, keys) -> VideoProbe:
    """A VideoProbe with the frames put in display order (increasing timestamps)."""
    if not len(pts):
        raise ValueError("the video has no frames")
    pts = np.asarray(pts, np.int64)
    order = np.argsort(pts, kind="stable")
    if np.any(np.diff(pts[order]) <= 0):
        raise ValueError("two frames have the same timestamp")
    return VideoProbe(int(size), int(height), int(width), fps, time_base, str(codec),
                      pts[order], np.asarray(keys, np.uint8)[order])


#: Why a video whose container has decode-order times only and whose frames are reordered is
#: refused (the C++ probe says the same).
NO_PRESENTATION_TIMES = (
    "the container stores no presentation timestamps and the stream reorders frames "
    "(B-frames, as in AVI): frames cannot be found exactly; re-encode it (pack with "
    "reencode=True)")


def _probe_with_pyav(path: str) -> VideoProbe:
    """Reads the packets of the first video stream (nothing is decoded unless the container
    gives packets no timestamps)."""
    import av  # PyAV: only needed to pack, when nocopy has no video decoder

    with open_regular(path) as f:
        size = os.fstat(f.fileno()).st_size
        with av.open(f, mode="r") as container:
            if not container.streams.video:
                raise ValueError("no video stream")
            stream = container.streams.video[0]
            ctx = stream.codec_context
            height, width = int(ctx.height), int(ctx.width)
            if height < 1 or width < 1:
                raise ValueError(f"frame size {width}x{height}")
            rate = stream.average_rate or stream.guessed_rate or stream.base_rate
            fps, time_base = _fraction(rate, "frame rate"), _fraction(stream.time_base,
                                                                      "time base")
            codec = ctx.name
            if ctx.has_b_frames and container.format.name == "avi":
                raise ValueError(NO_PRESENTATION_TIMES)
            pts, keys = [], []
            packets = [p for p in container.demux(stream) if p.size > 0]
            if all(p.pts is not None for p in packets):
                pts = [p.pts for p in packets]
                keys = [bool(p.is_keyframe) for p in packets]
            else:  # no packet timestamps (some AVI files): the decoded frames give them
                f.seek(0)
                with av.open(f, mode="r") as again:
                    for frame in again.decode(again.streams.video[0]):
                        if frame.pts is None:
                            raise ValueError("a frame has no timestamp")
                        pts.append(frame.pts)
                        keys.append(bool(frame.key_frame))
    return _sorted_probe(size, height, width, fps, time_base, codec, pts, keys)


def pack_videos(src, out, *, threads: int | None = None, on_error: str = "fail",
                overwrite: bool = False, progress: bool = False, reencode: bool = False,
                gop: int | None = None, max_side: int | None = None,
                crf: int | None = None, shard_size=None, num_shards: int | None = None,
                shard_index: int | None = None) -> VideoPackSummary:
    """Packs ``src`` (a folder tree ``SRC/<class>/<video>`` of .mp4, .mkv, .webm, .avi or .mov
    files, labels by sorted class name, or a CSV of ``path,label`` rows, paths relative to the
    CSV) into the VideoSet folder ``out``. The container files are kept as they are; each is
    probed once (frame size, frame rate, codec, every frame's timestamp and keyframe flag).
    ``on_error="skip"`` lists unreadable files in the manifest and the summary instead of
    failing; ``threads`` probe and copy in parallel. ``out`` is written and replaced as
    pack_images does: FileExistsError unless ``overwrite`` (then only a set folder is replaced,
    atomically); a failed pack leaves nothing behind. Returns a VideoPackSummary.

    ``reencode=True`` stores each video re-encoded by PyAV instead (see _reencode): H.264 in MP4,
    yuv420p, even frame size, a keyframe exactly every ``gop`` frames (default 12), the longer
    side shrunk to ``max_side`` when given, x264 quality ``crf`` (0-51, default 18), frame count
    and rate kept; the probe then reads the re-encoded bytes. ``gop``, ``max_side`` and ``crf``
    without ``reencode`` are a ValueError.

    ``shard_size``, ``num_shards`` and ``shard_index`` write shards, each a complete VideoSet
    folder, as pack_images does (see docs/SHARDS.md).

    >>> print(nc.pack_videos("clips/", "clips.nc", on_error="skip"))
    """
    t0 = time.perf_counter()
    src, out = os.fspath(src), os.fspath(out)
    check_on_error(on_error)
    threads = default_threads(threads)
    options = reencode_options(reencode, gop, max_side, crf)
    if not os.path.exists(src):
        raise FileNotFoundError(2, "no such video folder or CSV", src)
    out = out.rstrip(os.sep) or out

    stats = {"frames": 0, "reencoded": (0, 0, 0)}  # for the summary

    def write(folder, items, classes, pool, fail_or_skip, skipped, bar, num_classes=None):
        n, c, nbytes, frames, reencoded = write_videos(
            folder, items, classes, src, pool, fail_or_skip, skipped, bar, options=options,
            num_classes=num_classes)
        stats["frames"] += frames
        stats["reencoded"] = tuple(a + b for a, b in zip(stats["reencoded"], reencoded))
        return n, c, nbytes

    if shard_size is not None or num_shards is not None or shard_index is not None:
        from ._pack_shards import pack_sharded

        n, num_classes, nbytes, skipped, shards = pack_sharded(
            "video", src, out, write, shard_size=shard_size, num_shards=num_shards,
            shard_index=shard_index, threads=threads, on_error=on_error, overwrite=overwrite,
            progress=progress)
        return VideoPackSummary(out, n, stats["frames"], num_classes, nbytes, skipped,
                                time.perf_counter() - t0, *stats["reencoded"], shards=shards)
    target = output_target(out, overwrite)
    skipped, fail_or_skip = skip_handler(on_error, "cannot read video")
    items, classes = list_inputs(src, VIDEO_EXTENSIONS, skipped, fail_or_skip)
    if not items:
        raise ValueError(f"{src}: no videos found")

    bar = progress_bar(progress, "video")
    n, num_classes, nbytes = write_into_place(
        out, target, overwrite, threads, bar,
        lambda tmp, pool: write(tmp, items, classes, pool, fail_or_skip, skipped, bar))
    return VideoPackSummary(out, n, stats["frames"], num_classes, nbytes, skipped,
                            time.perf_counter() - t0, *stats["reencoded"])


def write_videos(tmp, items, classes, src, pool, fail_or_skip, skipped, bar, *, options,
                 num_classes=None) -> tuple[int, int, int, int, tuple]:
    """Writes ``items`` ((path, label) pairs) as one VideoSet into the existing folder ``tmp``
    (re-encoded first when ``options``, staged in a temporary folder beside ``tmp``). Returns
    (videos, classes, data bytes, frames, (videos re-encoded, their bytes before, after)).
    ``num_classes`` overrides the count taken from ``classes`` or the largest label (a shard of
    a larger listing)."""
    stage, stage_id = None, None  # the re-encoded files until they are copied
    sources = [path for path, _ in items]  # the files stored: the inputs or their re-encodes
    input_bytes = np.zeros(len(items), np.int64)
    try:
        if options:
            stage, stage_id = make_temp_folder(tmp)
        task = bar.add_task("re-encoding" if options else "probing",
                            total=len(items)) if bar else None

        def probe(k):
            item = items[k]
            try:
                if options:
                    sources[k] = os.path.join(stage, f"{k}.mp4")
                    input_bytes[k] = reencode_video(item[0], sources[k], options)
                return probe_video(sources[k])
            except Exception as exc:  # noqa: BLE001 - any probe failure is the file's
                fail_or_skip(item[0], exc)
                return None
            finally:
                if bar:
                    bar.advance(task)

        probes = list(pool.map(probe, range(len(items))))
        keep = [k for k, p in enumerate(probes) if p is not None]
        if not keep:
            raise ValueError(f"{src}: no readable videos ({len(skipped)} skipped)")
        sizes = np.array([probes[k].size for k in keep], np.int64)
        ends = np.cumsum(-(-sizes // _ALIGN) * _ALIGN)
        offsets = np.concatenate([[0], ends[:-1]]).astype(np.int64)
        data_view = create_npy(os.path.join(tmp, "videos.npy"), (int(ends[-1]),), "uint8")
        data = np.asarray(data_view)
        ok = np.ones(len(keep), bool)
        task = bar.add_task("packing", total=len(keep)) if bar else None

        def copy(j):
            path = items[keep[j]][0]
            try:
                with open_regular(sources[keep[j]]) as f:
                    got = f.readinto(memoryview(data[offsets[j]:offsets[j] + sizes[j]]))
                    if got != sizes[j] or f.read(1):
                        raise ValueError("the file changed size since it was probed")
                if options:
                    os.unlink(sources[keep[j]])
            except Exception as exc:  # noqa: BLE001
                fail_or_skip(path, exc)
                ok[j] = False
            if bar:
                bar.advance(task)

        for _ in pool.map(copy, range(len(keep))):
            pass
        del data
        del data_view
    finally:
        if stage is not None:
            remove_if_ours(stage, stage_id)
    kept = [probes[keep[j]] for j in range(len(keep)) if ok[j]]
    if not kept:
        raise ValueError(f"{src}: no readable videos ({len(skipped)} skipped)")
    labels = np.array([items[keep[j]][1] for j in range(len(keep)) if ok[j]], np.int64)
    codec_names = sorted({p.codec for p in kept})
    counts = np.array([len(p.pts) for p in kept], np.int64)
    arrays = {
        "offsets": offsets[ok], "lengths": sizes[ok],
        "shapes": np.array([(p.height, p.width, 3) for p in kept], np.int64),
        "fps": np.array([p.fps for p in kept], np.int64),
        "time_bases": np.array([p.time_base for p in kept], np.int64),
        "codecs": np.array([codec_names.index(p.codec) for p in kept], np.int64),
        "frame_starts": np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
        "pts": np.concatenate([p.pts for p in kept]).astype(np.int64),
        "keyframes": np.concatenate([p.keyframes for p in kept]).astype(np.uint8),
        "labels": labels,
    }
    for name, a in arrays.items():
        np.save(os.path.join(tmp, f"{name}.npy"), a)
    skipped.sort(key=lambda s: s["path"])
    if num_classes is None:
        num_classes = len(classes) if classes is not None else int(labels.max()) + 1
    manifest = {
        "format_version": FORMAT_VERSION, "kind": "video", "num_videos": len(kept),
        "num_frames": int(counts.sum()), "num_classes": num_classes, "classes": classes,
        "codecs": codec_names, "data_bytes": int(ends[-1]), "source": os.path.abspath(src),
        "reencode": options.manifest() if options else None, "skipped": skipped,
    }
    with open(os.path.join(tmp, MANIFEST), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=1)
    done = [keep[j] for j in range(len(keep)) if ok[j]]
    reencoded = ((len(kept), int(input_bytes[done].sum()), int(sizes[ok].sum()))
                 if options else (0, 0, 0))
    return len(kept), num_classes, int(ends[-1]), int(counts.sum()), reencoded
