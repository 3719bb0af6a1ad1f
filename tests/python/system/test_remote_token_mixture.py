"""nc.SequenceLoader over an nc.Mixture of a local token array and a token dataset served by
nginx on loopback (nc.open_tokens(url)): the remote dataset keeps streaming shard by shard,
and the plans and batches equal those of the same mixture read all locally, byte for byte
(random and step windows); every remote shard is downloaded once."""

from __future__ import annotations

import numpy as np
import pytest

import nocopy as nc
from remote_servers import serving

TOKENS = 12_007


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("remote_token_mixture")
    tokens = np.random.default_rng(8).integers(0, 50_000, TOKENS, dtype=np.uint16)
    (root / "served").mkdir()
    nc.pack_tokens(tokens, root / "served" / "bin", shard_size=3000, format="bin")
    return root


@pytest.fixture(scope="module")
def nginx(served, tmp_path_factory):
    yield from serving(served / "served", tmp_path_factory.mktemp("nginx"))


@pytest.mark.parametrize("step", [None, 19])
def test_a_remote_dataset_mixes_with_a_local_one_as_locally(served, nginx, tmp_path, step):
    local_docs = [np.arange(n, dtype=np.uint16) for n in (900, 451)]
    remote = nc.open_tokens(f"{nginx.url}/bin", cache_dir=tmp_path / "cache", max_open=2)
    local = nc.open_tokens(served / "served" / "bin")
    kw = dict(seq_len=31, batch_size=8, step=step, seed=3, output="numpy", num_threads=3)
    got = nc.SequenceLoader(nc.Mixture([local_docs, remote], [0.3, 0.7], num_samples=240), **kw)
    want = nc.SequenceLoader(nc.Mixture([local_docs, local], [0.3, 0.7], num_samples=240), **kw)
    assert len(got) == len(want) == 30
    for i in (0, 7, 29):
        a, b = got.plan(i), want.plan(i)
        for field in ("sources", "starts", "dataset"):
            np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    n = 0
    for (x, y), (rx, ry) in zip(got, want):
        np.testing.assert_array_equal(x, rx)
        np.testing.assert_array_equal(y, ry)
        n += 1
    assert n == 30
    # Each shard with a window downloaded once (the last, of 7 tokens, has none).
    with_window = sum(n >= 32 for n in remote.shard_lengths)
    assert with_window == remote.num_shards - 1
    assert remote.stats()["shards_fetched"] == with_window
    got.close()
