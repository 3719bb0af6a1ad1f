"""transforms.Lambda, the escape hatch: a Python function per sample in the loader's worker
threads, on a writable view of the sample; errors fail the sample; nothing hangs when the loader
is closed, collected or left open at exit while workers wait for the GIL."""

import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import nocopy as nc
import nocopy.transforms as T

IMAGES = np.random.default_rng(3).integers(0, 256, (24, 20, 18, 3), np.uint8)


def test_a_function_changes_the_sample_in_place_or_returns_a_new_one():
    def invert(a):
        a[...] = 255 - a

    loader = nc.Loader(IMAGES, batch_size=8, shuffle=False, layout="HWC", output="numpy",
                       transforms=[T.CenterCrop(10), T.Lambda(invert),
                                   T.Lambda(lambda a: np.ascontiguousarray(a[::-1]))])
    x = next(iter(loader))
    np.testing.assert_array_equal(x, (255 - IMAGES[:8, 5:15, 4:14])[:, ::-1])


def test_lambda_runs_in_order_with_the_colour_transforms_and_before_the_output():
    loader = nc.Loader(IMAGES, batch_size=4, shuffle=False, output="numpy",
                       transforms=[T.Lambda(lambda a: np.full_like(a, 100)),
                                   T.RandomInvert(p=1.0), T.ToDtype("float32", scale=True)])
    x = next(iter(loader))
    np.testing.assert_allclose(x, np.float32(155) * np.float32(1 / 255), rtol=1e-6)


@pytest.mark.parametrize("fn, cause, match", [
    (lambda a: (_ for _ in ()).throw(KeyError("boom")), RuntimeError, "boom"),
    (lambda a: (_ for _ in ()).throw(ValueError("bad sample")), ValueError, "bad sample"),
    (lambda a: np.zeros((3, 3, 3), np.uint8), ValueError, "of the sample's shape"),
    (lambda a: a.astype(np.float32), ValueError, "uint8"),
    (lambda a: KEPT.append(a[..., 0]), ValueError, "kept a reference"),
])
def test_errors_in_the_function_fail_the_sample(fn, cause, match):
    loader = nc.Loader(IMAGES, batch_size=4, output="numpy", transforms=[T.Lambda(fn)])
    with pytest.raises(nc.LoaderError, match=match) as info:
        next(iter(loader))
    assert isinstance(info.value.__cause__, cause) and isinstance(info.value, cause)


KEPT: list = []


def test_on_error_skip_substitutes_the_failing_samples():
    bad = {int(v) for v in IMAGES[:, 0, 0, 0] if v % 3 == 0}

    def picky(a):
        if int(a[0, 0, 0]) in bad:
            raise ValueError("picky")

    loader = nc.Loader(IMAGES, batch_size=6, output="numpy", layout="HWC", shuffle=False,
                       on_error="skip", transforms=[T.Lambda(picky)])
    batches = list(loader)
    assert loader.num_skipped > 0
    for x in batches:
        assert all(int(v) not in bad for v in x[:, 0, 0, 0])


def test_from_torchvision_runs_what_it_cannot_fuse_as_python():
    tv = pytest.importorskip("torchvision.transforms.v2")
    theirs = tv.Compose([tv.CenterCrop(12), tv.Lambda(lambda x: 255 - x)])
    with pytest.raises(ValueError, match="Lambda cannot be fused.*fallback='python'"):
        T.from_torchvision(theirs)
    ours = T.from_torchvision(theirs, fallback="python")
    loader = nc.Loader(IMAGES, batch_size=8, shuffle=False, layout="HWC", output="numpy",
                       transforms=ours)
    np.testing.assert_array_equal(next(iter(loader)), 255 - IMAGES[:8, 4:16, 3:15])
    with pytest.raises(ValueError, match="fallback must be"):
        T.from_torchvision(theirs, fallback="skip")
    with pytest.raises(TypeError, match="callable"):
        T.Lambda(3)


def _slow(a):
    time.sleep(0.002)
    a += 1


@pytest.mark.parametrize("how", ["close", "del", "exit-iter"])
def test_closing_while_workers_wait_for_the_gil_does_not_hang(how):
    loader = nc.Loader(IMAGES, batch_size=8, output="numpy", prefetch=4, num_threads=2,
                       transforms=[T.Lambda(_slow)])
    it = iter(loader)
    next(it)
    if how == "close":
        loader.close()
    elif how == "del":
        del it, loader
    else:
        it.close()
        loader.close()


def test_an_open_loader_at_exit_does_not_hang():
    code = textwrap.dedent("""
        import time, numpy as np, nocopy as nc, nocopy.transforms as T
        def slow(a):
            time.sleep(0.002)
        images = np.zeros((64, 8, 8, 3), np.uint8)
        loader = nc.Loader(images, batch_size=8, prefetch=8, transforms=[T.Lambda(slow)],
                           output="numpy")
        it = iter(loader)
        next(it)
        print("ok", flush=True)
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
