"""What every loader gets from the one batch engine, checked on both loaders: the epoch rule
(epoch, len(), plan() and state_dict() describe the same epoch), checkpoints that name their
kind and configuration, several threads sharing one epoch, the same errors and limits, on_error
for sequences, allocators that would write over the data, statistics, and the options declared
once in C++ (the Python signatures and docstrings cannot drift from them)."""

from __future__ import annotations

import ast
import inspect
import threading

import numpy as np
import pytest

import nocopy as nc

IMAGES = np.arange(37 * 6 * 7 * 3, dtype=np.uint8).reshape(37, 6, 7, 3)
TOKENS = (np.arange(5000) % 1000).astype(np.uint16)


def _images(**kw):
    kw = {"batch_size": 4, "crop": (4, 5), "seed": 3, "output": "numpy", **kw}
    return nc.Loader(IMAGES, np.arange(37), **kw)


def _tokens(**kw):
    kw = {"seed": 3, "output": "numpy", **kw}
    return nc.SequenceLoader(TOKENS, kw.pop("seq_len", 16), kw.pop("batch_size", 8), **kw)


LOADERS = {"images": _images, "tokens": _tokens}


def _first(batch):
    return batch[0] if isinstance(batch, tuple) else batch


def _plan_key(plan):
    return tuple(tuple(np.asarray(a).tolist()) for a in plan if a is not None)


@pytest.mark.parametrize("make", LOADERS.values(), ids=LOADERS)
def test_plans_in_the_loop_describe_each_batch_and_after_it_the_next_epoch(make):
    ld = make()
    for epoch in range(2):
        before = [_plan_key(ld.plan(i)) for i in range(len(ld))]  # the epoch about to run
        assert ld.epoch == epoch
        seen = []
        for i, b in enumerate(ld):
            seen.append(_plan_key(ld.plan(i)))  # the batch just delivered, the last included
            assert ld.epoch == epoch
        assert seen == before
        assert ld.epoch == epoch + 1 and ld.state_dict()["batch"] == 0  # the pass moved on
        assert [_plan_key(ld.plan(i, epoch=epoch)) for i in range(len(seen))] == seen


def test_after_an_elastic_resume_epoch_len_plan_and_state_describe_the_same_epoch():
    # A state taken with world size 2 loaded with 3: the resumed epoch is the rest of epoch 3.
    saver = _images(world_size=2)
    saver.set_epoch(3)
    next(iter(saver))
    state = saver.state_dict()
    ld = _images(world_size=3)
    ld.load_state_dict(state)
    assert ld.epoch == 3 and len(ld) < len(_images(world_size=3))
    resumed = [ld.plan(i) for i in range(len(ld))]
    with pytest.raises(IndexError):
        ld.plan(len(ld))
    got = list(ld)
    assert len(got) == len(resumed)
    # Iterated: everything now describes epoch 4, a whole one.
    whole = len(_images(world_size=3))
    assert (ld.epoch, len(ld), ld.state_dict()["epoch"]) == (4, whole, 4)
    ld.plan(whole - 1)  # every batch of epoch 4 can be planned
    with pytest.raises(IndexError):
        ld.plan(whole)


@pytest.mark.parametrize("make", LOADERS.values(), ids=LOADERS)
def test_streaming_crosses_epochs_and_set_epoch_of_the_next_keeps_the_same_batches(make):
    a, b = make(), make()
    n = len(a)
    stream = [_first(a.next_batch()).copy() for _ in range(n + 2)]
    for _ in range(n):
        b.next_batch()
    assert b.epoch == 0 and b.state_dict()["batch"] == n  # the end of epoch 0 ...
    b.set_epoch(1)  # ... and the start of epoch 1 are the same position
    for want in stream[n:]:
        np.testing.assert_array_equal(_first(b.next_batch()), want)


def test_a_state_of_another_kind_or_incomplete_is_refused_naming_what_differs():
    images, tokens = _images(), _tokens()
    with pytest.raises(ValueError, match="is a SequenceLoader state, not a Loader state"):
        images.load_state_dict(tokens.state_dict())
    with pytest.raises(ValueError, match="is a Loader state, not a SequenceLoader state"):
        tokens.load_state_dict(images.state_dict())
    with pytest.raises(ValueError, match="has no 'kind'"):
        images.load_state_dict({"epoch": 0, "batch": 3})
    state = images.state_dict()
    for key in ("seed", "shuffle", "num_samples", "drop_last", "epoch", "position"):
        partial = {k: v for k, v in state.items() if k != key}
        with pytest.raises(ValueError, match=f"has no '{key}'"):
            images.load_state_dict(partial)
    with pytest.raises(ValueError, match="'seq_len' that a Loader state does not have"):
        images.load_state_dict({**state, "seq_len": 16})
    with pytest.raises(ValueError, match="saved with shuffle=False but this loader has shuffle=True"):
        images.load_state_dict({**state, "shuffle": False})
    with pytest.raises(ValueError, match="saved with seed='three' but this loader has seed=3"):
        images.load_state_dict({**state, "seed": "three"})
    with pytest.raises(ValueError, match="'seed' is \\[3\\], not a value this loader can have"):
        images.load_state_dict({**state, "seed": [3]})
    tokens_state = tokens.state_dict()
    assert tokens_state["step"] is None and tokens_state["targets"] == "next"
    with pytest.raises(ValueError, match="saved with step=5 but this loader has step=None"):
        tokens.load_state_dict({**tokens_state, "step": 5})
    with pytest.raises(TypeError):
        images.load_state_dict([("epoch", 0)])
    images.load_state_dict(state)  # its own state is fine


