"""Shard arithmetic of nc.Loader for world sizes up to 4096, simulated without images: every
rank of a world gets a Loader over a tiny (N, 1, 1, 1) dataset and reports its plan(). Each
world must give every rank the same number of batches and samples; the ranks' positions must be
disjoint and cover the epoch (with drop_last: no sample twice; without: every sample at least
once, the padding wrapping around as torch's DistributedSampler does). With shuffle=False the
indices are compared with torch.utils.data.DistributedSampler itself."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

import nocopy as nc

IMAGES = np.zeros((3 * 4096 + 7, 1, 1, 1), np.uint8)


def shard(n: int, world: int, rank: int, batch: int, shuffle: bool, drop_last: bool):
    loader = nc.Loader(IMAGES[:n], batch_size=batch, crop=None, crop_mode="none", mirror=0.0,
                       shuffle=shuffle, drop_last=drop_last, seed=7, rank=rank,
                       world_size=world, num_threads=1, prefetch=1, output="numpy")
    try:
        batches = len(loader)
        return batches, [int(i) for b in range(batches) for i in loader.plan(b).indices]
    finally:
        loader.close()


def simulate(n: int, world: int, batch: int, shuffle: bool, drop_last: bool):
    counts, shards = set(), []
    for rank in range(world):
        batches, indices = shard(n, world, rank, batch, shuffle, drop_last)
        counts.add((batches, len(indices)))
        shards.append(indices)
    assert len(counts) == 1, f"ranks disagree on (batches, samples): {sorted(counts)[:4]}"
    (batches, per_rank), = counts
    every = Counter(i for s in shards for i in s)
    assert set(every) <= set(range(n))
    if drop_last:
        # trimmed to full batches on every rank: disjoint, nothing repeated
        assert per_rank == (n // world) // batch * batch and batches == per_rank // batch
        assert max(every.values()) == 1 and len(every) == per_rank * world
        if (n // world) % batch == 0:  # no partial batch dropped: all but n % world covered
            assert len(every) == n - n % world
    else:
        # padded by wrapping around: every sample at least once, the extra ones from the start
        assert per_rank == -(-n // world) and batches == -(-per_rank // batch)
        assert len(every) == n and sum(every.values()) == per_rank * world
        assert max(every.values()) - min(every.values()) <= 1 or n < world
    return shards


WORLDS = [1, 2, 3, 4, 5, 7, 8, 16, 31, 64, 100, 257]
BIG_WORLDS = [1024, 4093, 4096]


@pytest.mark.parametrize("world", WORLDS)
@pytest.mark.parametrize("drop_last", [False, True])
@pytest.mark.parametrize("shuffle", [False, True])
def test_small_worlds_are_disjoint_covering_and_equal(world, drop_last, shuffle):
    for n in sorted({world, world + 1, 2 * world - 1, 3 * world + 5, 3 * world + 7}):
        for batch in (1, 3):
            if drop_last and n // world < batch:
                continue  # no full batch on any rank: a configuration error, not a shard
            simulate(n, world, batch, shuffle, drop_last)


@pytest.mark.parametrize("world", BIG_WORLDS)
@pytest.mark.parametrize("drop_last", [False, True])
def test_worlds_up_to_4096(world, drop_last):
    simulate(3 * world - 1 if drop_last else world + 1, world, 2, True, drop_last)


def test_fewer_samples_than_ranks_pads_by_repeating_the_order():
    shards = simulate(5, 12, 1, False, False)
    assert [s[0] for s in shards] == [0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1]


@pytest.mark.parametrize("world", [1, 2, 3, 8, 100, 4096])
@pytest.mark.parametrize("drop_last", [False, True])
def test_unshuffled_shards_match_torch_distributed_sampler(world, drop_last):
    torch_data = pytest.importorskip("torch.utils.data")
    for n in sorted({world + 1, 2 * world + 3}):
        for rank in sorted({0, 1 % world, world // 2, world - 1}):
            ref = list(torch_data.DistributedSampler(range(n), num_replicas=world, rank=rank,
                                                     shuffle=False, drop_last=drop_last))
            _, indices = shard(n, world, rank, 1, False, drop_last)
            assert indices == ref, (n, world, rank)


def test_shuffled_shards_are_a_new_permutation_each_epoch_on_every_rank():
    world, n = 4, 40
    orders = []
    for epoch in (0, 1):
        per_epoch = []
        for rank in range(world):
            loader = nc.Loader(IMAGES[:n], batch_size=5, crop=None, crop_mode="none",
                               mirror=0.0, seed=7, rank=rank, world_size=world,
                               num_threads=1, prefetch=1, output="numpy")
            loader.set_epoch(epoch)
            per_epoch += [int(i) for b in range(len(loader)) for i in loader.plan(b).indices]
            loader.close()
        assert sorted(per_epoch) == list(range(n))
        orders.append(per_epoch)
    assert orders[0] != orders[1]
