"""nc.VideoLoader over a sharded video dataset served by real servers on loopback (nginx over
HTTP, moto's server standing in for S3), read shard by shard: the clips equal those of the same
dataset read locally, byte for byte (raw, and through transforms); each shard is downloaded once,
when a worker first decodes one of its videos, or ahead of need (fetch_ahead); max_open=1 still
gives the same clips; a server that goes away fails the batch with a LoaderError naming the
shard within the timeout, never a hang."""

from __future__ import annotations

import gc
import io
import json
import shutil
import weakref

import numpy as np
import pytest

import nocopy as nc
from nocopy import _nocopy
from nocopy import transforms as T
from remote_servers import (FaultProxy, MotoS3, every_shard_fetched, first_batch_error,
                            opened_then_gone, serving)

av = pytest.importorskip("av")
torch = pytest.importorskip("torch")

pytestmark = pytest.mark.skipif(not _nocopy._video_available(),
                                reason="nocopy built without FFmpeg")


def encode(path, n, gop, h, w, seed):
    """An H.264 MP4 of n frames of a moving pattern."""
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=25, options={"preset": "veryfast"})
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.codec_context.gop_size = gop
        stream.codec_context.max_b_frames = 2
        y, x = np.mgrid[0:h, 0:w]
        for i in range(n):
            rgb = np.stack([(x * 3 + i * 5 + seed * 40) % 256, (y * 4 + i * 3) % 256,
                            ((x + y) * 2 + i * 7 + seed) % 256], axis=-1).astype(np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    path.write_bytes(buf.getvalue())


@pytest.fixture(scope="module")
def packed(tmp_path_factory):
    """served/v: 9 videos of three classes (one of another size) packed as a sharded set of
    about two videos a shard."""
    root = tmp_path_factory.mktemp("remote_video")
    rng = np.random.default_rng(5)
    for k in range(9):
        cls = ("run", "jump", "swim")[k % 3]
        (root / "src" / cls).mkdir(parents=True, exist_ok=True)
        h, w = (40, 56) if k == 4 else (32, 48)
        encode(root / "src" / cls / f"{k}.mp4", int(rng.integers(20, 40)), 8, h, w, k)
    sizes = sorted(p.stat().st_size for p in (root / "src").rglob("*.mp4"))
    (root / "served").mkdir()
    nc.pack_videos(root / "src", root / "served" / "v", shard_size=sizes[-1] + sizes[-2] + 256)
    return root


@pytest.fixture(scope="module")
def nginx(packed, tmp_path_factory):
    yield from serving(packed / "served", tmp_path_factory.mktemp("nginx"))


KW = dict(batch_size=3, clip_len=4, frame_step=2, clips_per_video=2, output="numpy", seed=11,
          num_threads=2, transforms=[T.RandomResizedCrop(24), T.RandomHorizontalFlip()])


def batches(loader):
    return [(x.copy(), y.copy()) for x, y in loader]


def assert_same(got, want):
    assert len(got) == len(want) > 0
    for (x, y), (rx, ry) in zip(got, want):
        np.testing.assert_array_equal(x, rx)
        np.testing.assert_array_equal(y, ry)


@pytest.mark.parametrize("max_open", [16, 1])
def test_remote_clips_equal_local_ones_and_each_shard_downloads_once(packed, nginx, tmp_path,
                                                                    max_open):
    local = nc.VideoSet.open(packed / "served" / "v")
    remote = nc.VideoSet.open(f"{nginx.url}/v", cache_dir=tmp_path / "cache", max_open=max_open)
    assert isinstance(remote, nc.RemoteVideoSet) and len(remote) == len(local) == 9
    assert remote.num_shards == len(local.shards) > 2
    assert remote.stats()["shards_fetched"] == 0  # planned from the index alone
    np.testing.assert_array_equal(remote.num_frames, local.num_frames)
    np.testing.assert_array_equal(remote.shapes, local.shapes)
    np.testing.assert_array_equal(remote.labels, local.labels)
    loader = nc.VideoLoader(remote, **KW)
    want = nc.VideoLoader(local, **KW)
    for b in (0, len(want) - 1):
        np.testing.assert_array_equal(loader.plan(b).frames, want.plan(b).frames)
    assert_same(batches(loader), batches(want))
    assert remote.stats()["shards_fetched"] == remote.num_shards  # each downloaded once
    np.testing.assert_array_equal(remote.frames(5, [0, 3]), local.frames(5, [0, 3]))
    assert "RemoteVideoSet" in repr(remote) and "9 videos" in repr(remote)


def test_the_shards_ahead_download_in_the_background(packed, nginx, tmp_path):
    proxy = FaultProxy(nginx.port)
    try:
        remote = nc.VideoSet.open(f"{proxy.url}/v", cache_dir=tmp_path / "cache")
        loader = nc.Loader(remote, shuffle=False, batch_size=1, clip_len=2, output="numpy",
                           transforms=[T.CenterCrop(24)], fetch_ahead=100, prefetch=1)
        next(iter(loader))  # one clip: its shard, and the later batches' shards on their way
        assert every_shard_fetched(remote)
        assert proxy.count("manifest.json") == remote.num_shards  # each once, ahead of need
    finally:
        proxy.close()


def test_a_server_that_goes_away_is_a_loader_error_naming_the_shard(packed, tmp_path_factory,
                                                                    tmp_path):
    remote = opened_then_gone(
        packed / "served", tmp_path_factory.mktemp("nginx_down"),
        lambda url: nc.VideoSet.open(f"{url}/v", cache_dir=tmp_path / "cache",
                                     timeout=2.0, retries=2))
    loader = nc.VideoLoader(remote, batch_size=9, clip_len=2, output="numpy", fetch_ahead=0,
                            transforms=[T.CenterCrop(24)])
    assert 0 <= first_batch_error(loader).sample < 9


def test_s3_through_moto(packed, tmp_path):
    pytest.importorskip("boto3", reason="the S3 tests need boto3 (requirements-dev.txt)")
    pytest.importorskip("moto", reason="the S3 tests need moto[server] (requirements-dev.txt)")
    s3 = MotoS3()
    try:
        s3.upload(str(packed / "served" / "v"), "bucket", "sets/v")
        remote = nc.VideoSet.open("s3://bucket/sets/v", cache_dir=tmp_path / "cache",
                                  storage_options=s3.storage_options)
        local = nc.VideoSet.open(packed / "served" / "v")
        assert_same(batches(nc.VideoLoader(remote, **KW)), batches(nc.VideoLoader(local, **KW)))
    finally:
        s3.stop()


def test_wrong_kind_and_options(packed, nginx, tmp_path):
    with pytest.raises(TypeError, match="cache_dir"):
        nc.VideoSet.open(packed / "served" / "v", cache_dir="/tmp/x")
    with pytest.raises(ValueError, match="not images"):
        nc.ImageSet.open(f"{nginx.url}/v", cache_dir=tmp_path / "cache")
    remote = nc.VideoSet.open(f"{nginx.url}/v", cache_dir=tmp_path / "cache")
    with pytest.raises(ValueError, match="fetch_ahead"):
        nc.VideoLoader(remote, clip_len=2, fetch_ahead=-1, transforms=[T.CenterCrop(24)])
    with pytest.raises(IndexError, match="out of range"):
        remote.frames(9, [0])
    with pytest.raises(TypeError, match="frames"):
        remote[0]
    # A set whose index lists no num_frames.npy (an older pack) is refused, saying what to do.
    old = packed / "served" / "old"
    if not old.exists():
        shutil.copytree(packed / "served" / "v", old)
        index = json.loads((old / "index.json").read_text())
        del index["files"]["num_frames.npy"]
        (old / "index.json").write_text(json.dumps(index))
    with pytest.raises(ValueError, match="num_frames.npy.*pack it again"):
        nc.VideoSet.open(f"{nginx.url}/old", cache_dir=tmp_path / "cache")


def test_a_mixture_of_a_remote_and_a_local_set_equals_the_local_mixture(packed, nginx,
                                                                        tmp_path):
    local = nc.VideoSet.open(packed / "served" / "v")
    other = nc.VideoSet.open(packed / "served" / "v").shards[0]  # a plain VideoSet
    remote = nc.VideoSet.open(f"{nginx.url}/v", cache_dir=tmp_path / "cache")
    kw = dict(KW, batch_size=4)
    want = nc.VideoLoader(nc.Mixture([local, other], weights=[2, 1], num_samples=12), **kw)
    got = nc.VideoLoader(nc.Mixture([remote, other], weights=[2, 1], num_samples=12), **kw)
    assert_same(batches(got), batches(want))
    p, q = got.plan(1), want.plan(1)
    np.testing.assert_array_equal(p.dataset, q.dataset)
    np.testing.assert_array_equal(p.indices, q.indices)
    assert 0 < remote.stats()["shards_fetched"] <= remote.num_shards


def test_an_unused_remote_set_is_freed(packed, nginx, tmp_path):
    # The C++ handle's callables hold the store, not the set: no cycle keeps it (and its hint
    # thread) alive.
    remote = nc.VideoSet.open(f"{nginx.url}/v", cache_dir=tmp_path / "cache")
    gone = weakref.ref(remote)
    del remote
    gc.collect()
    assert gone() is None


def test_block_shuffle_reads_one_block_of_shards_at_a_time(packed, nginx, tmp_path):
    local = nc.VideoSet.open(packed / "served" / "v")
    remote = nc.VideoSet.open(f"{nginx.url}/v", cache_dir=tmp_path / "cache")
    kw = dict(shuffle="block", block_shards=2, batch_size=1, clip_len=2, clips_per_video=2,
              output="numpy", fetch_ahead=0, transforms=[T.CenterCrop(24)], seed=3)
    loader = nc.VideoLoader(remote, **kw)
    order = [(int(loader.plan(i).indices[0]), int(loader.plan(i).clips[0]))
             for i in range(len(loader))]
    assert sorted(order) == [(v, c) for v in range(len(remote)) for c in range(2)]
    shard = [remote.shard_of(v)[0] for v, _ in order]
    # A shard's clips never come back after the block moved on: at most block_shards distinct
    # shards between a shard's first clip and its last.
    for k in set(shard):
        first, last = shard.index(k), len(shard) - 1 - shard[::-1].index(k)
        assert len(set(shard[first:last + 1])) <= 2
    assert_same(batches(loader), batches(nc.VideoLoader(local, **kw)))
    with pytest.raises(ValueError, match="block_shards"):
        nc.VideoLoader(local.shards[0], **kw)  # one VideoSet: no shards to block
    with pytest.raises(ValueError, match="shuffle"):
        nc.VideoLoader(remote, **dict(kw, shuffle="blocks"))
