"""nc.SequenceLoader over an nc.Mixture of token / series datasets: every window of every batch
equals the NumPy slice of the dataset, source and start its plan names; every epoch holds
exactly each dataset's count; step windows are drawn equally often over epochs whether a
dataset is upsampled or subsampled; the same bytes for 1 and 2 threads; resume mid-epoch equals
the uninterrupted run; two ranks partition an epoch; weights may change at load_state_dict with
the same num_samples, a different size is refused; a dataset opened on demand (as a remote
token dataset) reads the same bytes as the same arrays; bad inputs raise clear errors."""

from __future__ import annotations

import math
import time
from collections import Counter

import numpy as np
import pytest

import nocopy as nc
from nocopy import _nocopy

RNG = np.random.default_rng(3)
# Dataset 0: two documents (one of odd length); dataset 1: one stream; dataset 2: three short
# documents, one too short for any window.
DOCS_A = [RNG.integers(0, 60_000, n, dtype=np.uint16) for n in (301, 160)]
STREAM_B = RNG.integers(0, 60_000, 517, dtype=np.uint16)
DOCS_C = [RNG.integers(0, 60_000, n, dtype=np.uint16) for n in (70, 4, 91)]
SERIES = [RNG.standard_normal((n, 3)).astype(np.float32) for n in (120, 77)]
SEQ_LEN = 16


def sources_of(dataset):
    return dataset if isinstance(dataset, list) else [dataset]


def check_batches(loader, datasets, nbatches, steps=SEQ_LEN + 1):
    """Every window of the first `nbatches` batches is the slice its plan names; returns the
    (dataset, source, start) of each."""
    seen = []
    for i, (x, y) in enumerate(loader):
        if i == nbatches:
            break
        p = loader.plan(i)
        for k, (d, s, t) in enumerate(zip(p.dataset, p.sources, p.starts)):
            src = sources_of(datasets[d])[s]
            assert 0 <= t and t + steps <= len(src)
            np.testing.assert_array_equal(x[k], src[t:t + SEQ_LEN])
            np.testing.assert_array_equal(y[k], src[t + 1:t + SEQ_LEN + 1])
            seen.append((int(d), int(s), int(t)))
    return seen


@pytest.mark.parametrize("step", [None, 5])
@pytest.mark.parametrize("threads", [1, 2])
def test_windows_are_the_slices_the_plan_names(step, threads):
    datasets = [DOCS_A, STREAM_B, DOCS_C]
    mix = nc.Mixture(datasets, weights=[0.5, 0.3, 0.2])
    loader = nc.SequenceLoader(mix, SEQ_LEN, 8, step=step, num_threads=threads, seed=1,
                               output="numpy")
    check_batches(loader, datasets, len(loader))
    if step is not None:
        assert all(t % step == 0 for _, _, t in check_batches(loader, datasets, 3))


def test_series_windows_and_dtype_conversion():
    other = [RNG.standard_normal((200, 3)).astype(np.float32)]
    mix = nc.Mixture([SERIES, other], weights=[1, 1], num_samples=30)
    loader = nc.SequenceLoader(mix, SEQ_LEN, 5, dtype="float32", output="numpy", seed=2)
    assert loader.windows_per_epoch == 30
    for i, (x, y) in enumerate(loader):
        p = loader.plan(i)
        for k, (d, s, t) in enumerate(zip(p.dataset, p.sources, p.starts)):
            src = [SERIES, other][d][s]
            np.testing.assert_array_equal(x[k], src[t:t + SEQ_LEN])
        assert x.shape == (5, SEQ_LEN, 3)


def lone_size(data, step):
    loader = nc.SequenceLoader(data, SEQ_LEN, 1, step=step, output="numpy", num_threads=1)
    try:
        return loader.windows_per_epoch
    finally:
        loader.close()


