"""pack_videos(reencode=True): each input re-encoded by PyAV to H.264 in an MP4, for sets whose
GOPs are too long to seek cheaply. Every frame is kept, in display order, at the stream's frame
rate; the frames are converted to yuv420p, their size made even and, with ``max_side``, the
longer side shrunk to at most that many pixels (aspect ratio kept, never enlarged); a keyframe
(IDR) starts every ``gop`` frames exactly (x264 with keyint = min-keyint = gop, no scene-cut
keyframes), so reaching any frame decodes at most ``gop`` frames. Audio is not kept.

>>> opts = reencode_options(True, gop=8, max_side=256, crf=None)   # doctest: +SKIP
>>> reencode_video("in.mkv", "out.mp4", opts)                        # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import os
from fractions import Fraction

import numpy as np

from ._pack_inputs import open_regular

__all__ = ["ReencodeOptions", "reencode_options", "reencode_video", "reencoded_size",
           "summary_line", "DEFAULT_GOP", "DEFAULT_CRF"]

DEFAULT_GOP = 12   # frames from one keyframe to the next (0.5 s at 24 fps)
DEFAULT_CRF = 18   # x264 constant rate factor: 0 lossless ... 51 worst; 18 is near-transparent
PRESET = "fast"    # x264 speed/size trade-off


@dataclasses.dataclass(frozen=True)
class ReencodeOptions:
    """How pack_videos re-encodes: keyframe interval, longest side (None: kept), x264 CRF."""
    gop: int
    max_side: int | None
    crf: int

    def manifest(self) -> dict:
        """The options as the manifest records them."""
        return {"codec": "h264", "gop": self.gop, "max_side": self.max_side, "crf": self.crf,
                "preset": PRESET}


def _int_arg(name: str, value, low: int, high: int | None = None) -> int:
    """``value`` as a Python int: TypeError unless an integer (bools are not), ValueError
    outside [low, high]."""
    if not isinstance(value, (int, np.integer)) or isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < low or (high is not None and value > high):
        bound = f">= {low}" if high is None else f"in {low}..{high}"
        raise ValueError(f"{name} {value!r} must be {bound}")
    return int(value)


def reencode_options(reencode: bool, gop, max_side, crf) -> ReencodeOptions | None:
    """The checked options, or None when not re-encoding. ``gop``, ``max_side`` and ``crf``
    (None: their defaults) apply only to a re-encode: giving one without ``reencode`` is a
    ValueError, never silently ignored. ImportError naming ``pip install av`` when re-encoding
    without PyAV."""
    if not isinstance(reencode, (bool, np.bool_)):
        raise TypeError(f"reencode must be True or False, got {reencode!r}")
    if not reencode:
        given = [n for n, v in (("gop", gop), ("max_side", max_side), ("crf", crf))
                 if v is not None]
        if given:
            raise ValueError(f"{', '.join(given)} only apply when re-encoding: pass "
                             "reencode=True (--reencode)")
        return None
    _import_av()  # a missing PyAV is said once, before any file is read
    return ReencodeOptions(
        gop=DEFAULT_GOP if gop is None else _int_arg("gop", gop, 1),
        max_side=None if max_side is None else _int_arg("max_side", max_side, 2),
        crf=DEFAULT_CRF if crf is None else _int_arg("crf", crf, 0, 51))


def _even(x: float) -> int:
    """The even number at or below round(x), at least 2."""
    n = int(round(x))
    return max(2, n - n % 2)


def reencoded_size(width: int, height: int, max_side: int | None) -> tuple[int, int]:
    """(width, height) of the re-encoded frames: the longer side shrunk to ``max_side`` when it
    is longer (aspect ratio kept), then each side rounded down to an even number (yuv420p);
    never larger than the source except that a side of 1 becomes 2."""
    s = 1.0 if max_side is None else min(1.0, max_side / max(width, height))
    return _even(width * s), _even(height * s)


def summary_line(videos: int, before: int, after: int) -> str:
    """The pack summary's line about the re-encode: how many videos, their bytes before and
    after."""
    return f"re-encoded {videos} videos: {_bytes(before)} -> {_bytes(after)}"


def _bytes(n: float) -> str:
    """A byte count for people: 512 B, 3.4 KiB, 12.0 MiB, 1.5 GiB."""
    if n < 1024:
        return f"{int(n)} B"
    for unit in ("KiB", "MiB", "GiB"):
        n /= 1024
        if n < 1024 or unit == "GiB":
            break
    return f"{n:.1f} {unit}"


def _import_av():
    try:
        import av
    except ImportError as exc:
        raise ImportError("re-encoding videos needs PyAV: pip install av") from exc
    return av


def reencode_video(src: str, dst: str, options: ReencodeOptions) -> int:
    """Re-encodes the first video stream of ``src`` (a regular file) into the MP4 file ``dst``
    as the module says; returns the size of ``src`` in bytes. ValueError when the file has no
    video stream, no frame rate or no frames; PyAV's errors when it cannot be decoded."""
    av = _import_av()
    from av.video.frame import PictureType

    with open_regular(src) as f, av.open(f, mode="r") as inp:
        size = os.fstat(f.fileno()).st_size
        if not inp.streams.video:
            raise ValueError("no video stream")
        stream = inp.streams.video[0]
        stream.codec_context.thread_count = 1  # the pack's pool runs one video per thread
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        if rate is None or rate <= 0:
            raise ValueError("the stream has no frame rate")
        rate = Fraction(rate.numerator, rate.denominator)
        with av.open(dst, mode="w", format="mp4") as out:
            enc = None
            frames = 0
            for frame in inp.decode(stream):
                if enc is None:
                    if frame.width < 1 or frame.height < 1:
                        raise ValueError(f"frame size {frame.width}x{frame.height}")
                    width, height = reencoded_size(frame.width, frame.height, options.max_side)
                    enc = _add_h264_stream(out, rate, width, height, options)
                    shrink = width < frame.width or height < frame.height
                # One frame in, one frame out, re-timed at the stream's rate; the decoder's
                # picture type is cleared so that x264 alone places the keyframes.
                picture = frame.reformat(width=width, height=height, format="yuv420p",
                                         interpolation="AREA" if shrink else "BILINEAR")
                picture.pts = frames
                picture.time_base = enc.codec_context.time_base
                picture.pict_type = PictureType.NONE
                for packet in enc.encode(picture):
                    out.mux(packet)
                frames += 1
            if enc is None:
                raise ValueError("the video has no frames")
            for packet in enc.encode():
                out.mux(packet)
    return size


def _add_h264_stream(out, rate: Fraction, width: int, height: int, options: ReencodeOptions):
    """The output's H.264 stream: keyframes exactly every ``gop`` frames, one encoder thread
    (the pack's pool runs one video per thread)."""
    s = out.add_stream("libx264", rate=rate)
    s.width, s.height, s.pix_fmt = width, height, "yuv420p"
    ctx = s.codec_context
    ctx.time_base = 1 / rate
    ctx.gop_size = options.gop
    ctx.thread_count = 1
    s.options = {"preset": PRESET, "crf": str(options.crf),
                 "x264-params": f"keyint={options.gop}:min-keyint={options.gop}:scenecut=0:"
                                "open-gop=0"}
    return s
