"""Elastic resume: a Loader state saved with world size W1 (and batch size B1), loaded by W2
ranks, continues the epoch from the saved global position: together the new ranks deliver
exactly the samples not yet consumed, each with the crop and mirror it had, and the epochs after
it are ordinary whole epochs. The reference is a one-rank loader, whose batch slots are the
global positions of the epoch order in turn."""

import itertools
from collections import Counter

import numpy as np
import pytest

import nocopy as nc

N, B = 37, 3
WORLDS = (1, 2, 3, 4, 8)
IMAGES = np.random.default_rng(5).integers(0, 256, (N, 6, 7, 3), dtype=np.uint8)


def _loader(rank=0, world=1, batch=B, drop_last=False, **kw):
    return nc.Loader(IMAGES, np.arange(N), batch_size=batch, crop=(4, 5), mirror=0.5, seed=9,
                     rank=rank, world_size=world, drop_last=drop_last, output="numpy",
                     num_threads=1, **kw)


def _slots(plans):
    return [(int(i), int(t), int(le), bool(m)) for p in plans
            for i, t, le, m in zip(p.indices, p.top, p.left, p.mirror)]


def _current_plans(loader):
    """The plans of the epoch the loader is in, from its batch 0 (plan(b) until IndexError)."""
    plans = []
    for b in itertools.count():
        try:
            plans.append(loader.plan(b))
        except IndexError:
            return plans


EPOCH = 2
REF = _slots(_loader().plan(b, EPOCH) for b in range(len(_loader())))  # slot g = position g


