"""nc.Mixture: several image datasets read as one by nc.Loader, mixed by weights. Exact counts
per epoch, every sample's pixels and label from the dataset plan(i) names, equal draws over
epochs (upsampled and subsampled datasets), determinism, resume (with new weights too), shards
across ranks, ImageSets (raw and JPEG) and arrays together, and bad input."""

from __future__ import annotations

import collections

import numpy as np
import pytest

import nocopy as nc
from nocopy import transforms as T


def dataset(n, base, h=8, w=8, label=None):
    """n images whose every pixel is base + index (so a pixel names its sample)."""
    images = np.empty((n, h, w, 3), np.uint8)
    images[:] = (base + np.arange(n))[:, None, None, None]
    return images


A, B, C = dataset(10, 0), dataset(4, 100), dataset(6, 200)


def loader(mix, **kw):
    kw = {"batch_size": 5, "crop": 8, "crop_mode": "none", "mirror": 0.0, "dtype": "uint8",
          "output": "numpy", "seed": 1, **kw}
    return nc.Loader(mix, **kw)


def epoch_samples(ld, epoch):
    ld.set_epoch(epoch)
    out = []
    for i, batch in enumerate(ld):
        x = batch[0] if isinstance(batch, tuple) else batch
        p = ld.plan(i)
        for k in range(len(p.indices)):
            out.append((int(p.dataset[k]), int(p.indices[k]), int(x[k, 0, 0, 0])))
    return out


@pytest.mark.parametrize("weights, num_samples", [([1, 1, 1], None), ([0.6, 0.3, 0.1], 40),
                                                  ([0.2, 0.8, 0.0], 25), ([5, 1, 2], 7)])
def test_counts_are_exact_and_every_sample_is_the_planned_one(weights, num_samples):
    mix = nc.Mixture([A, B, C], weights, num_samples=num_samples)
    ld = loader(mix)
    total = sum(weights)
    assert len(mix) == (num_samples or int(np.ceil(10 * total / weights[0] - 1e-9)))
    assert mix.counts.sum() == len(mix)
    assert np.all(np.abs(mix.counts - len(mix) * np.array(weights) / total) < 1)
    bases = [0, 100, 200]
    for epoch in range(2):
        got = epoch_samples(ld, epoch)
        assert len(got) == len(mix)
        assert collections.Counter(d for d, _, _ in got) == {
            d: int(c) for d, c in enumerate(mix.counts) if c}
        for d, i, pixel in got:
            assert pixel == bases[d] + i  # the image the plan names


def test_draws_are_even_over_epochs_up_and_subsampled():
    # B (4 images) gets 10 slots an epoch: upsampled; A (10 images) gets 5: subsampled.
    mix = nc.Mixture([A, B], [1, 2], num_samples=15)
    ld = loader(mix)
    draws = collections.Counter()
    for epoch in range(4):  # 20 draws of A (each image twice), 40 of B (each 10 times)
        draws.update((d, i) for d, i, _ in epoch_samples(ld, epoch))
    assert all(draws[(0, i)] == 2 for i in range(10))
    assert all(draws[(1, i)] == 10 for i in range(4))


def test_deterministic_seeded_and_unshuffled_interleaving():
    mix = nc.Mixture([A, B, C], [2, 1, 1], num_samples=12)
    one = epoch_samples(loader(mix, num_threads=1), 3)
    assert one == epoch_samples(loader(mix, num_threads=2), 3)
    assert one != epoch_samples(loader(mix, seed=2), 3)
    plain = epoch_samples(loader(mix, shuffle=False), 0)
    # Evenly interleaved, each dataset walked in order.
    assert [d for d, _, _ in plain] == [0, 1, 2, 0, 0, 1, 2, 0, 0, 1, 2, 0]
    assert [i for d, i, _ in plain if d == 0] == list(range(6))


def test_labels_follow_their_images_and_sets_mix_with_arrays(tmp_path):
    a = nc.ImageSet.from_arrays([dataset(1, k, 8 + k % 3, 9)[0] for k in range(5)],
                                labels=np.arange(5))
    b = nc.ImageSet.from_arrays([dataset(1, 100 + k)[0] for k in range(3)],
                                labels=np.arange(10, 13))
    mix = nc.Mixture([a, b], [1, 1])
    assert mix.labels.tolist() == [0, 1, 2, 3, 4, 10, 11, 12]
    ld = nc.Loader(mix, batch_size=4, output="numpy", seed=3,
                   transforms=[T.CenterCrop(8)])
    for i, (x, y) in enumerate(ld):
        p = ld.plan(i)
        for k in range(len(y)):
            want = [0, 10][p.dataset[k]] + p.indices[k]
            assert y[k] == want and x[k, 0, 0, 0] == [0, 100][p.dataset[k]] + p.indices[k]
    with pytest.raises(ValueError, match="no labels"):
        nc.Loader(nc.Mixture([a, A]), batch_size=2)


def test_resume_and_new_weights_and_ranks():
    mix = nc.Mixture([A, B, C], [1, 1, 1], num_samples=15)
    ld = loader(mix, batch_size=3)
    it = iter(ld)
    next(it)
    state = ld.state_dict()
    rest = [b.copy() for b in it]
    again = loader(mix, batch_size=3)
    again.load_state_dict(state)
    assert all(np.array_equal(x, y) for x, y in zip(rest, again))
    # New weights, same epoch size: accepted, the rest of the epoch from the new order.
    reweighted = loader(nc.Mixture([A, B, C], [3, 1, 1], num_samples=15), batch_size=3)
    reweighted.load_state_dict(state)
    assert sum(len(b) for b in reweighted) == 12
    with pytest.raises(ValueError, match="num_samples"):
        loader(nc.Mixture([A, B, C], [1, 1, 1], num_samples=16), batch_size=3).load_state_dict(
            state)
    seen = []
    for rank in range(3):
        r = loader(mix, rank=rank, world_size=3, drop_last=True)
        seen += [(int(d), int(i)) for b in range(len(r))
                 for d, i in zip(r.plan(b).dataset, r.plan(b).indices)]
    assert sorted(seen) == sorted((d, i) for d, i, _ in epoch_samples(loader(mix), 0))


@pytest.mark.parametrize("args, error", [
    (([],), ValueError), (([A, B], [1]), ValueError), (([A, B], [-1, 1]), ValueError),
    (([A, B], [0, 0]), ValueError), (([A, B], [float("nan"), 1]), ValueError),
    (([A, B], [0, 1]), ValueError),  # no epoch size: the first dataset has weight 0
    (([A, B], [1, 1], 0), ValueError), (([A, B], [1, 1], 2.5), TypeError),
    (([A, A[:0]],), ValueError),
])
def test_bad_mixtures(args, error):
    with pytest.raises(error):
        nc.Mixture(*args)


def test_bad_parts():
    with pytest.raises(TypeError):
        nc.Mixture([nc.Mixture([A]), B])
    with pytest.raises(ValueError, match="channels"):
        loader(nc.Mixture([A, np.zeros((3, 8, 8, 1), np.uint8)]))
    mix = nc.Mixture([A, B], [1, 1])
    d, i = mix.locate([0, 9, 10, 13])
    assert d.tolist() == [0, 0, 1, 1] and i.tolist() == [0, 9, 0, 3]
    with pytest.raises(IndexError):
        mix.locate([14])