@pytest.mark.parametrize("step", [None, 3])
def test_exact_counts_every_epoch_and_default_size(step):
    datasets = [DOCS_A, STREAM_B, DOCS_C]
    weights = [0.2, 0.5, 0.3]
    loader = nc.SequenceLoader(nc.Mixture(datasets, weights), SEQ_LEN, 4, step=step,
                               drop_last=False, output="numpy", num_threads=1)
    sizes = [lone_size(d, step) for d in datasets]
    assert loader.mixture_sizes.tolist() == sizes
    assert loader.windows_per_epoch == math.ceil(sizes[0] * sum(weights) / weights[0] - 1e-9)
    counts = loader.mixture_counts
    assert counts.sum() == loader.windows_per_epoch
    for epoch in (0, 1):
        got = Counter()
        for i in range(len(loader)):
            got.update(loader.plan(i, epoch).dataset.tolist())
        assert [got[d] for d in range(3)] == counts.tolist()


@pytest.mark.parametrize("weights", [[0.8, 0.2], [0.1, 0.9]])
def test_step_windows_are_drawn_equally_often_over_epochs(weights):
    # Dataset sizes 29 and 21 windows (step 8); 40 slots an epoch up- and subsample them.
    datasets = [DOCS_A, STREAM_B[:181]]
    loader = nc.SequenceLoader(nc.Mixture(datasets, weights, num_samples=40), SEQ_LEN, 40,
                               step=8, output="numpy", num_threads=1)
    sizes, counts = loader.mixture_sizes.tolist(), loader.mixture_counts.tolist()
    epochs = math.lcm(*[s // math.gcd(s, c) for s, c in zip(sizes, counts)])
    seen = Counter()
    for e in range(epochs):
        p = loader.plan(0, e)
        seen.update(zip(p.dataset.tolist(), p.sources.tolist(), p.starts.tolist()))
    for d in range(2):
        mine = [n for (dd, _, _), n in seen.items() if dd == d]
        assert len(mine) == sizes[d]
        assert set(mine) == {epochs * counts[d] // sizes[d]}


def test_same_bytes_for_one_and_two_threads_and_resume():
    datasets = [DOCS_A, STREAM_B]

    def make(threads):
        return nc.SequenceLoader(nc.Mixture(datasets, [0.7, 0.3], num_samples=64), SEQ_LEN, 8,
                                 num_threads=threads, seed=9, output="numpy")

    one = [(x.copy(), y.copy()) for x, y in make(1)]
    two = [(x.copy(), y.copy()) for x, y in make(2)]
    assert len(one) == 8
    for (a, b), (c, d) in zip(one, two):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, d)
    first = make(2)
    it = iter(first)
    for _ in range(3):
        next(it)
    state = first.state_dict()
    resumed = make(1)
    resumed.load_state_dict(state)
    rest = [x.copy() for x, _ in resumed]
    assert len(rest) == 5
    for got, (want, _) in zip(rest, one[3:]):
        np.testing.assert_array_equal(got, want)


def test_two_ranks_partition_an_epoch():
    datasets = [DOCS_A, STREAM_B, DOCS_C]
    whole = []
    for rank in range(2):
        loader = nc.SequenceLoader(nc.Mixture(datasets, num_samples=48), SEQ_LEN, 4, step=4,
                                   rank=rank, world_size=2, output="numpy", num_threads=1)
        assert len(loader) == 6
        for i in range(len(loader)):
            p = loader.plan(i)
            whole += list(zip(p.dataset.tolist(), p.sources.tolist(), p.starts.tolist()))
    single = nc.SequenceLoader(nc.Mixture(datasets, num_samples=48), SEQ_LEN, 4, step=4,
                               output="numpy", num_threads=1)
    everything = []
    for i in range(len(single)):
        p = single.plan(i)
        everything += list(zip(p.dataset.tolist(), p.sources.tolist(), p.starts.tolist()))
    assert Counter(whole) == Counter(everything)


def test_changed_weights_resume_with_the_same_num_samples_only():
    datasets = [DOCS_A, STREAM_B]
    kw = dict(seq_len=SEQ_LEN, batch_size=8, output="numpy", num_threads=1)
    first = nc.SequenceLoader(nc.Mixture(datasets, [0.7, 0.3], num_samples=64), **kw)
    it = iter(first)
    next(it)
    state = first.state_dict()
    other = nc.SequenceLoader(nc.Mixture(datasets, [0.2, 0.8], num_samples=64), **kw)
    other.load_state_dict(state)
    assert len(list(other)) == 7
    assert other.mixture_counts.tolist() == [13, 51]
    bigger = nc.SequenceLoader(nc.Mixture(datasets, [0.2, 0.8], num_samples=72), **kw)
    with pytest.raises(ValueError, match="num_samples"):
        bigger.load_state_dict(state)
    lone = nc.SequenceLoader(DOCS_A, **kw)
    with pytest.raises(ValueError):
        lone.load_state_dict(state)


class OnDemandTokens:
    """A token dataset opened shard by shard through Python callables, as a remote one is."""

    def __init__(self, shards, max_open=1):
        self.shards = shards
        self.dtype = shards[0].dtype
        self.opened, self.hinted = Counter(), Counter()
        self._sequences = _nocopy._ShardedSequences(
            self._open, self._hint,
            [len(s) for s in shards], self.dtype.name, max_open)

    def _open(self, k):
        self.opened.update([k])
        return nc.view(self.shards[k])

    def _hint(self, k):
        self.hinted.update([k])

    def __len__(self):
        return len(self.shards)

    def __nocopy_sequence_shards__(self):
        return self._sequences


@pytest.mark.parametrize("step", [None, 6])
def test_a_dataset_opened_on_demand_reads_the_same_bytes(step):
    lazy = OnDemandTokens(DOCS_C)
    kw = dict(seq_len=SEQ_LEN, batch_size=6, step=step, seed=4, output="numpy", num_threads=2)
    want = nc.SequenceLoader(nc.Mixture([DOCS_A, DOCS_C], [0.4, 0.6], num_samples=36), **kw)
    got = nc.SequenceLoader(nc.Mixture([DOCS_A, lazy], [0.4, 0.6], num_samples=36), **kw)
    n = 0
    for (a, b), (c, d) in zip(want, got):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, d)
        n += 1
    assert n == 6
    assert set(lazy.opened) <= {0, 2} and lazy.opened  # shard 1 has no window
    deadline = time.monotonic() + 5  # hints are sent by a background thread
    while not lazy.hinted and time.monotonic() < deadline:
        time.sleep(0.01)
    assert lazy.hinted  # the hints reach the dataset opened on demand
    got.close()


def test_bad_inputs_raise_clearly():
    with pytest.raises(TypeError, match="one kind"):
        nc.Mixture([STREAM_B, np.zeros((4, 8, 8, 3), np.uint8)])
    with pytest.raises(ValueError, match="dtype"):
        nc.Mixture([STREAM_B, STREAM_B.astype(np.int32)])
    with pytest.raises(ValueError, match="feature"):
        nc.Mixture([SERIES, [np.zeros((50, 2), np.float32)]])
    with pytest.raises(ValueError, match="weights"):
        nc.Mixture([STREAM_B, DOCS_A], weights=[1.0])
    with pytest.raises(ValueError, match="weight"):
        nc.Mixture([STREAM_B, DOCS_A], weights=[1.0, -1.0])
    with pytest.raises(ValueError, match="dataset 1"):  # no window of 17 steps in 10 tokens
        nc.SequenceLoader(nc.Mixture([STREAM_B, STREAM_B[:10]]), SEQ_LEN, 2)
    images = nc.Mixture([np.zeros((4, 8, 8, 3), np.uint8)] * 2)
    with pytest.raises(TypeError, match="SequenceLoader"):
        nc.SequenceLoader(images, SEQ_LEN, 2)
    with pytest.raises(TypeError, match=r"nc.SequenceLoader\(mix, seq_len"):
        nc.Loader(nc.Mixture([STREAM_B, DOCS_A], num_samples=10), batch_size=2)
    with pytest.raises(TypeError, match="num_samples"):
        len(nc.Mixture([STREAM_B, DOCS_A]))
    assert len(nc.Mixture([STREAM_B, DOCS_A], num_samples=10)) == 10


def test_locate_and_repr():
    mix = nc.Mixture([DOCS_A, STREAM_B, DOCS_C], num_samples=12)
    d, s = mix.locate([0, 1, 2, 3, 5])
    assert d.tolist() == [0, 0, 1, 2, 2] and s.tolist() == [0, 1, 0, 0, 2]
    assert "3 sequence datasets" in repr(mix)
