"""nc.Loader under adversarial use: forked children (nc.SequenceLoader's too), huge epochs and
integers, batch sizes above the data, normalizations that overflow the output dtype, worker
failures as nc.LoaderError, and plan(i) / state_dict() around the end of an epoch."""

import subprocess
import sys

import numpy as np
import pytest

import nocopy as nc


def _images(n=20, h=12, w=12, c=3, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, h, w, c), dtype=np.uint8)


def _loader(**kwargs):
    args = dict(batch_size=4, crop=(8, 8), output="numpy", num_threads=2)
    args.update(kwargs)
    return nc.Loader(_images(), np.arange(20), **args)


# --- a forked child holding a Loader -----------------------------------------------------------

FORK_CHILD = """
import os, sys, time, numpy as np, nocopy as nc
how, kind = sys.argv[1], sys.argv[2]
if kind == "images":
    L = nc.Loader(np.zeros((64, 32, 32, 3), np.uint8), batch_size=8, crop=(16, 16),
                  output="view", num_threads=2, prefetch=4)
    shape = (8, 3, 16, 16)
else:
    L = nc.SequenceLoader(np.arange(100_000, dtype=np.int32), 64, 8, output="view",
                          num_threads=2, prefetch=4)
    shape = (8, 64)
L.next_batch()  # workers started, batches in flight
pid = os.fork()
if pid == 0:
    if how == "close":
        L.close()
        os._exit(0)
    if how == "del":
        del L
        import gc
        gc.collect()
        os._exit(0)
    sys.exit(0)  # interpreter exit destroys the loader
deadline = time.monotonic() + 20
while time.monotonic() < deadline:
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        print("exit", os.waitstatus_to_exitcode(status))
        break
    time.sleep(0.05)
else:
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    print("hang")
batch = L.next_batch()  # the parent's loader still works
assert (batch if kind == "images" else batch[0]).shape == shape
"""


