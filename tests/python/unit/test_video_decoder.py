"""The FFmpeg video decoder against PyAV: videos generated here (H.264 with and without
B-frames, GOP 1 / 12 / 250, odd sizes, VP9, MPEG-4 part 2, variable frame rate) are probed and
decoded by nocopy, and every decoded frame is compared with PyAV's decode of the same frame
(``to_ndarray(format="rgb24")``, which converts with swscale's bilinear flags as nocopy does).
Frames are found by pts, in any set and order of requests, on one decoder reused across
requests (forward continuation without a seek, backward seeks). Damaged videos (truncated, bit
flips, garbage, empty) raise ValueError / RuntimeError or return frames, never crash or hang."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import textwrap
from fractions import Fraction

import numpy as np
import pytest

from nocopy import _nocopy

av = pytest.importorskip("av")

pytestmark = pytest.mark.skipif(not _nocopy._video_available(),
                                reason="nocopy built without FFmpeg")

# Both decode bit-exactly (the YUV planes are equal) and convert with swscale's bilinear flags
# and the frame's own matrix and range: for even sizes and 4:4:4 the RGB is equal too. PyAV ships
# a newer swscale than the system FFmpeg nocopy links, and the two upsample the chroma of an
# odd-sized 4:2:0 picture differently (measured: max 102-107, mean 3.3-5.2 levels, 6.6 in the
# worst frame; nocopy's is the closer one to a plain bilinear upsampling of PyAV's planes, mean
# 2.0 against 3.1): there the RGB must equal the `ffmpeg` command's (same swscale as nocopy)
# exactly, and PyAV's within a mean of 10 levels a frame (neighbouring frames differ by >= 25).
MAX_DIFF = 0
ODD_420_MEAN_DIFF = 10.0


def picture(i, h, w):
    """A moving colour pattern with fine detail (frame i of a clip)."""
    y, x = np.mgrid[0:h, 0:w]
    r = (x * 3 + i * 5) % 256
    g = (y * 4 + i * 3) % 256
    b = ((x + y) * 2 + i * 7) % 256
    rgb = np.stack([r, g, b], axis=-1).astype(np.uint8)
    rgb[(y // 4 + x // 4 + i) % 7 == 0] = 255 - rgb[(y // 4 + x // 4 + i) % 7 == 0]
    return rgb


def encode(codec, w, h, n, *, container="mp4", gop=12, bframes=0, pix_fmt="yuv420p",
           pts=None, options=None):
    """n frames of `picture` encoded with `codec` into `container` bytes."""
    buf = io.BytesIO()
    with av.open(buf, "w", format=container) as out:
        stream = out.add_stream(codec, rate=25, options=options or {})
        stream.width, stream.height, stream.pix_fmt = w, h, pix_fmt
        stream.codec_context.gop_size = gop
        stream.codec_context.max_b_frames = bframes
        if pts is not None:
            stream.time_base = Fraction(1, 1000)
            stream.codec_context.time_base = Fraction(1, 1000)
        for i in range(n):
            frame = av.VideoFrame.from_ndarray(picture(i, h, w), format="rgb24")
            if pts is not None:
                frame.pts = pts[i]
                frame.time_base = Fraction(1, 1000)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buf.getvalue()


def pyav_frames(data):
    """(pts list, [H, W, 3] uint8 frames) of PyAV's decode, presentation order."""
    with av.open(io.BytesIO(data)) as c:
        frames = list(c.decode(video=0))
    frames.sort(key=lambda f: f.pts)
    return [f.pts for f in frames], [f.to_ndarray(format="rgb24") for f in frames]


X264 = {"preset": "veryfast", "sc_threshold": "0"}
VP9 = {"deadline": "realtime", "cpu-used": "8"}
VFR_PTS = list(np.cumsum([0] + [int(d) for d in np.random.default_rng(5).integers(15, 90, 129)]))

