"""nc.Loader over a sharded image dataset served by real servers on loopback (nginx over HTTP,
moto's server standing in for S3): the batches equal those of the same dataset read locally,
byte for byte; each shard is downloaded once and the cache serves a second loader; the shards
of the batches ahead download in the background (fetch_ahead); shuffle="block" keeps the reads
within a few shards; a server that goes away fails the batch with a LoaderError naming the
shard within the timeout, never a hang."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest
from PIL import Image

import nocopy as nc
from remote_servers import (FaultProxy, MotoS3, every_shard_fetched, first_batch_error,
                            opened_then_gone, serving)


@pytest.fixture(scope="module")
def packed(tmp_path_factory):
    """served/raw and served/jpeg: one ImageFolder tree packed as sharded raw and JPEG sets."""
    root = tmp_path_factory.mktemp("remote_loader")
    rng = np.random.default_rng(3)
    for c in ("cat", "dog", "eel"):
        (root / "src" / c).mkdir(parents=True)
        for k in range(9):
            h, w = int(rng.integers(20, 40)), int(rng.integers(20, 40))
            Image.fromarray(rng.integers(0, 256, (h, w, 3), np.uint8)).save(
                root / "src" / c / f"{k}.png")
    (root / "served").mkdir()
    nc.pack_images(root / "src", root / "served" / "raw", shard_size=6000)
    nc.pack_images(root / "src", root / "served" / "jpeg", shard_size=4000, format="jpeg")
    return root


@pytest.fixture(scope="module")
def nginx(packed, tmp_path_factory):
    yield from serving(packed / "served", tmp_path_factory.mktemp("nginx"))


KW = dict(batch_size=5, crop=16, crop_mode="random_resized", output="numpy", seed=7,
          num_threads=2)


def batches(loader):
    return [(x.copy(), y.copy()) for x, y in loader]


@pytest.mark.parametrize("fmt", ["raw", "jpeg"])
def test_remote_batches_equal_local_ones_and_the_cache_serves_again(packed, nginx, tmp_path,
                                                                     fmt):
    local = nc.ImageSet.open(packed / "served" / fmt)
    remote = nc.ImageSet.open(f"{nginx.url}/{fmt}", cache_dir=tmp_path / "cache")
    assert isinstance(remote, nc.RemoteImageSet) and len(remote) == len(local) == 27
    assert remote.num_shards == len(local.shards) > 2 and remote.format == fmt
    np.testing.assert_array_equal(remote.labels, local.labels)
    np.testing.assert_array_equal(remote[4], local[4])
    want = batches(nc.Loader(local, **KW))
    got = batches(nc.Loader(remote, **KW))
    for (x, y), (rx, ry) in zip(got, want):
        np.testing.assert_array_equal(x, rx)
        np.testing.assert_array_equal(y, ry)
    assert remote.stats()["shards_fetched"] == remote.num_shards  # each downloaded once
    again = nc.ImageSet.open(f"{nginx.url}/{fmt}", cache_dir=tmp_path / "cache")
    assert len(batches(nc.Loader(again, **KW))) == len(want)
    assert again.stats()["shards_fetched"] == 0 and again.stats()["cache_hits"] > 0


def test_the_shards_ahead_download_in_the_background(packed, nginx, tmp_path):
    proxy = FaultProxy(nginx.port)
    try:
        remote = nc.ImageSet.open(f"{proxy.url}/raw", cache_dir=tmp_path / "cache")
        loader = nc.Loader(remote, shuffle=False, batch_size=3, crop=16, output="numpy",
                           fetch_ahead=100, prefetch=1)
        next(iter(loader))  # one batch: its shard, and the later batches' shards on their way
        assert every_shard_fetched(remote)
        assert proxy.count("manifest.json") == remote.num_shards  # each once, ahead of need
    finally:
        proxy.close()


def test_block_shuffle_reads_one_block_of_shards_at_a_time(packed, nginx, tmp_path):
    remote = nc.ImageSet.open(f"{nginx.url}/raw", cache_dir=tmp_path / "cache")
    loader = nc.Loader(remote, shuffle="block", block_shards=2, batch_size=1, crop=16,
                       output="numpy", fetch_ahead=0)
    order = [int(loader.plan(i).indices[0]) for i in range(len(loader))]
    assert sorted(order) == list(range(len(remote)))
    shard = [remote.shard_of(i)[0] for i in order]
    runs = [shard[0]]
    for k in shard[1:]:
        if k != runs[-1]:
            runs.append(k)
    # Shards of one block are interleaved, but a shard's samples never come back after the
    # block moved on: at most block_shards distinct shards between a shard's first and last.
    for k in set(shard):
        first, last = shard.index(k), len(shard) - 1 - shard[::-1].index(k)
        assert len(set(shard[first:last + 1])) <= 2


def test_a_server_that_goes_away_is_a_loader_error_naming_the_shard(packed, tmp_path_factory,
                                                                    tmp_path):
    remote = opened_then_gone(
        packed / "served", tmp_path_factory.mktemp("nginx_down"),
        lambda url: nc.ImageSet.open(f"{url}/raw", cache_dir=tmp_path / "cache",
                                     timeout=2.0, retries=2))
    loader = nc.Loader(remote, batch_size=27, crop=16, output="numpy", fetch_ahead=0)
    assert 0 <= first_batch_error(loader).sample < 27


def test_s3_through_moto(packed, tmp_path):
    pytest.importorskip("boto3", reason="the S3 tests need boto3 (requirements-dev.txt)")
    pytest.importorskip("moto", reason="the S3 tests need moto[server] (requirements-dev.txt)")
    s3 = MotoS3()
    try:
        s3.upload(str(packed / "served" / "jpeg"), "bucket", "sets/jpeg")
        remote = nc.ImageSet.open("s3://bucket/sets/jpeg", cache_dir=tmp_path / "cache",
                                  storage_options=s3.storage_options)
        local = nc.ImageSet.open(packed / "served" / "jpeg")
        for (x, y), (rx, ry) in zip(nc.Loader(remote, **KW), nc.Loader(local, **KW)):
            np.testing.assert_array_equal(x, rx)
            np.testing.assert_array_equal(y, ry)
    finally:
        s3.stop()


def test_remote_options_need_a_url(packed):
    with pytest.raises(TypeError, match="cache_dir"):
        nc.ImageSet.open(packed / "served" / "raw", cache_dir="/tmp/x")


def test_an_unused_remote_set_is_freed(packed, nginx, tmp_path):
    # The C++ handle's callables hold the store, not the set: no cycle keeps it (and its hint
    # thread) alive.
    remote = nc.ImageSet.open(f"{nginx.url}/raw", cache_dir=tmp_path / "cache")
    gone = weakref.ref(remote)
    del remote
    gc.collect()
    assert gone() is None
