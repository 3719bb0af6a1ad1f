"""nc.pack_videos(reencode=True): long-GOP videos generated here with PyAV (H.264 and VP9, odd
sizes, NTSC and integer frame rates) are re-encoded while packing; the set's index (keyframes
exactly every gop frames, frame count, frame rate, frame size) is checked against the sources
and the options, and the decoded frames against the source frames decoded by PyAV (PSNR).
Options checked once, the command line, broken inputs, a missing PyAV."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from fractions import Fraction

import numpy as np
import pytest

import nocopy as nc

av = pytest.importorskip("av")

# (class, name, codec, frames, width, height, fps): every source has one keyframe only (GOP 250)
VIDEOS = [
    ("cats", "long.mkv", "libx264", 40, 96, 64, Fraction(30000, 1001)),
    ("cats", "odd.webm", "libvpx-vp9", 30, 65, 47, Fraction(24)),
    ("dogs", "tall.mp4", "libx264", 25, 48, 80, Fraction(25)),
]
GOP = 8
MAX_SIDE = 41  # odd: the longer side becomes 40

needs_decoder = pytest.mark.skipif(not getattr(nc._nocopy, "_video_available", lambda: False)(),
                                   reason="built without the video decoder")


def write_video(path, codec, frames, width, height, fps, gop=250):
    """A small video of smoothly moving colour ramps, one keyframe every ``gop`` frames."""
    with av.open(str(path), "w") as c:
        s = c.add_stream(codec, rate=fps)
        s.width, s.height, s.pix_fmt = width, height, "yuv420p"
        s.codec_context.gop_size = gop
        if codec == "libx264":
            s.options = {"preset": "ultrafast", "keyint_min": str(gop), "sc_threshold": "0"}
        y, x = np.mgrid[0:height, 0:width] / max(width, height)
        for k in range(frames):
            t = k / frames
            img = np.stack([128 + 100 * np.sin(6 * x + 3 * t), 128 + 100 * np.cos(5 * y - 2 * t),
                            128 + 100 * np.sin(4 * (x + y) + 5 * t)], -1).astype(np.uint8)
            for p in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)


def source_frames(path, size=None):
    """Every frame of ``path`` as RGB, shrunk to ``size`` = (width, height) by swscale (area)."""
    with av.open(str(path)) as c:
        frames = list(c.decode(video=0))
    if size is not None:
        frames = [f.reformat(width=size[0], height=size[1], format="yuv420p",
                             interpolation="AREA") for f in frames]
    return np.stack([f.to_ndarray(format="rgb24") for f in frames])


def psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 10 * np.log10(255.0 ** 2 / max(mse, 1e-12))


def expected_size(width, height, max_side):
    """(width, height) the options ask for, computed here independently: scale = max_side over
    the longer side (never above 1), each side rounded, then made even downwards."""
    s = 1.0 if max_side is None else min(1.0, max_side / max(width, height))
    return tuple(max(2, int(round(v * s)) // 2 * 2) for v in (width, height))


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("long_gop")
    for cls, name, *spec in VIDEOS:
        (root / cls).mkdir(exist_ok=True)
        write_video(root / cls / name, *spec)
    return root


@pytest.fixture(scope="module")
def packed(tree, tmp_path_factory):
    out = tmp_path_factory.mktemp("re") / "set.nc"
    return nc.pack_videos(tree, out, threads=2, reencode=True, gop=GOP), out


@pytest.fixture(scope="module")
def packed_small(tree, tmp_path_factory):
    out = tmp_path_factory.mktemp("re_small") / "set.nc"
    return nc.pack_videos(tree, out, threads=2, reencode=True, gop=5, max_side=MAX_SIDE,
                          crf=23), out


def test_sources_have_long_gops(tree):
    for cls, name, *_ in VIDEOS:
        with av.open(str(tree / cls / name)) as c:
            keys = [p.is_keyframe for p in c.demux(video=0) if p.size]
        assert sum(keys) == 1


@pytest.mark.parametrize("which, gop", [("packed", GOP), ("packed_small", 5)])
def test_index_keyframes_count_rate(tree, request, which, gop):
    summary, out = request.getfixturevalue(which)
    vs = nc.VideoSet.open(out)
    assert len(vs) == len(VIDEOS) and vs.classes == ["cats", "dogs"] and not summary.skipped
    assert vs.codecs == ["h264"] * len(VIDEOS)
    for i, (cls, name, _, frames, *_rest, fps) in enumerate(VIDEOS):
        assert vs.num_frames[i] == frames == len(source_frames(tree / cls / name))
        assert Fraction(*vs.fps_fractions[i]) == fps
        np.testing.assert_array_equal(np.flatnonzero(vs.keyframes(i)),
                                      np.arange(0, frames, gop))
        ts = vs.timestamps(i)
        step = Fraction(*vs.time_base(i)) * int(ts[1] - ts[0])
        assert step == 1 / fps and np.all(np.diff(ts) == ts[1] - ts[0])  # one frame per period


@pytest.mark.parametrize("which, max_side", [("packed", None), ("packed_small", MAX_SIDE)])
def test_frame_size_even_aspect_kept_never_enlarged(request, which, max_side):
    vs = nc.VideoSet.open(request.getfixturevalue(which)[1])
    for i, (*_, w, h, _fps) in enumerate(VIDEOS):
        oh, ow, c = vs.shapes[i].tolist()
        assert c == 3 and ow % 2 == 0 and oh % 2 == 0
        assert (ow, oh) == expected_size(w, h, max_side)
        assert ow <= w and oh <= h
        if max_side is not None:
            assert max(ow, oh) <= max_side
        s = max(ow, oh) / max(w, h)
        assert abs(ow - w * s) <= 2 and abs(oh - h * s) <= 2  # aspect within even rounding


def test_manifest_and_summary(tree, packed, packed_small):
    for (summary, out), gop, max_side, crf in [(packed, GOP, None, 18),
                                               (packed_small, 5, MAX_SIDE, 23)]:
        manifest = json.loads((out / "manifest.json").read_text())
        assert manifest["reencode"] == {"codec": "h264", "gop": gop, "max_side": max_side,
                                        "crf": crf, "preset": "fast"}
        vs = nc.VideoSet.open(out)
        assert summary.reencoded == len(VIDEOS)
        assert summary.bytes_before == sum((tree / c / n).stat().st_size for c, n, *_ in VIDEOS)
        assert summary.bytes_after == sum(np.asarray(vs.encoded(i)).size for i in range(len(vs)))
        assert f"re-encoded {len(VIDEOS)} videos" in str(summary)
        assert not [p for p in os.listdir(out.parent) if p.startswith(".")]  # staging removed
    assert packed_small[0].bytes_after < packed[0].bytes_after
    stored = io.BytesIO(bytes(np.asarray(nc.VideoSet.open(packed[1]).encoded(0))))
    with av.open(stored) as c:  # the stored bytes are an MP4 file that PyAV reads as it is
        assert c.format.name.startswith("mov,mp4")
        assert c.streams.video[0].codec_context.name == "h264"


@needs_decoder
@pytest.mark.parametrize("i", range(len(VIDEOS)))
def test_frames_close_to_the_source(tree, packed, i):
    vs = nc.VideoSet.open(packed[1])
    cls, name, _, frames, w, h, _fps = VIDEOS[i]
    oh, ow, _ = vs.shapes[i].tolist()
    ref = source_frames(tree / cls / name, None if (ow, oh) == (w, h) else (ow, oh))
    want = [frames - 1, 0, GOP - 1, GOP, frames // 2, 3]
    got = vs.frames(i, want)
    assert got.shape == (len(want), oh, ow, 3)
    assert psnr(got, ref[want]) > 35   # crf 18
    assert np.abs(got.astype(int) - ref[want]).mean() < 2.5


@needs_decoder
@pytest.mark.parametrize("i", range(len(VIDEOS)))
def test_shrunk_frames_close_to_the_shrunk_source(tree, packed_small, i):
    vs = nc.VideoSet.open(packed_small[1])
    cls, name, _, frames, *_ = VIDEOS[i]
    oh, ow, _ = vs.shapes[i].tolist()
    ref = source_frames(tree / cls / name, (ow, oh))
    got = vs.frames(i, list(range(frames)))
    assert psnr(got, ref) > 30         # crf 23 on frames of 40 pixels
    # Independently of swscale: the source shrunk by torchvision (antialiased bilinear).
    torch = pytest.importorskip("torch")
    from torchvision.transforms.v2 import functional as F
    src = torch.from_numpy(source_frames(tree / cls / name)).permute(0, 3, 1, 2)
    tv = F.resize(src, [oh, ow], antialias=True).permute(0, 2, 3, 1).numpy()
    assert psnr(got, tv) > 28


@pytest.mark.parametrize("gop", [1, 3, 50])
def test_gop_edges_and_source_keyframes_not_kept(tmp_path, gop):
    (tmp_path / "src" / "a").mkdir(parents=True)  # the source's own keyframes: 0, 5, 10
    write_video(tmp_path / "src" / "a" / "v.mkv", "libx264", 12, 32, 24, Fraction(10), gop=5)
    nc.pack_videos(tmp_path / "src", tmp_path / "out.nc", reencode=True, gop=gop, threads=1)
    vs = nc.VideoSet.open(tmp_path / "out.nc")
    np.testing.assert_array_equal(np.flatnonzero(vs.keyframes(0)), np.arange(0, 12, gop))


@pytest.mark.parametrize("kwargs, error, match", [
    ({"reencode": True, "gop": 0}, ValueError, "gop 0 must be >= 1"),
    ({"reencode": True, "gop": -3}, ValueError, "gop"),
    ({"reencode": True, "gop": 2.5}, TypeError, "gop"),
    ({"reencode": True, "max_side": 1}, ValueError, "max_side 1 must be >= 2"),
    ({"reencode": True, "max_side": True}, TypeError, "max_side"),
    ({"reencode": True, "crf": 52}, ValueError, "crf 52 must be in 0..51"),
    ({"reencode": True, "crf": -1}, ValueError, "crf"),
    ({"reencode": "yes"}, TypeError, "reencode"),
    ({"gop": 8}, ValueError, "gop only apply when re-encoding"),
    ({"max_side": 64}, ValueError, "max_side only apply when re-encoding"),
    ({"gop": 8, "crf": 20}, ValueError, "gop, crf only apply"),
])
def test_bad_options(tree, tmp_path, kwargs, error, match):
    with pytest.raises(error, match=match):
        nc.pack_videos(tree, tmp_path / "o.nc", **kwargs)
    assert not os.listdir(tmp_path)  # checked before anything is written


def test_broken_input_skip_and_fail(tmp_path):
    src = tmp_path / "src"
    (src / "x").mkdir(parents=True)
    write_video(src / "x" / "ok.webm", "libvpx-vp9", 6, 33, 17, Fraction(12))
    (src / "x" / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(300))
    (src / "x" / "empty.mkv").write_bytes(b"")
    with pytest.raises(ValueError, match="cannot read video"):
        nc.pack_videos(src, tmp_path / "fail.nc", reencode=True)
    assert not (tmp_path / "fail.nc").exists()
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".")]
    summary = nc.pack_videos(src, tmp_path / "skip.nc", reencode=True, on_error="skip",
                             progress=True)
    assert summary.videos == 1 and summary.reencoded == 1
    assert sorted(os.path.basename(s["path"]) for s in summary.skipped) == [
        "broken.mp4", "empty.mkv"]
    assert all(s["error"] for s in summary.skipped)
    vs = nc.VideoSet.open(tmp_path / "skip.nc")
    assert len(vs) == 1 and vs.shapes[0].tolist() == [16, 32, 3] and len(vs.skipped) == 2
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".")]


def test_cli(tree, tmp_path):
    run = lambda *args: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "nocopy", "pack", *map(str, args)], capture_output=True,
        text=True, timeout=120)
    r = run("--kind", "video", "--reencode", "--gop", 8, "--threads", 2, tree, tmp_path / "a")
    assert r.returncode == 0, r.stderr
    assert "packed 3 videos" in r.stdout and "re-encoded 3 videos" in r.stdout
    vs = nc.VideoSet.open(tmp_path / "a")
    for i, (*_, frames, _w, _h, _fps) in enumerate(VIDEOS):
        np.testing.assert_array_equal(np.flatnonzero(vs.keyframes(i)), np.arange(0, frames, 8))
    r = run("--kind", "video", "--reencode", "--max-side", 20, "--crf", 30, tree, tmp_path / "b")
    assert r.returncode == 0, r.stderr
    assert nc.VideoSet.open(tmp_path / "b").shapes.max(axis=0)[:2].max() <= 20
    r = run("--kind", "video", "--gop", 8, tree, tmp_path / "c")
    assert r.returncode == 1 and "gop only apply when re-encoding" in r.stderr
    r = run("--kind", "video", "--reencode", "--gop", 0, tree, tmp_path / "c")
    assert r.returncode == 1 and "gop 0 must be >= 1" in r.stderr
    r = run("--reencode", tree, tmp_path / "c")
    assert r.returncode == 2 and "videos only" in r.stderr
    assert not (tmp_path / "c").exists()


def test_without_pyav(tree, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "av", None)  # `import av` raises ImportError
    with pytest.raises(ImportError, match="pip install av"):
        nc.pack_videos(tree, tmp_path / "o.nc", reencode=True)
    if getattr(nc._nocopy, "_video_available", lambda: False)():
        assert nc.pack_videos(tree, tmp_path / "plain.nc").videos == len(VIDEOS)