# name -> (encode arguments, frame count)
VIDEOS = {
    "h264_gop12": (dict(codec="libx264", w=64, h=48, gop=12, options=X264), 130),
    "h264_gop12_bframes": (dict(codec="libx264", w=64, h=48, gop=12, bframes=3, options=X264),
                           130),
    "h264_gop1": (dict(codec="libx264", w=34, h=20, gop=1, options=X264), 40),
    "h264_gop250_bframes": (dict(codec="libx264", w=48, h=32, gop=250, bframes=2,
                                 options=X264), 130),
    "h264_odd_444": (dict(codec="libx264", w=67, h=45, gop=12, bframes=2, pix_fmt="yuv444p",
                          options=X264), 40),
    "h264_mkv": (dict(codec="libx264", w=66, h=46, gop=12, bframes=3, container="matroska",
                      options=X264), 40),
    "vp9_odd_webm": (dict(codec="libvpx-vp9", w=67, h=45, gop=12, container="webm",
                          options=VP9), 40),
    "vp9_webm": (dict(codec="libvpx-vp9", w=64, h=48, gop=10, container="webm", options=VP9),
                 40),
    "mpeg4_odd_bframes": (dict(codec="mpeg4", w=67, h=45, gop=12, bframes=2), 40),
    "mpeg4_bframes_mkv": (dict(codec="mpeg4", w=64, h=48, gop=12, bframes=2,
                               container="matroska"), 40),
    "h264_vfr_mkv": (dict(codec="libx264", w=64, h=48, gop=12, bframes=2, container="matroska",
                          pts=VFR_PTS, options=X264), 130),
    "h264_vfr_mp4": (dict(codec="libx264", w=64, h=48, gop=10, pts=VFR_PTS[:60], options=X264),
                     60),
}


_CACHE: dict = {}


def video(name):
    """(bytes, PyAV pts, PyAV frames) of VIDEOS[name], encoded once per test session."""
    if name not in _CACHE:
        kwargs, n = VIDEOS[name]
        kwargs = dict(kwargs)
        data = encode(kwargs.pop("codec"), kwargs.pop("w"), kwargs.pop("h"), n, **kwargs)
        _CACHE[name] = (data, *pyav_frames(data))
    return _CACHE[name]


def odd_420(name):
    kwargs = VIDEOS[name][0]
    return kwargs.get("pix_fmt", "yuv420p") == "yuv420p" and (kwargs["w"] % 2 or kwargs["h"] % 2)


def assert_close(got, want, what, odd=False):
    diff = np.abs(got.astype(np.int16) - want.astype(np.int16))
    assert got.shape == want.shape, what
    if odd:
        assert diff.mean() <= ODD_420_MEAN_DIFF, f"{what}: mean difference {diff.mean()}"
    else:
        assert diff.max() <= MAX_DIFF, f"{what}: max difference {diff.max()}"