def _assert_continues(rest, ref, n, pos, w2, drop_last):
    """`rest` (what every rank of a W2 run delivers after resuming at global position `pos`)
    continues the epoch order `ref` of `n` positions; returns the wrap-around pads (none with
    drop_last)."""
    remaining = n - pos
    if drop_last:
        # trimmed to a multiple of w2, then each rank's last partial batch dropped
        kept = remaining // w2 // B * B * w2
        assert Counter(rest) == Counter(ref[pos:pos + kept])
        return Counter()
    # every remaining position once (same sample and crop, or window), plus < w2 pads that
    # wrap around to the start of the epoch's order
    extra = Counter(rest) - Counter(ref[pos:])
    assert not Counter(ref[pos:]) - Counter(rest)
    assert sum(extra.values()) == -(-remaining // w2) * w2 - remaining
    return extra


def _saved(world, batch_index, drop_last, batch=B):
    """rank 0's state_dict after `batch_index` batches of epoch EPOCH at world size `world`."""
    a = _loader(0, world, batch, drop_last)
    a.load_state_dict({**a.state_dict(), "epoch": EPOCH, "batch": batch_index})
    return a.state_dict()


@pytest.mark.parametrize("drop_last", [False, True])
@pytest.mark.parametrize("w1,w2", [(a, b) for a in WORLDS for b in WORLDS if a != b])
def test_continuation_delivers_exactly_the_rest(w1, w2, drop_last):
    assert len(REF) == N and sorted(s[0] for s in REF) == list(range(N))
    n1 = len(_loader(0, w1, drop_last=drop_last))
    for b1 in sorted({0, min(1, n1 - 1), n1 // 2, n1 - 1}):  # saved mid-epoch
        state = _saved(w1, b1, drop_last)
        pos = state["position"]
        assert (state["epoch"], state["batch"], pos) == (EPOCH, b1, min(N, b1 * B * w1))
        # what the W1 ranks consumed: exactly positions [0, pos)
        before = [_loader(r, w1, drop_last=drop_last) for r in range(w1)]
        consumed = _slots(p for ld in before for p in
                          (ld.plan(b, EPOCH) for b in range(b1)))
        assert Counter(consumed) == Counter(REF[:pos])
        # what the W2 ranks deliver after loading rank 0's state
        after = []
        for r in range(w2):
            ld = _loader(r, w2, drop_last=drop_last)
            ld.load_state_dict(state)
            plans = _current_plans(ld)
            # epoch, len() and plan() describe the same epoch, even one with no batch left
            # (drop_last, fewer samples than ranks x batch): its iteration moves on at once
            assert ld.epoch == EPOCH and len(ld) == len(plans)
            after.append(plans)
        assert len({len(p) for p in after}) == 1  # equal batch counts on every rank
        rest = _slots(p for plans in after for p in plans)
        extra = _assert_continues(rest, REF, N, pos, w2, drop_last)
        assert {s[0] for s in extra} <= {s[0] for s in REF[:w2]}  # pads: the first samples


def test_resumed_batches_hold_the_same_bytes_and_the_next_epoch_is_whole():
    # reference bytes: the one-rank loader's epoch, slot g = position g
    one = _loader()
    one.set_epoch(EPOCH)
    ref_images = np.concatenate([x.copy() for x, _ in one])
    state = _saved(3, 2, False)
    assert state["position"] == 18
    for r in range(2):
        ld = _loader(r, 2)
        ld.load_state_dict(state)
        plans = _current_plans(ld)
        batches = [(x.copy(), y.copy()) for x, y in ld]
        assert len(batches) == len(plans) == 4  # 19 samples: 10 per rank (1 padded), 3+3+3+1
        for (x, y), p in zip(batches, plans):
            np.testing.assert_array_equal(y, p.indices)
            for k, slot in enumerate(_slots([p])):
                if slot in REF[18:]:
                    np.testing.assert_array_equal(x[k], ref_images[REF.index(slot)])
        # then a whole ordinary epoch
        assert (ld.state_dict()["epoch"], ld.state_dict()["batch"]) == (EPOCH + 1, 0)
        assert ld.state_dict()["start"] == 0 and ld.state_dict()["position"] == 0
        fresh = _loader(r, 2)
        fresh.set_epoch(EPOCH + 1)
        got = [y.copy() for _, y in ld]
        want = [y.copy() for _, y in fresh]
        assert len(got) == len(want) == len(ld)
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g, w)


def test_batch_size_may_change_with_the_world_size():
    state = _saved(2, 3, False)  # 18 consumed with 2 ranks of batches of 3
    rest = []
    for r in range(4):
        ld = _loader(r, 4, batch=2)
        ld.load_state_dict(state)
        rest += _slots(_current_plans(ld))
    assert not Counter(REF[18:]) - Counter(rest)
    assert len(rest) == 20  # 19 left: 5 per rank, 1 padded


def test_state_of_a_resumed_epoch_resumes_again_identically():
    # the same world size resumes by (epoch, batch, start): byte-identical batches
    state = _saved(3, 2, False)
    a = _loader(1, 2)
    a.load_state_dict(state)
    it = iter(a)
    next(it)
    mid = a.state_dict()
    assert (mid["batch"], mid["start"], mid["position"]) == (1, 18, 24)
    want = [(x.copy(), y.copy()) for x, y in it]
    b = _loader(1, 2)
    b.load_state_dict(mid)
    got = [(x.copy(), y.copy()) for x, y in b]
    assert len(got) == len(want) == 3
    for (gx, gy), (wx, wy) in zip(got, want):
        np.testing.assert_array_equal(gx, wx)
        np.testing.assert_array_equal(gy, wy)
    # and elastically once more: 4 ranks continue at position 24
    c = [_loader(r, 4) for r in range(4)]
    for ld in c:
        ld.load_state_dict(mid)
    rest = _slots(p for ld in c for p in _current_plans(ld))
    assert not Counter(REF[24:]) - Counter(rest) and len(rest) == 16


def test_drop_last_tail_shorter_than_the_world_moves_to_the_next_epoch():
    state = _saved(1, 12, True)  # 36 of 37 consumed: 1 left, fewer than 2 ranks
    ld = _loader(0, 2, drop_last=True)
    ld.load_state_dict(state)
    assert (ld.state_dict()["epoch"], ld.state_dict()["batch"], len(ld)) == (EPOCH, 0, 0)
    delivered = sum(1 for _ in ld)  # the finished epoch gives way to the next, whole one
    assert ld.epoch == EPOCH + 2 and delivered == len(ld) == len(_loader(0, 2, drop_last=True))


def test_elastic_resume_refuses_what_it_cannot_honour():
    state = _saved(2, 1, False)
    with pytest.raises(ValueError, match="seed=9 but this loader has seed=1"):
        nc.Loader(IMAGES, batch_size=B, crop=(4, 5), seed=1, world_size=3).load_state_dict(state)
    old = {k: v for k, v in state.items() if k != "position"}
    with pytest.raises(ValueError, match="has no 'position'"):
        _loader(0, 3).load_state_dict(old)
    with pytest.raises(ValueError, match="start 40 is not in \\[0, 37\\]"):
        _loader(0, 2).load_state_dict({**state, "start": 40})
    with pytest.raises(ValueError, match="start -1 is not in"):
        _loader(0, 3).load_state_dict({**state, "position": -1})
    with pytest.raises(ValueError, match="rank=0 but this loader has rank=1"):
        _loader(1, 2).load_state_dict(state)  # same world size: the rank's own state


# --- SequenceLoader -----------------------------------------------------------------------
# The same contract over windows: the one-rank loader's batch slots are the global positions of
# the epoch in turn (position g: the window numbered g of the shuffled step order, or the
# random start drawn for g), so W1 ranks consume positions [0, position) and W2 ranks resumed
# from any one rank's state deliver exactly positions [position, windows_per_epoch).
DOCS = [np.arange(n, dtype=np.uint16) + 1000 * i for i, n in enumerate((100, 150, 61))]
L = 8


def _seq(rank=0, world=1, batch=B, drop_last=False, step=None):
    return nc.SequenceLoader(DOCS, L, batch, step=step, seed=4, rank=rank, world_size=world,
                             drop_last=drop_last, output="numpy", num_threads=1)


def _windows(plans):
    return [(int(s), int(t)) for p in plans for s, t in zip(p.sources, p.starts)]


def _seq_plans(loader):
    plans = []
    for b in itertools.count():
        try:
            plans.append(loader.plan(b))
        except IndexError:
            return plans


def _seq_ref(step):
    one = _seq(step=step)
    one.set_epoch(EPOCH)
    return _windows(_seq_plans(one))


@pytest.mark.parametrize("step", [None, 5])
@pytest.mark.parametrize("drop_last", [False, True])
@pytest.mark.parametrize("w1,w2", [(a, b) for a in WORLDS for b in WORLDS if a != b])
def test_sequence_continuation_delivers_exactly_the_rest(w1, w2, drop_last, step):
    ref = _seq_ref(step)
    n = _seq(step=step).windows_per_epoch
    assert len(ref) == n
    n1 = len(_seq(0, w1, drop_last=drop_last, step=step))
    for b1 in sorted({0, min(1, n1 - 1), n1 // 2, n1 - 1}):
        saver = _seq(0, w1, drop_last=drop_last, step=step)
        saver.load_state_dict({**saver.state_dict(), "epoch": EPOCH, "batch": b1})
        state = saver.state_dict()
        pos = state["position"]
        assert (state["epoch"], state["batch"], pos) == (EPOCH, b1, min(n, b1 * B * w1))
        consumed = []
        for r in range(w1):
            ld = _seq(r, w1, drop_last=drop_last, step=step)
            ld.load_state_dict({**ld.state_dict(), "epoch": EPOCH, "batch": 0})
            consumed += _windows(_seq_plans(ld)[:b1])
        assert Counter(consumed) == Counter(ref[:pos])
        after = []
        for r in range(w2):
            ld = _seq(r, w2, drop_last=drop_last, step=step)
            ld.load_state_dict(state)
            # epoch, len() and plan() describe the same epoch, even with no batch left
            # (drop_last trimmed the rest)
            left = n - pos if not drop_last else (n - pos) // w2 // B
            assert ld.epoch == EPOCH and (len(ld) > 0) == (left > 0)
            after.append(_seq_plans(ld))
        assert len({len(p) for p in after}) == 1  # equal batch counts on every rank
        rest = _windows(p for plans in after for p in plans)
        extra = _assert_continues(rest, ref, n, pos, w2, drop_last)
        assert not extra - Counter(ref[:w2])  # pads wrap around to the first positions


def test_sequence_resumed_batches_hold_the_windows_bytes_and_the_next_epoch_is_whole():
    saver = _seq(0, 3)
    saver.load_state_dict({**saver.state_dict(), "epoch": EPOCH, "batch": 2})
    state = saver.state_dict()
    assert (state["start"], state["position"]) == (0, 18)
    for r in range(2):
        ld = _seq(r, 2)
        ld.load_state_dict(state)
        plans = _seq_plans(ld)
        assert ld.state_dict()["start"] == 18 and len(ld) == len(plans) < len(_seq(r, 2))
        batches = [(x.copy(), y.copy()) for x, y in ld]
        assert len(batches) == len(plans) >= 1
        for (x, y), p in zip(batches, plans):
            for k, (s, t) in enumerate(zip(p.sources, p.starts)):
                np.testing.assert_array_equal(x[k], DOCS[s][t:t + L])
                np.testing.assert_array_equal(y[k], DOCS[s][t + 1:t + 1 + L])
        after = ld.state_dict()
        assert (after["epoch"], after["batch"], after["start"], after["position"]) == \
            (EPOCH + 1, 0, 0, 0)
        fresh = _seq(r, 2)
        fresh.set_epoch(EPOCH + 1)
        got = [x.copy() for x, _ in ld]
        want = [x.copy() for x, _ in fresh]
        assert len(got) == len(want) == len(ld)
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g, w)


def test_sequence_state_of_a_resumed_epoch_resumes_again_identically_and_refusals():
    saver = _seq(0, 3)
    saver.load_state_dict({**saver.state_dict(), "epoch": EPOCH, "batch": 2})
    a = _seq(1, 2)
    a.load_state_dict(saver.state_dict())
    it = iter(a)
    next(it)
    mid = a.state_dict()
    assert (mid["batch"], mid["start"], mid["position"]) == (1, 18, 24)
    want = [x.copy() for x, _ in it]
    b = _seq(1, 2)
    b.load_state_dict(mid)
    got = [x.copy() for x, _ in b]
    assert len(got) == len(want) >= 1
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)
    with pytest.raises(ValueError, match="seed=4 but this loader has seed=1"):
        nc.SequenceLoader(DOCS, L, B, seed=1, world_size=2, output="numpy").load_state_dict(mid)
    with pytest.raises(ValueError, match="seq_len=8 but this loader has seq_len=9"):
        nc.SequenceLoader(DOCS, 9, B, seed=4, world_size=3, output="numpy").load_state_dict(mid)
    old = {k: v for k, v in mid.items() if k != "position"}
    with pytest.raises(ValueError, match="has no 'position'"):
        _seq(0, 3).load_state_dict(old)
    n = _seq().windows_per_epoch
    with pytest.raises(ValueError, match=f"start {n + 1} is not in \\[0, {n}\\]"):
        _seq(0, 3).load_state_dict({**mid, "position": n + 1})
    with pytest.raises(ValueError, match="rank=1 but this loader has rank=0"):
        _seq(0, 2).load_state_dict(mid)  # same world size: the rank's own state
