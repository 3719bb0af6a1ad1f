"""Shard arithmetic of nc.SequenceLoader for world sizes up to 4096, simulated on a tiny list of
documents: every rank of a world gets a SequenceLoader and reports its plan(). Every rank must
get the same number of batches and windows. With step=k (every k-th window once per epoch) the
ranks' windows must be disjoint with drop_last and cover every window without it (padding
wraps around), each window lying inside its own document; with random starts the ranks must
split the positions of one epoch's draws (their union is the single-process loader's)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

import nocopy as nc

SEQ_LEN, STEP, BATCH = 4, 3, 2
# Document lengths chosen so that the epoch has 3 * 4096 + 7 windows of 5 steps (x and y) every
# 3rd step: a document of 3 * (n - 1) + 5 steps has n windows; one document is too short for
# any, one has a tail too short for another window.
LENGTHS = [4, 3 * 4999 + 5, 3 * 3999 + 5, 3 * 3294 + 5 + 2]
DOCS = [np.arange(n, dtype=np.uint16) for n in LENGTHS]


def all_windows():
    """(document, start) of every window of the epoch with step STEP, from the definition."""
    steps = SEQ_LEN + 1  # targets="next": x and y need one step more
    return [(d, s) for d, n in enumerate(LENGTHS) for s in range(0, n - steps + 1, STEP)]


def test_the_epoch_has_the_intended_number_of_windows():
    loader = nc.SequenceLoader(DOCS, SEQ_LEN, BATCH, step=STEP, output="numpy", num_threads=1)
    assert loader.windows_per_epoch == len(all_windows()) == 3 * 4096 + 7


def shard(world, rank, step, drop_last):
    loader = nc.SequenceLoader(DOCS, SEQ_LEN, BATCH, step=step, drop_last=drop_last, seed=11,
                               rank=rank, world_size=world, num_threads=1, prefetch=1,
                               output="numpy")
    try:
        batches = len(loader)
        windows = []
        for b in range(batches):
            p = loader.plan(b)
            windows += [(int(d), int(s)) for d, s in zip(p.sources, p.starts)]
        return batches, windows
    finally:
        loader.close()


def simulate(world, step, drop_last):
    counts, shards = set(), []
    for rank in range(world):
        batches, windows = shard(world, rank, step, drop_last)
        counts.add((batches, len(windows)))
        shards.append(windows)
    assert len(counts) == 1, f"ranks disagree on (batches, windows): {sorted(counts)[:4]}"
    return counts.pop(), shards


@pytest.mark.parametrize("world", [1, 2, 3, 7, 64, 1024, 4093, 4096])
@pytest.mark.parametrize("drop_last", [False, True])
def test_every_kth_window_sharded_over_worlds_up_to_4096(world, drop_last):
    (batches, per_rank), shards = simulate(world, STEP, drop_last)
    expected = all_windows()
    total = len(expected)
    every = Counter(w for s in shards for w in s)
    assert set(every) <= set(expected)  # each window inside its own document, on the grid
    if drop_last:
        assert per_rank == (total // world) // BATCH * BATCH and batches == per_rank // BATCH
        assert max(every.values()) == 1 and len(every) == per_rank * world
    else:
        assert per_rank == -(-total // world) and batches == -(-per_rank // BATCH)
        assert len(every) == total and sum(every.values()) == per_rank * world
        assert max(every.values()) - min(every.values()) <= 1


@pytest.mark.parametrize("world", [3, 4093, 4096])
def test_random_starts_split_one_epochs_draws_over_worlds_up_to_4096(world):
    (batches, per_rank), shards = simulate(world, None, True)
    full = nc.SequenceLoader(DOCS, SEQ_LEN, BATCH, drop_last=True, seed=11, num_threads=1,
                             output="numpy")
    plans = [full.plan(b) for b in range(len(full))]
    draws = [(int(d), int(s)) for p in plans for d, s in zip(p.sources, p.starts)]
    merged = [w for s in shards for w in s]
    assert len(merged) == per_rank * world
    # Rank r takes the epoch's positions r, r + world, ...: together the ranks take its first
    # per_rank * world positions, whose draws the single-process loader lists in order.
    assert Counter(merged) == Counter(draws[:per_rank * world])
    steps = SEQ_LEN + 1
    assert all(0 <= s <= LENGTHS[d] - steps for d, s in merged)