@pytest.mark.parametrize("kind", ["images", "sequence"])
@pytest.mark.parametrize("how", ["exit", "close", "del"])
def test_forked_child_exits_closes_and_deletes_without_hanging(how, kind):
    # A clean interpreter forks (this test process may hold JAX/TF threads). The sequence
    # loader once hung here (pthread_cond_destroy in its destructor) or aborted (a join).
    out = subprocess.run([sys.executable, "-c", FORK_CHILD, how, kind], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "exit 0", out.stdout + out.stderr[-2000:]


# --- epochs and counters are bounded ----------------------------------------------------------

def test_set_epoch_beyond_the_limit_is_a_clear_error():
    loader = _loader()
    with pytest.raises(ValueError, match=r"epoch 9223372036854775807 is not in \[0, 4611686018"):
        loader.set_epoch(2**63 - 1)
    with pytest.raises(OverflowError, match="epoch 9223372036854775808"):
        loader.set_epoch(2**63)
    with pytest.raises(ValueError, match="epoch -1"):
        loader.set_epoch(-1)
    with pytest.raises(ValueError, match="state epoch 9223372036854775807 is not in"):
        loader.load_state_dict({**loader.state_dict(), "epoch": 2**63 - 1})
    assert loader.epoch == 0 and len(list(loader)) == 5  # still usable


def test_the_last_epoch_ends_with_an_error_not_a_crash():
    loader = _loader()
    last = 2**62 - 1
    loader.set_epoch(last)
    batches = list(loader)
    assert len(batches) == 5
    for _ in range(2):  # moving past the last epoch is refused, every time, without damage
        with pytest.raises(ValueError, match="is not in"):
            loader.next_batch()
    loader.set_epoch(0)
    assert len(list(loader)) == 5


# --- batch_size above the samples per rank ----------------------------------------------------

def test_buffers_are_sized_by_the_largest_batch_that_can_occur():
    images = np.zeros((20, 224, 224, 3), np.uint8)
    loader = nc.Loader(images, batch_size=100_000, crop=(224, 224), output="view")
    sample = 3 * 224 * 224 * 4
    assert loader._core.buffer_bytes == 20 * sample  # not 100_000 samples (60 GB)
    assert len(loader) == 1
    assert next(iter(loader)).shape == (20, 3, 224, 224)
    sharded = nc.Loader(images, batch_size=5000, crop=(224, 224), output="view", world_size=3,
                        rank=1)
    assert sharded._core.buffer_bytes == 7 * sample  # ceil(20 / 3) samples per rank


def test_drop_last_with_no_batch_at_all_is_a_value_error():
    with pytest.raises(ValueError, match="drop_last leaves no batch: 20 samples over world_size "
                                         "1 give 20 samples per rank, fewer than batch_size 100"):
        _loader(batch_size=100, drop_last=True)
    with pytest.raises(ValueError, match="drop_last leaves no batch"):
        _loader(batch_size=1, world_size=32, drop_last=True)


# --- normalization must stay finite -----------------------------------------------------------

@pytest.mark.parametrize("kwargs,value", [
    (dict(std=1e-40), "std\\[0\\] = 1e-40"),
    (dict(std=1e-300), "std\\[0\\] = 1e-300"),
    (dict(mean=1e39), "mean\\[0\\] = 1e\\+39"),
    (dict(scale=1e39), "scale = 1e\\+39"),
    (dict(std=[1, 1, 1e-40]), "channel 2 .*std\\[2\\] = 1e-40"),
])
def test_normalization_overflowing_float32_is_refused(kwargs, value):
    with pytest.raises(ValueError, match=f"normalization overflows float32 .*{value}"):
        _loader(**kwargs)


def test_normalization_is_checked_in_the_output_dtype():
    with pytest.raises(ValueError, match=r"overflows float16 .*outputs reach 255000 for uint8 images"
                                         r" up to 255 \(largest finite float16: 65504\)"):
        _loader(dtype="float16", scale=1.0, std=0.001)
    x, _ = next(iter(_loader(dtype="float16", scale=1.0, std=0.004)))  # 63750: finite
    assert np.isfinite(x.astype(np.float32)).all()
    floats = nc.Loader(_images().astype(np.float32), batch_size=4, crop=(8, 8), output="numpy",
                       scale=1e30)  # float sources: only the coefficients are bounded
    assert next(iter(floats)).dtype == np.float32


# --- integers beyond int64 -------------------------------------------------------------------

@pytest.mark.parametrize("kwargs,name", [
    (dict(crop=2**63), "crop"), (dict(crop=(2**63, 8)), "crop height"),
    (dict(crop=(8, 2**64)), "crop width"), (dict(batch_size=2**63), "batch_size"),
    (dict(prefetch=2**63), "prefetch"), (dict(world_size=2**63), "world_size"),
    (dict(rank=-2**63 - 1), "rank"), (dict(num_threads=2**70), "num_threads"),
    (dict(seed=2**64), "seed"),
])
def test_huge_integer_options_are_overflow_errors_naming_the_argument(kwargs, name):
    with pytest.raises(OverflowError, match=f"^{name} "):
        _loader(**kwargs)


def test_huge_integer_positions_are_overflow_errors_naming_the_argument():
    loader = _loader()
    with pytest.raises(OverflowError, match="^epoch "):
        loader.set_epoch(2**64)
    with pytest.raises(OverflowError, match="^batch "):
        loader.plan(2**63)
    with pytest.raises(OverflowError, match="^epoch "):
        loader.plan(0, epoch=2**63)
    with pytest.raises(OverflowError, match="^batch "):
        loader.load_state_dict({**loader.state_dict(), "batch": 2**63})


@pytest.mark.parametrize("kwargs,match", [
    (dict(shuffle=1), "shuffle must be a bool"), (dict(drop_last="yes"), "drop_last must be a bool"),
    (dict(mirror=True), "mirror must be a number"), (dict(scale="1"), "scale must be a number"),
    (dict(mean="abc"), "mean must be None, a number or a sequence"),
    (dict(crop=(8, 8, 8)), "crop must be None, an int or a"), (dict(crop_mode=1), "crop_mode must be a str"),
    (dict(num_threads=1.0), "num_threads must be an integer"),
])
def test_wrong_types_are_type_errors_naming_the_argument(kwargs, match):
    with pytest.raises(TypeError, match=match):
        _loader(**kwargs)


# --- plan(i) and state_dict() around the end of an epoch --------------------------------------

def _reference_batch(images, plan, crop=8):
    out = []
    for i, t, l, m in zip(plan.indices, plan.top, plan.left, plan.mirror):
        x = images[i, t:t + crop, l:l + crop]
        out.append((x[:, ::-1] if m else x).transpose(2, 0, 1))
    return np.stack(out)


def test_plan_right_after_a_batch_describes_that_batch_even_the_last():
    images = _images()
    loader = nc.Loader(images, np.arange(20), batch_size=6, crop=(8, 8), output="numpy",
                       dtype="uint8", seed=3)
    for epoch in range(2):
        for i, (x, y) in enumerate(loader):
            plan = loader.plan(i)
            np.testing.assert_array_equal(y, plan.indices)
            np.testing.assert_array_equal(x, _reference_batch(images, plan))
        assert loader.plan(3).indices.shape == (2,)  # still the epoch just delivered
        assert loader.epoch == epoch + 1  # ... and the next batch starts the next one


def test_plan_of_any_epoch_matches_what_that_epoch_delivers():
    images = _images()
    loader = nc.Loader(images, np.arange(20), batch_size=6, crop=(8, 8), output="numpy",
                       dtype="uint8", seed=5)
    ahead = [loader.plan(i, epoch=7) for i in range(4)]
    past = loader.plan(1, epoch=0)
    loader.set_epoch(7)
    for i, (x, y) in enumerate(loader):
        np.testing.assert_array_equal(y, ahead[i].indices)
        np.testing.assert_array_equal(x, _reference_batch(images, ahead[i]))
    np.testing.assert_array_equal(loader.plan(1, epoch=0).indices, past.indices)
    assert not np.array_equal(loader.plan(0, epoch=8).indices, ahead[0].indices)
    with pytest.raises(IndexError):
        loader.plan(4, epoch=3)


def test_state_dict_after_the_last_batch_resumes_at_the_next_epoch_start():
    images = _images()
    a = nc.Loader(images, np.arange(20), batch_size=6, crop=(8, 8), output="numpy", seed=1)
    list(a)
    state = a.state_dict()
    assert (state["epoch"], state["batch"]) == (1, 0)
    want = [y.copy() for _, y in a]  # epoch 1
    b = nc.Loader(images, np.arange(20), batch_size=6, crop=(8, 8), output="numpy", seed=1)
    b.load_state_dict(state)
    got = [y.copy() for _, y in b]
    assert len(got) == 4
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)