@pytest.mark.parametrize("make", LOADERS.values(), ids=LOADERS)
def test_threads_iterating_one_loader_share_its_epoch(make):
    ld = make(num_threads=2)
    n = len(ld)
    got, lock = [], threading.Lock()
    started = threading.Barrier(3, timeout=60)

    def run():
        it = iter(ld)
        first = next(it)  # every thread is inside the epoch before any goes on
        with lock:
            got.append(_first(first).copy())
        started.wait()
        for b in it:
            with lock:
                got.append(_first(b).copy())

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert len(got) == n  # one epoch in all, each batch once
    ref = [_first(b).copy() for b in make(num_threads=2)]
    assert sorted(x.tobytes() for x in got) == sorted(x.tobytes() for x in ref)
    assert ld.epoch == 1
    # An iteration started once the epoch is over covers the next one.
    assert len(list(ld)) == n and ld.epoch == 2


def test_a_sequence_loader_with_no_batch_is_refused_like_the_image_loader():
    with pytest.raises(ValueError, match="drop_last leaves no batch: .* windows over world_size 1"):
        _tokens(seq_len=16, batch_size=10_000)
    with pytest.raises(ValueError, match="drop_last leaves no batch: .* samples over world_size 1"):
        _images(batch_size=100, drop_last=True)


def test_a_step_near_the_int64_limit_takes_each_documents_first_window():
    docs = [np.arange(n, dtype=np.uint16) for n in (100, 9, 9)]
    for step in (2**62, 2**63 - 1):
        ld = nc.SequenceLoader(docs, 8, 1, step=step, output="numpy", shuffle=False)
        assert ld.windows_per_epoch == 3
        windows = [(int(p.sources[0]), int(p.starts[0])) for p in map(ld.plan, range(3))]
        assert windows == [(0, 0), (1, 0), (2, 0)]


@pytest.mark.parametrize("make", LOADERS.values(), ids=LOADERS)
def test_an_allocator_returning_the_loaders_own_data_is_refused(make):
    data = IMAGES if make is _images else TOKENS
    base = np.asarray(data).reshape(-1).view(np.uint8)

    def inside(nbytes):  # 64-byte aligned memory inside the loader's own source
        start = -base.__array_interface__["data"][0] % 64
        return base[start:start + nbytes]

    ld = make(allocator=inside)
    before = np.asarray(data).copy()
    with pytest.raises(ValueError, match="overlaps the data this .* reads"):
        ld.next_batch()
    np.testing.assert_array_equal(np.asarray(data), before)  # nothing was written over


def test_a_token_that_does_not_fit_is_a_loader_error_and_an_overflow_error():
    big = np.full(1000, 70000, np.uint32)
    ld = nc.SequenceLoader([np.arange(100, dtype=np.uint32), big], 8, 4, dtype="int16",
                           output="numpy", seed=1)
    with pytest.raises(OverflowError, match="does not fit in dtype int16") as info:
        list(ld)
    err = info.value
    assert isinstance(err, nc.LoaderError) and err.sample == 1
    assert isinstance(err.__cause__, OverflowError)


def test_sequence_loaders_substitute_failing_windows_with_on_error_skip():
    bad = np.full(400, 70000, np.uint32)
    good = np.arange(400, dtype=np.uint32)
    ld = nc.SequenceLoader([good, bad], 8, 6, dtype="int16", on_error="skip", output="numpy",
                           seed=2)
    for i, (x, y) in enumerate(ld):
        plan = ld.plan(i)
        for k, (s, t) in enumerate(zip(plan.sources, plan.starts)):
            if s == 0:
                np.testing.assert_array_equal(x[k], good[t:t + 8])
            else:  # the copy of a window of the good sequence
                assert (x[k] < 400).all()
    assert ld.num_skipped > 0 and ld.skipped_samples == [1]


@pytest.mark.parametrize("make", LOADERS.values(), ids=LOADERS)
def test_stats_say_what_was_delivered_and_which_side_waits(make):
    ld = make()
    batches = list(ld)
    s = ld.stats()
    assert s["batches"] == len(batches) and s["samples"] == sum(len(_first(b)) for b in batches)
    assert set(s["stage_s"]) == {"read", "decode", "kernel"}
    assert len(s["workers"]) == ld.num_threads
    assert sum(w["samples"] for w in s["workers"]) >= s["samples"]
    assert 0 <= s["consumer_wait_s"] <= s["elapsed_s"]
    assert s["verdict"].startswith(("input-bound", "consumer-bound"))


@pytest.mark.parametrize("cls,name,python_only", [
    # transforms and batch_transforms are pipelines (compiled by the core), not option rows.
    (nc.Loader, "Loader", {"images", "labels", "output", "pin_memory", "transforms",
                           "batch_transforms"}),
    (nc.SequenceLoader, "SequenceLoader", {"data", "output", "pin_memory"}),
    (nc.VideoLoader, "VideoLoader", {"videos", "labels", "output", "pin_memory", "transforms"}),
])
def test_python_signatures_and_docstrings_follow_the_cpp_option_declarations(cls, name,
                                                                             python_only):
    specs = {n: (default, doc) for n, _kind, default, doc in nc._nocopy._option_specs(name)}
    params = inspect.signature(cls.__init__).parameters
    declared = {p for p in params if p != "self"} - python_only
    assert declared == set(specs), "Python and C++ options differ"
    for p, (default, doc) in specs.items():
        param = params[p]
        if param.default is inspect.Parameter.empty:
            continue  # required in Python (seq_len, batch_size of SequenceLoader)
        assert ast.literal_eval(default) == param.default, p
        assert f"``{p}={default}``" in cls.__doc__ and doc.split()[0] in cls.__doc__
