"""nc.pack_videos and nc.VideoSet: videos generated here with PyAV (H.264 with short and long
GOPs, VP9, MPEG-4 in AVI; several sizes and frame rates) are packed, and the set's metadata and
per-frame index are checked against what PyAV decodes from the same files; broken inputs, CSV
sources, overwrite, the command line and hostile folders."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from fractions import Fraction

import numpy as np
import pytest

import nocopy as nc

av = pytest.importorskip("av")

# (class, name, codec, frames, width, height, fps, gop)
VIDEOS = [
    ("cats", "a.mp4", "libx264", 30, 64, 48, Fraction(25), 12),
    ("cats", "b.mkv", "libx264", 20, 96, 32, Fraction(30000, 1001), 250),
    ("dogs", "c.webm", "libvpx-vp9", 16, 48, 64, Fraction(24), 8),
    ("dogs", "d.mov", "libx264", 14, 34, 26, Fraction(15), 5),
    ("dogs", "e.avi", "mpeg4", 12, 40, 30, Fraction(10), 6),
]


def write_video(path, codec, frames, width, height, fps, gop):
    """A small video of moving gradients, encoded by PyAV."""
    with av.open(str(path), "w") as c:
        s = c.add_stream(codec, rate=fps)
        s.width, s.height, s.pix_fmt = width, height, "yuv420p"
        s.codec_context.gop_size = gop
        if codec == "libx264":
            s.options = {"preset": "ultrafast", "keyint_min": str(gop), "sc_threshold": "0"}
        y, x = np.mgrid[0:height, 0:width]
        for k in range(frames):
            img = np.stack([(x * 4 + k * 8) % 256, (y * 4 + k * 3) % 256,
                            np.full_like(x, (k * 17) % 256)], -1).astype(np.uint8)
            for p in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)


def decoded_index(path):
    """(pts in display order, keyframe flags, frame count, codec) from decoding every frame."""
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        frames = [(f.pts, bool(f.key_frame)) for f in c.decode(s)]
        codec = s.codec_context.name
    frames.sort()
    return np.array([p for p, _ in frames]), np.array([k for _, k in frames]), codec


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("videos")
    for cls, name, *spec in VIDEOS:
        (root / cls).mkdir(exist_ok=True)
        write_video(root / cls / name, *spec)
    (root / "cats" / "notes.txt").write_text("not a video")
    return root


@pytest.fixture(scope="module")
def packed(tree, tmp_path_factory):
    out = tmp_path_factory.mktemp("packed") / "set.nc"
    summary = nc.pack_videos(tree, out, threads=2)
    return summary, out


def test_pack_summary_and_manifest(packed):
    summary, out = packed
    assert summary.videos == len(VIDEOS) and summary.classes == 2 and not summary.skipped
    assert summary.frames == sum(v[3] for v in VIDEOS)
    assert f"packed {len(VIDEOS)} videos" in str(summary)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == "video" and manifest["num_videos"] == len(VIDEOS)


def test_metadata_matches_what_pyav_decodes(tree, packed):
    vs = nc.VideoSet.open(packed[1])
    assert len(vs) == len(VIDEOS)
    assert vs.classes == ["cats", "dogs"]
    assert vs.labels.tolist() == [0, 0, 1, 1, 1]
    for i, (cls, name, codec, frames, w, h, fps, _) in enumerate(VIDEOS):
        path = tree / cls / name
        pts, keys, codec_name = decoded_index(path)
        assert vs.num_frames[i] == frames == len(pts)
        assert vs.shapes[i].tolist() == [h, w, 3]
        assert vs.fps[i] == pytest.approx(float(fps))
        assert Fraction(*vs.fps_fractions[i]) == fps
        assert vs.codecs[i] == codec_name
        np.testing.assert_array_equal(vs.timestamps(i), pts)
        np.testing.assert_array_equal(vs.keyframes(i), keys)
        assert bytes(np.asarray(vs.encoded(i))) == path.read_bytes()
        with av.open(str(path)) as c:
            assert Fraction(*vs.time_base(i)) == c.streams.video[0].time_base


@pytest.mark.parametrize("i, gop", [(0, 12), (1, 250), (2, 8)])
def test_keyframes_follow_the_gop(packed, i, gop):
    vs = nc.VideoSet.open(packed[1])
    keys = np.flatnonzero(vs.keyframes(i))
    assert keys[0] == 0
    if gop >= vs.num_frames[i]:
        assert keys.tolist() == [0]
    else:
        assert len(keys) > 1 and np.all(np.diff(keys) <= gop)


def test_data_is_aligned_and_repr(packed):
    vs = nc.VideoSet.open(packed[1])
    h = vs._handle
    assert np.all(np.asarray(h.offsets) % 64 == 0)
    r = repr(vs)
    assert r.startswith("nocopy.VideoSet(5 videos") and "h264" in r and "vp9" in r
    with pytest.raises(IndexError):
        vs.encoded(5)
    with pytest.raises(TypeError):
        vs.timestamps(1.5)


def test_frames_without_a_decoder_or_through_it(packed, tree):
    vs = nc.VideoSet.open(packed[1])
    want = [0, 3, 13, -1]
    if not hasattr(nc._nocopy, "_video_decode"):
        with pytest.raises(NotImplementedError):
            vs.frames(0, want)
        return
    got = vs.frames(0, want)
    with av.open(str(tree / "cats" / "a.mp4")) as c:
        ref = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    ref = np.stack([ref[k] for k in [0, 3, 13, len(ref) - 1]])
    assert got.shape == ref.shape and got.dtype == np.uint8
    assert np.abs(got.astype(int) - ref).max() <= 2


needs_decoder = pytest.mark.skipif(not getattr(nc._nocopy, "_video_available", lambda: False)(),
                                   reason="built without the video decoder")


@needs_decoder
@pytest.mark.parametrize("i", range(len(VIDEOS)))
def test_frames_in_any_order_match_pyav(packed, tree, i):
    vs = nc.VideoSet.open(packed[1])
    cls, name, *_ = VIDEOS[i]
    with av.open(str(tree / cls / name)) as c:
        ref = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    n = len(ref)
    want = [n - 1, 0, n // 2, n // 2, 1]
    got = vs.frames(i, want)
    assert got.shape == (5, *vs.shapes[i]) and got.dtype == np.uint8
    assert np.abs(got.astype(int) - np.stack([ref[k] for k in want])).max() <= 2


@pytest.mark.parametrize("i", range(len(VIDEOS)))
def test_pyav_and_nocopy_probes_agree(tree, i):
    from nocopy import _pack_video
    if not getattr(nc._nocopy, "_video_available", lambda: False)():
        pytest.skip("built without the video decoder")
    cls, name, *_ = VIDEOS[i]
    a = _pack_video._probe_with_pyav(str(tree / cls / name))
    b = _pack_video._probe_with_nocopy(str(tree / cls / name))
    assert (a.size, a.height, a.width, a.fps, a.time_base, a.codec) == (
        b.size, b.height, b.width, b.fps, b.time_base, b.codec)
    np.testing.assert_array_equal(a.pts, b.pts)
    np.testing.assert_array_equal(a.keyframes, b.keyframes)


def test_frames_checks_indices(packed):
    vs = nc.VideoSet.open(packed[1])
    with pytest.raises(IndexError):
        vs.frames(0, [30])
    with pytest.raises(TypeError):
        vs.frames(0, [0.5])


def test_broken_file_fail_and_skip(tree, tmp_path):
    src = tmp_path / "src"
    (src / "x").mkdir(parents=True)
    write_video(src / "x" / "ok.mp4", "libx264", 6, 32, 32, Fraction(25), 12)
    (src / "x" / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(200))
    with pytest.raises(ValueError, match="broken.mp4: cannot read video"):
        nc.pack_videos(src, tmp_path / "fail.nc")
    assert not (tmp_path / "fail.nc").exists()
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".")]
    summary = nc.pack_videos(src, tmp_path / "skip.nc", on_error="skip")
    assert summary.videos == 1 and len(summary.skipped) == 1
    vs = nc.VideoSet.open(tmp_path / "skip.nc")
    assert len(vs) == 1 and vs.skipped[0]["path"].endswith("broken.mp4")


def test_csv_source_and_overwrite(tree, tmp_path):
    csv = tree / "list.csv"
    csv.write_text("path,label\ndogs/c.webm,7\ncats/a.mp4,2\n")
    out = tmp_path / "csv.nc"
    nc.pack_videos(csv, out)
    vs = nc.VideoSet.open(out)
    assert vs.labels.tolist() == [7, 2] and vs.classes is None
    assert vs.num_frames.tolist() == [16, 30]
    with pytest.raises(FileExistsError):
        nc.pack_videos(csv, out)
    csv.write_text("cats/b.mkv,1\n")
    nc.pack_videos(csv, out, overwrite=True)
    assert nc.VideoSet.open(out).num_frames.tolist() == [20]


def test_bad_arguments(tree, tmp_path):
    with pytest.raises(ValueError, match="on_error"):
        nc.pack_videos(tree, tmp_path / "o", on_error="ignore")
    with pytest.raises(TypeError):
        nc.pack_videos(tree, tmp_path / "o", threads=1.5)
    with pytest.raises(FileNotFoundError):
        nc.pack_videos(tmp_path / "missing", tmp_path / "o")


def test_cli_with_progress(tree, tmp_path):
    out = tmp_path / "cli.nc"
    r = subprocess.run([sys.executable, "-m", "nocopy", "pack", "--kind", "video", "--threads",
                        "2", str(tree), str(out)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "packed 5 videos" in r.stdout
    assert len(nc.VideoSet.open(out)) == 5
    # The progress bar itself, as a terminal would get it.
    summary = nc.pack_videos(tree, tmp_path / "bar.nc", progress=True)
    assert summary.videos == 5
    r = subprocess.run([sys.executable, "-m", "nocopy", "pack", "--kind", "video", "--max-side",
                        "8", str(tree), str(tmp_path / "x")], capture_output=True, text=True)
    assert r.returncode == 1 and "only apply when re-encoding" in r.stderr


def test_image_and_video_openers_refuse_each_other(packed, tmp_path):
    with pytest.raises(ValueError, match="not an ImageSet"):
        nc.ImageSet.open(packed[1])
    img = tmp_path / "img.nc"
    nc.ImageSet.from_arrays([np.zeros((4, 4, 3), np.uint8)])  # the in-memory set needs no folder
    src = tmp_path / "imgs" / "a"
    src.mkdir(parents=True)
    from PIL import Image
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(src / "x.png")
    nc.pack_images(tmp_path / "imgs", img)
    with pytest.raises(ValueError, match="not a VideoSet"):
        nc.VideoSet.open(img)


def _copy_set(packed, tmp_path):
    import shutil
    dst = tmp_path / "copy.nc"
    shutil.copytree(packed[1], dst)
    return dst


@pytest.mark.parametrize("name, array", [
    ("offsets.npy", np.zeros((5, 2), np.int64)),
    ("shapes.npy", np.zeros((5, 2), np.int64)),
    ("fps.npy", np.zeros((5, 2), np.float64)),
    ("pts.npy", np.zeros(3, np.int64)),
    ("keyframes.npy", np.zeros(92, np.int64)),
    ("frame_starts.npy", np.zeros(5, np.int64)),
])
def test_hostile_shapes(packed, tmp_path, name, array):
    dst = _copy_set(packed, tmp_path)
    np.save(dst / name, array)
    with pytest.raises(ValueError, match=name):
        nc.VideoSet.open(dst)


@pytest.mark.parametrize("name, edit, message", [
    ("offsets.npy", lambda a: a + [0, 0, 0, 0, 1 << 40], "offset"),
    ("lengths.npy", lambda a: a + [0, 0, 0, 0, 1 << 40], "bytes at offset"),
    ("offsets.npy", lambda a: a[[0, 2, 1, 3, 4]], "offset"),
    ("fps.npy", lambda a: a * 0, "frame rate"),
    ("codecs.npy", lambda a: a + 9, "codec"),
    ("shapes.npy", lambda a: a * [1, 1, 0], "shape"),
    ("pts.npy", lambda a: a[::-1], "timestamp"),
    ("keyframes.npy", lambda a: a + 2, "flag"),
    ("labels.npy", lambda a: a + 5, "label"),
])
def test_hostile_values(packed, tmp_path, name, edit, message):
    dst = _copy_set(packed, tmp_path)
    np.save(dst / name, edit(np.load(dst / name)))
    with pytest.raises(ValueError, match=message):
        nc.VideoSet.open(dst)


def test_hostile_manifest(packed, tmp_path):
    dst = _copy_set(packed, tmp_path)
    manifest = json.loads((dst / "manifest.json").read_text())
    (dst / "manifest.json").write_text(json.dumps({**manifest, "num_frames": 3}))
    with pytest.raises(ValueError, match="num_frames"):
        nc.VideoSet.open(dst)
    (dst / "manifest.json").write_text(json.dumps({**manifest, "num_videos": 4}))
    with pytest.raises(ValueError, match="num_videos is 4"):
        nc.VideoSet.open(dst)
    os.unlink(dst / "manifest.json")
    os.mkfifo(dst / "manifest.json")
    with pytest.raises((ValueError, OSError), match="FIFO"):
        nc.VideoSet.open(dst)
    with pytest.raises(OSError):
        nc.VideoSet.open(tmp_path / "nowhere")


@needs_decoder
def test_frames_use_the_stored_index_and_never_probe(packed, monkeypatch):
    vs = nc.VideoSet.open(packed[1])
    before = vs.frames(0, [0, 5, 13])

    def refuse(*args):
        raise AssertionError("frames() probed the video")

    monkeypatch.setattr(nc._nocopy, "_video_probe", refuse)
    monkeypatch.setattr(nc._nocopy, "_video_decode", refuse)
    np.testing.assert_array_equal(vs.frames(0, [0, 5, 13]), before)
