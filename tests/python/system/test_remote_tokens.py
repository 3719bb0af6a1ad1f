"""nc.SequenceLoader over a token dataset served by real servers on loopback (nginx over HTTP,
moto's server standing in for S3), read shard by shard through nc.open_tokens(url): the plans
and batches equal those of the same shards read locally, byte for byte (random and step
windows, resume, ranks, max_open=1); each shard is downloaded once and the cache serves a
second loader; the shards of the batches ahead download in the background (fetch_ahead); a
shard that cannot be had (a dead server, a missing file) is a LoaderError naming it within the
timeout, never a hang; bad options are clear ValueErrors / TypeErrors."""

from __future__ import annotations

import os
import shutil
import time

import numpy as np
import pytest

import nocopy as nc
from remote_servers import (FaultProxy, MotoS3, every_shard_fetched, first_batch_error,
                            opened_then_gone, serving)

TOKENS = 20_011  # shards of 1600 tokens and an odd last one


@pytest.fixture(scope="module")
def packed(tmp_path_factory):
    """served/bin and served/npy: one token stream packed as shards of both formats."""
    root = tmp_path_factory.mktemp("remote_tokens")
    rng = np.random.default_rng(5)
    tokens = rng.integers(0, 50_000, TOKENS, dtype=np.uint16)
    (root / "served").mkdir()
    nc.pack_tokens(tokens, root / "served" / "bin", shard_size=3200, format="bin")
    nc.pack_tokens(tokens, root / "served" / "npy", shard_size=3200, format="npy")
    return root


@pytest.fixture(scope="module")
def nginx(packed, tmp_path_factory):
    yield from serving(packed / "served", tmp_path_factory.mktemp("nginx"))


KW = dict(seq_len=33, batch_size=8, output="numpy", seed=7, num_threads=3)


def batches(loader, n=None):
    out = []
    for i, (x, y) in enumerate(loader):
        if n is not None and i == n:
            break
        out.append((x.copy(), y.copy()))
    return out


def assert_same(got, want):
    assert len(got) == len(want)
    for (x, y), (rx, ry) in zip(got, want):
        np.testing.assert_array_equal(x, rx)
        np.testing.assert_array_equal(y, ry)


@pytest.mark.parametrize("fmt,step", [("bin", None), ("npy", 17)])
def test_remote_batches_equal_local_ones_and_the_cache_serves_again(packed, nginx, tmp_path,
                                                                     fmt, step):
    local = nc.open_tokens(packed / "served" / fmt)
    remote = nc.open_tokens(f"{nginx.url}/{fmt}", cache_dir=tmp_path / "cache")
    assert isinstance(remote, nc.RemoteTokens) and len(remote) == len(local) > 5
    assert remote.shard_lengths == [len(v) for v in local] and remote.num_tokens == TOKENS
    assert remote.dtype == np.uint16 and "RemoteTokens" in repr(remote)
    assert remote.stats()["shards_fetched"] == 0  # the index alone so far
    loader = nc.SequenceLoader(remote, step=step, **KW)
    want_loader = nc.SequenceLoader(local, step=step, **KW)
    assert len(loader) == len(want_loader) and "RemoteTokens" in repr(loader)
    for i in (0, 3, len(loader) - 1):
        got, want = loader.plan(i), want_loader.plan(i)
        np.testing.assert_array_equal(got.sources, want.sources)
        np.testing.assert_array_equal(got.starts, want.starts)
    assert_same(batches(loader), batches(want_loader))
    assert remote.stats()["shards_fetched"] == remote.num_shards  # each downloaded once
    np.testing.assert_array_equal(np.asarray(remote[2]), np.asarray(local[2]))
    loader.close()
    again = nc.open_tokens(f"{nginx.url}/{fmt}", cache_dir=tmp_path / "cache")
    assert len(batches(nc.SequenceLoader(again, step=step, **KW))) == len(want_loader)
    # Nothing but the index downloaded again; every shard a cache hit (of the worker's fetch or
    # of the prefetch it joined).
    stats = again.stats()
    index_bytes = os.path.getsize(packed / "served" / fmt / "index.json")
    assert stats["shards_fetched"] == 0 and stats["bytes_downloaded"] == index_bytes, stats
    assert stats["cache_hits"] >= again.num_shards, stats


def test_one_open_shard_resume_and_ranks_read_as_locally(packed, nginx, tmp_path):
    local = nc.open_tokens(packed / "served" / "bin")
    remote = nc.open_tokens(f"{nginx.url}/bin", cache_dir=tmp_path / "cache", max_open=1)
    want = batches(nc.SequenceLoader(local, **KW))
    assert_same(batches(nc.SequenceLoader(remote, **KW)), want)
    # Resume: the rest of the epoch after a saved state, on a fresh loader.
    first = nc.SequenceLoader(remote, **KW)
    it = iter(first)
    for _ in range(5):
        next(it)
    state = first.state_dict()
    first.close()
    resumed = nc.SequenceLoader(remote, **KW)
    resumed.load_state_dict(state)
    assert_same(batches(resumed), want[5:])
    # Ranks: rank 1 of 2 reads what it reads locally.
    ranked = dict(KW, rank=1, world_size=2)
    assert_same(batches(nc.SequenceLoader(remote, **ranked)),
                batches(nc.SequenceLoader(local, **ranked)))