# --- worker failures reach the loop as nc.LoaderError -----------------------------------------

def test_worker_failure_is_a_loader_error_with_sample_batch_and_epoch():
    assert issubclass(nc.LoaderError, RuntimeError)
    loader = _loader(shuffle=False)
    loader._core._inject_fault(13)  # batch 3 (samples 12..15) of every epoch
    loader.set_epoch(2)
    it = iter(loader)
    for _ in range(3):
        next(it)
    with pytest.raises(nc.LoaderError, match=r"failed on sample 13 \(batch 3 of epoch 2\)") as info:
        next(it)
    assert (info.value.sample, info.value.batch, info.value.epoch) == (13, 3, 2)
    with pytest.raises(RuntimeError):  # a retry fails the same way, caught as RuntimeError too
        loader.next_batch()
    loader._core._inject_fault(-1)
    assert loader.state_dict()["batch"] == 3 and loader.next_batch()[0].shape == (4, 3, 8, 8)


def test_numbers_refuse_bools_of_either_kind_and_say_overflow():
    # double_arg: a NumPy bool is a bool (TypeError, as True is), and an int too large for a
    # double is an OverflowError naming the argument, not a TypeError.
    for value in (True, np.bool_(True)):
        with pytest.raises(TypeError, match="mirror must be a number"):
            _loader(mirror=value)
    for name in ("std", "scale", "mean"):
        with pytest.raises(OverflowError, match=f"{name} 1000.* is too large for a float"):
            _loader(**{name: 10**400})
