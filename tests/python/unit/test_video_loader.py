"""nc.VideoLoader (nc.Loader over a VideoSet) against references built from ``plan(i)``: every
clip equals PyAV's decode of the planned frames of the planned video, passed through
torchvision's functional ops with the planned parameters (the same for every frame of a clip).
Clip sampling (random / uniform / center, frame_step, short videos), layouts, determinism across
thread counts, resume, sharding, corrupt videos (raise and skip) and bad options."""

from __future__ import annotations

import io
import os
import shutil
from fractions import Fraction

import numpy as np
import pytest

import nocopy as nc
from nocopy import _nocopy
from nocopy import transforms as T

av = pytest.importorskip("av")
torch = pytest.importorskip("torch")

pytestmark = pytest.mark.skipif(not _nocopy._video_available(),
                                reason="nocopy built without FFmpeg")

X264 = {"preset": "veryfast", "sc_threshold": "0"}
VP9 = {"deadline": "realtime", "cpu-used": "8"}

# (class, name, codec, container, frames, gop, b-frames): even sizes (their RGB is bit-exact
# against PyAV's), several codecs and GOPs, and one video shorter than a clip.
SAME_SIZE = [
    ("a", "h264_gop12.mp4", "libx264", "mp4", 60, 12, 2, X264),
    ("a", "h264_gop250.mkv", "libx264", "matroska", 50, 250, 3, X264),
    ("b", "vp9.webm", "libvpx-vp9", "webm", 45, 10, 0, VP9),
    ("b", "mpeg4.avi", "mpeg4", "avi", 40, 12, 0, {}),
    ("b", "short.mp4", "libx264", "mp4", 7, 12, 0, X264),
]
H, W = 48, 64