def ffmpeg_rgb(data, h, w):
    """Every frame of `data` as RGB by the `ffmpeg` command (the system's FFmpeg), or None."""
    if shutil.which("ffmpeg") is None:
        return None
    proc = subprocess.run(["ffmpeg", "-v", "error", "-i", "-", "-vsync", "0", "-sws_flags",
                           "bilinear", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                          input=data, capture_output=True, timeout=60, check=True)
    return np.frombuffer(proc.stdout, np.uint8).reshape(-1, h, w, 3)


@pytest.mark.parametrize("name", list(VIDEOS))
def test_probe_matches_pyav(name):
    data, pts, frames = video(name)
    probe = _nocopy._video_probe(data)
    assert probe["pts"] == pts
    assert probe["frame_count"] == len(pts) == VIDEOS[name][1]
    assert (probe["height"], probe["width"], 3) == frames[0].shape
    with av.open(io.BytesIO(data)) as c:
        s = c.streams.video[0]
        assert probe["codec"] == s.codec_context.name or probe["codec"] == s.codec.name
        assert Fraction(*probe["time_base"]) == s.time_base
        keys = sorted((p.pts, p.is_keyframe) for p in c.demux(s) if p.pts is not None)
    assert probe["keyframe"] == [k for _, k in keys]
    assert probe["keyframe"][0]
    gop = VIDEOS[name][0]["gop"]
    if gop == 1:
        assert all(probe["keyframe"])
    if gop == 250:
        assert sum(probe["keyframe"]) == 1


def request_sets(n):
    return [[0], [5, 6, 7], list(range(min(100, n - 20), min(116, n), 2)), [n - 1],
            sorted(np.random.default_rng(n).choice(n, 9, replace=False).tolist()),
            list(range(n))]


@pytest.mark.parametrize("name", list(VIDEOS))
def test_decode_matches_pyav(name):
    data, pts, frames = video(name)
    for wanted in request_sets(len(pts)):
        got = np.asarray(_nocopy._video_decode(data, wanted))
        assert got.shape == (len(wanted), *frames[0].shape) and got.dtype == np.uint8
        for k, f in enumerate(wanted):
            assert_close(got[k], frames[f], f"{name} frame {f}", odd_420(name))


@pytest.mark.parametrize("name", [n for n in VIDEOS if odd_420(n)])
def test_odd_420_equals_system_ffmpeg(name):
    data, pts, frames = video(name)
    reference = ffmpeg_rgb(data, *frames[0].shape[:2])
    if reference is None:
        pytest.skip("no ffmpeg command")
    got = np.asarray(_nocopy._video_decode(data, list(range(len(pts)))))
    assert np.array_equal(got, reference)


@pytest.mark.parametrize("name", ["h264_gop12_bframes", "h264_gop250_bframes", "vp9_odd_webm",
                                  "vp9_webm", "mpeg4_bframes_mkv", "h264_vfr_mkv"])
def test_one_decoder_many_requests(name):
    data, pts, frames = video(name)
    n = len(pts)
    requests = [[2, 3], [4, 6], [7], [30, 31], [1], [n - 1], [0, n - 1], [10, 11, 12], [3]]
    arrays, seeks = _nocopy._video_decode_requests(data, requests)
    for wanted, got in zip(requests, arrays):
        got = np.asarray(got)
        for k, f in enumerate(wanted):
            assert_close(got[k], frames[f], f"{name} frame {f} of request {wanted}",
                         odd_420(name))
    # A forward continuation inside a GOP needs no seek.
    _, seeks_forward = _nocopy._video_decode_requests(data, [[2, 3], [4, 6], [7], [8]])
    assert seeks_forward == 1
    assert seeks <= len(requests)


@pytest.mark.parametrize("name", ["h264_gop12_bframes", "h264_gop250_bframes", "vp9_webm"])
def test_a_clip_decodes_forward_through_near_keyframes_with_one_seek(name):
    # Every frame to the end (the decoder drains its last frames without seeking again), and a
    # clip of every other frame across GOP boundaries: one seek each.
    data, pts, frames = video(name)
    n = len(pts)
    for wanted in (list(range(n)), list(range(1, min(n, 40), 2))):
        arrays, seeks = _nocopy._video_decode_requests(data, [wanted])
        assert seeks == 1, (name, seeks)
        for k, f in enumerate(wanted[::7]):
            assert_close(np.asarray(arrays[0])[k * 7], frames[f], f"{name} frame {f}")


def test_repeated_and_duplicate_frames():
    data, pts, frames = video("h264_gop12_bframes")
    got = np.asarray(_nocopy._video_decode(data, [3, 3, 4, 4, 4]))
    for k, f in enumerate([3, 3, 4, 4, 4]):
        assert_close(got[k], frames[f], f"frame {f}")


WINDOW_VIDEOS = ["h264_gop12_bframes", "h264_odd_444", "vp9_odd_webm", "mpeg4_odd_bframes",
                 "h264_gop1"]


@pytest.mark.parametrize("name", WINDOW_VIDEOS)
def test_window_conversion_equals_the_whole_frames_window(name):
    # Converting only a window from the YUV planes (widened to the chroma grid) gives exactly
    # the pixels of the whole frame's conversion: odd and even origins and sizes, the corners.
    data, pts, _ = video(name)
    n = len(pts)
    wanted = [0, 1, n // 2, n - 1]
    whole = np.asarray(_nocopy._video_decode(data, wanted))
    h, w = whole.shape[1:3]
    rng = np.random.default_rng(7)
    windows = [(0, 0, h, w), (1, 1, h - 1, w - 1), (h - 1, w - 1, 1, 1), (0, w - 3, 5, 3)]
    for _ in range(6):
        top, left = int(rng.integers(0, h - 1)), int(rng.integers(0, w - 1))
        windows.append((top, left, int(rng.integers(1, h - top + 1)),
                        int(rng.integers(1, w - left + 1))))
    for top, left, wh, ww in windows:
        got = np.asarray(_nocopy._video_decode_window(data, wanted, (top, left, wh, ww)))
        assert np.array_equal(got, whole[:, top:top + wh, left:left + ww]), (top, left, wh, ww)


@pytest.mark.parametrize("window", [(-1, 0, 4, 4), (0, 0, 0, 4), (0, 0, 49, 4), (40, 60, 9, 5),
                                    (0, 0, 4)])
def test_window_outside_the_frame_is_a_value_error(window):
    data = video("h264_gop12")[0]
    with pytest.raises(ValueError):
        _nocopy._video_decode_window(data, [0], window)


def test_decode_only_decodes_without_converting():
    data, pts, _ = video("h264_gop12_bframes")
    probe = _nocopy._video_probe(data)
    keyframes = [int(k) for k in probe["keyframe"]]
    assert _nocopy._video_decode_only(data, probe["pts"], keyframes,
                                      [[2, 3], [4, 6], [50]]) == 2
    with pytest.raises(ValueError):
        _nocopy._video_decode_only(data, probe["pts"], keyframes, [[len(pts)]])


@pytest.mark.parametrize("bad, error", [
    ([-1], ValueError), ([130], ValueError), ([5, 4], ValueError), (["a"], TypeError),
    (None, TypeError)])
def test_bad_requests(bad, error):
    data = video("h264_gop12")[0]
    with pytest.raises(error):
        _nocopy._video_decode(data, bad)


@pytest.mark.parametrize("data, error", [
    (b"", ValueError), (b"\0" * 1000, ValueError), (b"not a video at all" * 50, ValueError),
    ("a string", TypeError), (np.zeros((4, 4), np.float32), ValueError)])
def test_bad_containers(data, error):
    with pytest.raises(error):
        _nocopy._video_probe(data)
    with pytest.raises(error):
        _nocopy._video_decode(data, [0])


def damaged_corpus():
    """(label, bytes) of damaged videos: truncations, bit flips, garbage, zero bytes."""
    rng = np.random.default_rng(0)
    out = []
    for name in ["h264_gop12_bframes", "h264_mkv", "vp9_odd_webm", "mpeg4_odd_bframes"]:
        data = video(name)[0]
        for frac in [0.05, 0.3, 0.5, 0.9, 0.99]:
            out.append((f"{name} truncated at {frac}", data[:int(len(data) * frac)]))
        for seed in range(4):
            b = bytearray(data)
            r = np.random.default_rng(seed)
            for pos in r.integers(len(b) // 4, 3 * len(b) // 4, 8):
                b[pos] ^= 1 << int(r.integers(0, 8))
            out.append((f"{name} bit flips {seed}", bytes(b)))
        b = bytearray(data)
        mid = len(b) // 2
        b[mid:mid + 512] = rng.integers(0, 256, 512, dtype=np.uint8).tobytes()
        out.append((f"{name} garbage block", bytes(b)))
        b = bytearray(data)
        b[mid:mid + 512] = bytes(512)
        out.append((f"{name} zeroed block", bytes(b)))
    out.append(("garbage", rng.integers(0, 256, 5000, dtype=np.uint8).tobytes()))
    out.append(("zeros", bytes(5000)))
    return out


def test_damaged_videos_raise_or_decode_without_crash_or_hang(tmp_path):
    """Every damaged video, in a child process (a crash or hang fails the test): the probe and
    a decode of every frame it lists, then of the first frame alone, each either return frames
    of the right shape or raise ValueError / RuntimeError."""
    corpus = damaged_corpus()
    for i, (_, data) in enumerate(corpus):
        (tmp_path / f"{i}.bin").write_bytes(data)
    script = textwrap.dedent("""
        import json, sys
        import numpy as np
        from nocopy import _nocopy
        results = []
        for i in range(int(sys.argv[2])):
            data = open(f"{sys.argv[1]}/{i}.bin", "rb").read()
            res = []
            try:
                p = _nocopy._video_probe(data)
                res.append(("probe", p["frame_count"]))
                for wanted in [list(range(p["frame_count"])), [0], [p["frame_count"] - 1]]:
                    try:
                        a = np.asarray(_nocopy._video_decode(data, wanted))
                        assert a.shape == (len(wanted), p["height"], p["width"], 3)
                        res.append(("frames", len(wanted)))
                    except (ValueError, RuntimeError) as e:
                        res.append((type(e).__name__, str(e)[:80]))
            except (ValueError, RuntimeError) as e:
                res.append((type(e).__name__, str(e)[:80]))
            results.append(res)
        print(json.dumps(results))
    """)
    proc = subprocess.run([sys.executable, "-c", script, str(tmp_path), str(len(corpus))],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONFAULTHANDLER": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads(proc.stdout.strip().splitlines()[-1])
    assert len(results) == len(corpus)
    kinds = {r[0] for res in results for r in res}
    assert kinds <= {"probe", "frames", "ValueError", "RuntimeError"}
    outcome = dict(zip([label for label, _ in corpus], results))
    # Whole-file damage is refused outright.
    assert outcome["garbage"][0][0] == "ValueError"
    assert outcome["zeros"][0][0] == "ValueError"