def test_the_shards_ahead_download_in_the_background(packed, nginx, tmp_path):
    proxy = FaultProxy(nginx.port)
    try:
        remote = nc.open_tokens(f"{proxy.url}/bin", cache_dir=tmp_path / "cache")
        loader = nc.SequenceLoader(remote, seq_len=33, step=33, shuffle=False, batch_size=4,
                                   output="numpy", fetch_ahead=1000, prefetch=1)
        next(iter(loader))  # one batch: its shard, and the later batches' shards on their way
        assert every_shard_fetched(remote)
        assert proxy.count(".bin") == remote.num_shards  # each once, ahead of need
        loader.close()
    finally:
        proxy.close()


def test_a_server_that_goes_away_is_a_loader_error_naming_the_shard(packed, tmp_path_factory,
                                                                    tmp_path):
    remote = opened_then_gone(
        packed / "served", tmp_path_factory.mktemp("nginx_down"),
        lambda url: nc.open_tokens(f"{url}/bin", cache_dir=tmp_path / "cache",
                                   timeout=2.0, retries=2))
    loader = nc.SequenceLoader(remote, seq_len=33, batch_size=64, output="numpy", fetch_ahead=0)
    assert 0 <= first_batch_error(loader).sample < remote.num_shards
    loader.close()


def test_a_missing_shard_file_is_a_loader_error_naming_it(packed, nginx, tmp_path):
    served = tmp_path / "served"
    shutil.copytree(packed / "served" / "bin", served / "gappy")
    os.unlink(served / "gappy" / "shard-00003.bin")
    # nginx serves the module's folder: put the copy beside the packed ones.
    link = packed / "served" / f"gappy-{os.getpid()}-{time.monotonic_ns()}"
    shutil.copytree(served / "gappy", link)
    try:
        remote = nc.open_tokens(f"{nginx.url}/{link.name}", cache_dir=tmp_path / "cache",
                                timeout=5.0, retries=1)
        np.testing.assert_array_equal(np.asarray(remote[2])[:4],
                                      np.asarray(nc.open_tokens(packed / "served" / "bin")[2])[:4])
        loader = nc.SequenceLoader(remote, seq_len=33, step=33, shuffle=False, batch_size=16,
                                   output="numpy", fetch_ahead=0)
        with pytest.raises(nc.LoaderError, match="shard-00003") as e:
            batches(loader)
        assert e.value.sample == 3
        loader.close()
    finally:
        shutil.rmtree(link)


def test_s3_through_moto(packed, tmp_path):
    pytest.importorskip("boto3", reason="the S3 tests need boto3 (requirements-dev.txt)")
    pytest.importorskip("moto", reason="the S3 tests need moto[server] (requirements-dev.txt)")
    s3 = MotoS3()
    try:
        s3.upload(str(packed / "served" / "npy"), "bucket", "sets/tokens")
        remote = nc.open_tokens("s3://bucket/sets/tokens", cache_dir=tmp_path / "cache",
                                storage_options=s3.storage_options)
        local = nc.open_tokens(packed / "served" / "npy")
        assert_same(batches(nc.SequenceLoader(remote, **KW)),
                    batches(nc.SequenceLoader(local, **KW)))
        assert remote.stats()["shards_fetched"] == remote.num_shards
    finally:
        s3.stop()


def test_bad_options_are_clear_errors(packed, nginx, tmp_path):
    url = f"{nginx.url}/bin"
    with pytest.raises(TypeError, match="cache_dir"):
        nc.open_tokens(packed / "served" / "bin", cache_dir=tmp_path)
    with pytest.raises(ValueError, match="max_open"):
        nc.open_tokens(url, cache_dir=tmp_path / "cache", max_open=0)
    with pytest.raises(TypeError, match="max_open"):
        nc.open_tokens(url, cache_dir=tmp_path / "cache", max_open="2")
    with pytest.raises(ValueError, match="timeout"):
        nc.open_tokens(url, cache_dir=tmp_path / "cache", timeout=0)
    with pytest.raises(TypeError, match="unexpected keyword|cache_size"):
        nc.open_tokens(url, cache_size="1GB")
    remote = nc.open_tokens(url, cache_dir=tmp_path / "cache")
    with pytest.raises(ValueError, match="fetch_ahead"):
        nc.SequenceLoader(remote, seq_len=8, batch_size=2, fetch_ahead=-1)
    with pytest.raises(TypeError, match="fetch_ahead"):
        nc.SequenceLoader(remote, seq_len=8, batch_size=2, fetch_ahead="4")
    with pytest.raises(ValueError, match="seq_len"):
        nc.SequenceLoader(remote, seq_len=TOKENS, batch_size=2)
    with pytest.raises(IndexError, match="shard"):
        remote[len(remote)]
    with pytest.raises(TypeError, match="shard"):
        remote["0"]
    assert remote.stats()["shards_fetched"] == 0