def picture(i, h, w, seed):
    y, x = np.mgrid[0:h, 0:w]
    rgb = np.stack([(x * 3 + i * 5 + seed * 40) % 256, (y * 4 + i * 3) % 256,
                    ((x + y) * 2 + i * 7 + seed) % 256], axis=-1).astype(np.uint8)
    mask = (y // 4 + x // 4 + i) % 7 == 0
    rgb[mask] = 255 - rgb[mask]
    return rgb


def encode(path, codec, container, n, gop, bframes, options, h=H, w=W, seed=0):
    buf = io.BytesIO()
    with av.open(buf, "w", format=container) as out:
        stream = out.add_stream(codec, rate=25, options=options)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.codec_context.gop_size = gop
        stream.codec_context.max_b_frames = bframes
        for i in range(n):
            frame = av.VideoFrame.from_ndarray(picture(i, h, w, seed), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    path.write_bytes(buf.getvalue())


def pyav_frames(path):
    with av.open(str(path)) as c:
        frames = sorted(c.decode(video=0), key=lambda f: f.pts)
        return np.stack([f.to_ndarray(format="rgb24") for f in frames])


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    """(VideoSet of SAME_SIZE, {video index: PyAV frames}, source folder)."""
    root = tmp_path_factory.mktemp("videos")
    for seed, (cls, name, codec, container, n, gop, bframes, options) in enumerate(SAME_SIZE):
        (root / "src" / cls).mkdir(parents=True, exist_ok=True)
        encode(root / "src" / cls / name, codec, container, n, gop, bframes, options, seed=seed)
    nc.pack_videos(root / "src", root / "set")
    vs = nc.VideoSet.open(root / "set")
    order = sorted((cls, name) for cls, name, *_ in SAME_SIZE)  # the pack's order
    ref = {i: pyav_frames(root / "src" / cls / name) for i, (cls, name) in enumerate(order)}
    return vs, ref, root


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    """A VideoSet of different sizes (for transforms that end in one size) and PyAV frames."""
    root = tmp_path_factory.mktemp("mixed")
    sizes = [(48, 64), (40, 70), (72, 54), (50, 50)]
    (root / "src" / "x").mkdir(parents=True)
    for k, (h, w) in enumerate(sizes):
        encode(root / "src" / "x" / f"v{k}.mp4", "libx264", "mp4", 30, 8, 2, X264, h=h, w=w,
               seed=k)
    nc.pack_videos(root / "src", root / "set")
    vs = nc.VideoSet.open(root / "set")
    return vs, {k: pyav_frames(root / "src" / "x" / f"v{k}.mp4") for k in range(len(sizes))}


def assert_frames(got, want, codec):
    """H.264 and VP9 decode bit-exactly across FFmpeg versions (PyAV bundles a newer one):
    equal. MPEG-4 part 2 leaves the IDCT's rounding to the decoder: within 2 levels (measured:
    1, on one frame in 40)."""
    diff = np.abs(got.astype(np.int16) - want.astype(np.int16))
    assert diff.max() <= (2 if codec == "mpeg4" else 0), (codec, int(diff.max()))


def to_thwc(clip, layout):
    return {"TCHW": lambda c: c.transpose(0, 2, 3, 1), "CTHW": lambda c: c.transpose(1, 2, 3, 0),
            "THWC": lambda c: c}[layout](clip)


@pytest.mark.parametrize("layout", ["TCHW", "CTHW", "THWC"])
@pytest.mark.parametrize("sampling, per_video", [("random", 1), ("uniform", 3), ("center", 1)])
def test_clips_equal_pyav_frames_of_the_plan(videos, layout, sampling, per_video):
    vs, ref, _ = videos
    loader = nc.VideoLoader(vs, batch_size=4, clip_len=5, frame_step=3, clips_per_video=per_video,
                            clip_sampling=sampling, layout=layout, output="numpy", seed=2)
    assert loader.clips_per_epoch == len(vs) * per_video
    assert len(loader) == -(-len(vs) * per_video // 4)
    seen = 0
    for i, (clips, labels) in enumerate(loader):
        plan = loader.plan(i)
        assert clips.shape == (len(plan.indices),) + loader.clip_shape
        assert clips.dtype == np.uint8
        assert np.array_equal(labels, vs.labels[plan.indices])
        for k, v in enumerate(plan.indices):
            frames = plan.frames[k]
            n = len(ref[v])
            # The clip: clip_len frames frame_step apart, the last frame held past the end.
            start = frames[0]
            assert np.array_equal(frames, np.minimum(start + 3 * np.arange(5), n - 1))
            room = max(n - 13, 0)
            if sampling == "center":
                assert start == room // 2
            elif sampling == "uniform":
                assert start == round(plan.clips[k] * room / 2 + 1e-9)
            else:
                assert 0 <= start <= room
            assert_frames(to_thwc(clips[k], layout), ref[v][frames], vs.codecs[v])
            seen += 1
    assert seen == len(vs) * per_video


def test_uniform_clips_cover_every_video_once_per_clip(videos):
    vs, _, _ = videos
    loader = nc.VideoLoader(vs, batch_size=3, clip_len=2, clips_per_video=4,
                            clip_sampling="uniform", output="numpy", shuffle=True, seed=9)
    pairs = []
    for i, _batch in enumerate(loader):
        p = loader.plan(i)
        pairs += list(zip(p.indices.tolist(), p.clips.tolist()))
    assert sorted(pairs) == [(v, c) for v in range(len(vs)) for c in range(4)]


RECIPES = [
    [T.RandomResizedCrop(32), T.RandomHorizontalFlip()],
    [T.RandomResizedCrop((24, 40), scale=(0.3, 1.0)), T.RandomHorizontalFlip(),
     T.ToDtype(torch.float32, scale=True), T.Normalize([0.485, 0.456, 0.406],
                                                       [0.229, 0.224, 0.225])],
    [T.Resize(40), T.CenterCrop(36), T.RandomHorizontalFlip()],
    [T.CenterCrop(36), T.ColorJitter(0.4, 0.4, 0.4, 0.1), T.RandomGrayscale(0.5)],
    [T.RandomCrop(40, padding=3), T.RandomVerticalFlip(), T.RandomErasing(0.8, value=0)],
]


@pytest.mark.parametrize("recipe", RECIPES,
                         ids=lambda ts: "+".join(type(t).__name__ for t in ts))
@pytest.mark.parametrize("layout", ["TCHW", "CTHW"])
def test_transforms_are_drawn_once_per_clip_and_equal_torchvision(mixed, recipe, layout):
    from test_transforms import _reference

    vs, ref = mixed
    loader = nc.VideoLoader(vs, batch_size=3, clip_len=4, frame_step=2, transforms=recipe,
                            layout=layout, output="numpy", seed=5, num_threads=2)
    resampled = any(isinstance(t, (T.RandomResizedCrop, T.Resize)) for t in recipe)
    normalized = any(isinstance(t, T.Normalize) for t in recipe)
    # torchvision's per-image op on each frame with the clip's parameters: exact without a
    # resample; the resample is within one uint8 level (as for images), which Normalize scales
    # by 1 / (255 std).
    atol = 0.0 if not resampled else 1.0
    if normalized:
        atol = atol / 255 / 0.224 + 1e-5
    worst = 0.0
    for i, (clips, _labels) in enumerate(loader):
        plan = loader.plan(i)
        for k, v in enumerate(plan.indices):
            clip = clips[k] if layout == "TCHW" else clips[k].transpose(1, 0, 2, 3)
            for t, f in enumerate(plan.frames[k]):
                want = _reference(ref[v][f], recipe, plan.params, k)
                assert clip[t].shape == want.shape
                worst = max(worst, float(np.abs(clip[t].astype(np.float64) - want).max()))
    assert worst <= atol, worst


def test_same_bytes_whatever_the_threads_and_different_epochs(mixed):
    vs, _ = mixed
    recipe = [T.RandomResizedCrop(24), T.RandomHorizontalFlip(), T.ToDtype(torch.float32, scale=True)]

    def epoch(threads, e):
        loader = nc.VideoLoader(vs, batch_size=2, clip_len=3, transforms=recipe, seed=11,
                                num_threads=threads, output="numpy")
        loader.set_epoch(e)
        return [c.copy() for c, _ in loader]

    one, two = epoch(1, 0), epoch(2, 0)
    assert all(np.array_equal(a, b) for a, b in zip(one, two))
    assert not all(np.array_equal(a, b) for a, b in zip(one, epoch(2, 1)))


def test_resume_and_shards(videos):
    vs, _, _ = videos
    kw = dict(batch_size=2, clip_len=3, clips_per_video=2, output="numpy", seed=4)
    loader = nc.VideoLoader(vs, **kw)
    it = iter(loader)
    next(it)
    state = loader.state_dict()
    rest = [c.copy() for c, _ in it]
    resumed = nc.VideoLoader(vs, **kw)
    resumed.load_state_dict(state)
    again = [c.copy() for c, _ in resumed]
    assert len(rest) == len(again) and all(np.array_equal(a, b) for a, b in zip(rest, again))
    # Two ranks: equal batch counts, every (video, clip) of the epoch on one of them.
    pairs = []
    for rank in range(2):
        r = nc.VideoLoader(vs, rank=rank, world_size=2, drop_last=True,
                           **dict(kw, batch_size=5))
        for i in range(len(r)):
            p = r.plan(i)
            pairs += list(zip(p.indices.tolist(), p.clips.tolist()))
    assert len(pairs) == len(set(pairs)) == 10


def test_kept_batches_are_zero_copy_and_never_overwritten(videos):
    vs, _, _ = videos
    loader = nc.VideoLoader(vs, batch_size=2, clip_len=3, output="torch", prefetch=1)
    kept = [(c, c.clone()) for c, _ in loader]
    for c, copy in kept:
        assert torch.equal(c, copy)
    assert len({c.data_ptr() for c, _ in kept}) == len(kept)


def corrupt_copy(root, tmp_path, video):
    """A copy of the packed set with the middle of `video`'s container overwritten."""
    dst = tmp_path / "bad"
    shutil.copytree(root / "set", dst)
    offsets, lengths = np.load(dst / "offsets.npy"), np.load(dst / "lengths.npy")
    data = np.load(dst / "videos.npy", mmap_mode="r+")
    start = int(offsets[video]) + int(lengths[video]) // 8
    data[start:int(offsets[video]) + int(lengths[video])] = 0
    data.flush()
    del data
    return nc.VideoSet.open(dst)


def test_corrupt_video_raises_naming_it_or_is_skipped(videos, tmp_path):
    vs, _, root = videos
    bad = corrupt_copy(root, tmp_path, 1)
    loader = nc.VideoLoader(bad, batch_size=len(bad), clip_len=4, frame_step=4, shuffle=False,
                            clip_sampling="center", output="numpy")
    with pytest.raises(nc.LoaderError) as e:
        next(iter(loader))
    assert e.value.sample == 1
    skip = nc.VideoLoader(bad, batch_size=len(bad), clip_len=4, frame_step=4, shuffle=False,
                          clip_sampling="center", output="numpy", on_error="skip")
    clips, labels = next(iter(skip))
    assert skip.skipped_samples == [1] and skip.num_skipped == 1
    good = nc.VideoLoader(vs, batch_size=len(vs), clip_len=4, frame_step=4, shuffle=False,
                          clip_sampling="center", output="numpy")
    want, want_labels = next(iter(good))
    # The failed slot holds the next clip of the batch, its label with it.
    assert np.array_equal(clips[1], want[2]) and labels[1] == want_labels[2]
    assert np.array_equal(np.delete(clips, 1, 0), np.delete(want, 1, 0))


def test_an_index_of_another_video_is_a_loader_error_not_a_hang(videos, tmp_path):
    # The stored timestamps of video 0 shifted by half a frame: still a valid index, but no
    # decoded frame has those times.
    vs, _, root = videos
    dst = tmp_path / "shifted"
    shutil.copytree(root / "set", dst)
    starts, pts = np.load(dst / "frame_starts.npy"), np.load(dst / "pts.npy")
    step = int(pts[starts[0] + 1] - pts[starts[0]])
    assert step >= 2
    pts[starts[0]:starts[1]] += step // 2
    np.save(dst / "pts.npy", pts)
    bad = nc.VideoSet.open(dst)
    loader = nc.VideoLoader(bad, batch_size=1, clip_len=3, shuffle=False, output="numpy")
    with pytest.raises(nc.LoaderError, match="not decoded") as e:
        next(iter(loader))
    assert e.value.sample == 0


@pytest.mark.parametrize("kwargs, error", [
    (dict(clip_len=0), ValueError), (dict(frame_step=0), ValueError),
    (dict(clips_per_video=0), ValueError), (dict(clip_sampling="middle"), ValueError),
    (dict(layout="NCHW"), ValueError), (dict(clip_sampling="center", clips_per_video=2),
                                       ValueError),
    (dict(clip_len=2.5), TypeError), (dict(batch_size=0), ValueError),
    (dict(labels=np.arange(3)), ValueError),
    (dict(transforms=[T.RandomRotation(10)]), None),
])
def test_bad_options(videos, kwargs, error):
    vs, _, _ = videos
    kwargs = {"batch_size": 2, **kwargs}
    if error is None:  # accepted: a pixel step on every frame
        nc.VideoLoader(vs, **kwargs)
        return
    with pytest.raises(error):
        nc.VideoLoader(vs, **kwargs)


def test_sizes_must_agree(mixed):
    vs, _ = mixed
    with pytest.raises(ValueError, match="one frame size"):
        nc.VideoLoader(vs, batch_size=2)
    with pytest.raises(ValueError, match="one frame size"):
        nc.VideoLoader(vs, batch_size=2, transforms=[T.Resize(30)])
    with pytest.raises(TypeError):
        nc.VideoLoader(np.zeros((2, 4, 4, 3), np.uint8))


def test_avi_with_b_frames_is_refused_at_pack_and_reencoded(tmp_path):
    # AVI stores decode-order times only: with B-frames no frame can be found exactly.
    (tmp_path / "src" / "a").mkdir(parents=True)
    encode(tmp_path / "src" / "a" / "b.avi", "mpeg4", "avi", 30, 12, 2, {})
    with pytest.raises(ValueError, match="reencode=True"):
        nc.pack_videos(tmp_path / "src", tmp_path / "set")
    from nocopy import _pack_video  # the PyAV probe (builds without FFmpeg) refuses it too
    with pytest.raises(ValueError, match="reencode=True"):
        _pack_video._probe_with_pyav(str(tmp_path / "src" / "a" / "b.avi"))
    nc.pack_videos(tmp_path / "src", tmp_path / "set", reencode=True)
    vs = nc.VideoSet.open(tmp_path / "set")
    clips, _ = next(iter(nc.VideoLoader(vs, batch_size=1, clip_len=4, output="numpy")))
    assert clips.shape == (1, 4, 3, H, W)


def test_loader_of_a_video_set_is_a_video_loader(videos):
    vs, _, _ = videos
    loader = nc.Loader(vs, batch_size=2, clip_len=2, output="numpy")
    assert isinstance(loader, nc.VideoLoader)
    assert "VideoLoader" in repr(loader)
    assert loader.state_dict()["kind"] == "VideoLoader"


def test_a_mixture_of_video_sets_draws_clips_by_weight_and_plans_name_the_dataset(videos,
                                                                                  mixed):
    from torchvision.transforms.v2 import functional as TF

    vs_a, ref_a, _ = videos
    vs_b, ref_b = mixed
    codecs_a = [codec for _cls, _name, codec, *_ in sorted(SAME_SIZE)]  # the pack's order
    mix = nc.Mixture([vs_a, vs_b], weights=[1, 3], num_samples=8)
    assert mix.kind == "video" and mix.counts.tolist() == [2, 6]
    kw = dict(batch_size=4, clip_len=3, frame_step=2, clips_per_video=2, layout="THWC",
              output="numpy", seed=9, transforms=[T.CenterCrop(32)])
    loader = nc.Loader(mix, **kw)  # a video mixture makes the video loader
    assert isinstance(loader, nc.VideoLoader) and loader.clips_per_epoch == 16
    labels_a, labels_b = np.asarray(vs_a.labels), np.asarray(vs_b.labels)
    per_dataset = [0, 0]
    for e in range(2):
        loader.set_epoch(e)
        for i, (clips, labels) in enumerate(loader):
            p = loader.plan(i)
            for k in range(len(p.indices)):
                d, j = int(p.dataset[k]), int(p.indices[k])
                per_dataset[d] += 1
                frames = (ref_a if d == 0 else ref_b)[j][p.frames[k]]
                want = torch.from_numpy(frames).permute(0, 3, 1, 2)
                want = TF.center_crop(want, [32, 32]).permute(0, 2, 3, 1).numpy()
                assert_frames(clips[k], want, codecs_a[j] if d == 0 else "libx264")
                assert labels[k] == (labels_a if d == 0 else labels_b)[j]
    assert per_dataset == [2 * 2 * 2, 2 * 6 * 2]  # exact counts, every epoch

    # Resumed with other weights and the same epoch size: the position carries over.
    it = iter(loader)
    next(it)
    state = loader.state_dict()
    other = nc.Loader(nc.Mixture([vs_a, vs_b], weights=[1, 1], num_samples=8), **kw)
    other.load_state_dict(state)
    assert sum(1 for _ in other) == len(loader) - 1
    with pytest.raises(ValueError, match="clips_per_epoch"):
        nc.Loader(nc.Mixture([vs_a, vs_b], num_samples=9), **kw).load_state_dict(state)
    with pytest.raises(TypeError, match="one kind"):
        nc.Mixture([vs_a, np.zeros((4, 8, 8, 3), np.uint8)])
