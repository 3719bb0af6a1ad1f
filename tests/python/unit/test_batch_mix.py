"""MixUp, CutMix, soft labels and the Beta sampler against torchvision.transforms.v2.

torchvision's MixUp and CutMix run with their random draws fixed (lam, and CutMix's centre) to
the values given to nocopy's kernels; images must then agree bit for bit (0 ulp) in float32,
float16 and bfloat16, soft labels exactly. The Beta draws are compared with NumPy's Beta
sampler by the two-sample Kolmogorov-Smirnov statistic.
"""

import math

import numpy as np
import pytest
import torch
from torchvision.transforms import v2

from nocopy import _nocopy

DTYPES = [torch.float32, torch.float16, torch.bfloat16]
SHAPES = [(1, 3, 7, 5), (2, 1, 4, 4), (5, 3, 9, 13), (3, 3, 50, 50)]  # the last: several pieces
LAMS = [0.0, 1.0, 0.5, 0.37, 0.999, 1e-6]


def random_batch(shape, dtype, seed=0):
    g = torch.Generator().manual_seed(seed)
    if dtype == torch.uint8:
        return torch.randint(0, 256, shape, dtype=torch.uint8, generator=g)
    return (torch.rand(shape, generator=g) * 255.0 - 20.0).to(dtype)


def random_labels(n, num_classes, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, num_classes, (n,), generator=g)


def tv_mixup(images, labels, num_classes, lam):
    """torchvision's MixUp with lam fixed."""
    t = v2.MixUp(num_classes=num_classes)
    t.make_params = lambda flat_inputs: dict(lam=lam)
    return t(images, labels)


def tv_cutmix(images, labels, num_classes, lam, ux, uy, monkeypatch):
    """torchvision's CutMix with its Beta draw fixed to lam and its centre to (ux, uy): the
    parameters it computes, and its output."""
    t = v2.CutMix(num_classes=num_classes)

    class FixedBeta:
        def sample(self, shape):
            return torch.tensor([lam], dtype=torch.float64)

    t._dist = FixedBeta()
    draws = iter([torch.tensor([ux]), torch.tensor([uy])])
    with monkeypatch.context() as m:
        m.setattr(torch, "randint", lambda *a, **k: next(draws))
        params = t.make_params([images])
    t.make_params = lambda flat_inputs: params
    out, soft = t(images, labels)
    return params, out, soft


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("lam", LAMS)
def test_mixup_matches_torchvision_exactly(dtype, shape, lam):
    images = random_batch(shape, dtype)
    labels = random_labels(shape[0], 10)
    ref, ref_soft = tv_mixup(images.clone(), labels, 10, lam)
    ours = images.clone()
    _nocopy._mixup(ours, lam)
    assert torch.equal(ours, ref)
    soft = torch.from_numpy(np.asarray(_nocopy._mix_labels(labels.numpy(), 10, lam)))
    assert soft.dtype == ref_soft.dtype == torch.float32
    assert torch.equal(soft, ref_soft)


def test_mixup_float32_draw_of_torchvision():
    # torchvision's lam is a float32 Beta draw widened to a double; any such value works too.
    images = random_batch((4, 3, 6, 7), torch.float32, seed=3)
    for lam in torch.distributions.Beta(0.4, 0.4).sample((20,)).tolist():
        ref, _ = tv_mixup(images.clone(), torch.arange(4), 4, lam)
        ours = images.clone()
        _nocopy._mixup(ours, lam)
        assert torch.equal(ours, ref)


@pytest.mark.parametrize("shape", SHAPES[:3])
@pytest.mark.parametrize("lam", LAMS)
def test_mixup_uint8_rounds_the_float32_result(shape, lam):
    # torchvision's MixUp refuses uint8 (its in-place float multiply cannot store bytes); nocopy
    # mixes the bytes as float32 exactly as torchvision mixes a float32 batch, then rounds to
    # nearest, ties to even.
    images = random_batch(shape, torch.uint8)
    with pytest.raises(RuntimeError):
        tv_mixup(images.clone(), torch.zeros(shape[0], dtype=torch.int64), 2, lam)
    ref, _ = tv_mixup(images.float(), torch.zeros(shape[0], dtype=torch.int64), 2, lam)
    ref = torch.round(ref).clamp(0, 255).to(torch.uint8)
    ours = images.clone()
    _nocopy._mixup(ours, lam)
    assert torch.equal(ours, ref)


def test_mixup_any_trailing_shape_and_numpy():
    # A (N, D) NumPy batch mixes like torchvision's (N, 1, 1, D) tensor.
    x = np.random.default_rng(0).random((3, 11), dtype=np.float32)
    ref, _ = tv_mixup(torch.from_numpy(x.reshape(3, 1, 1, 11).copy()), torch.arange(3), 3, 0.25)
    _nocopy._mixup(x, 0.25)
    assert np.array_equal(x, ref.numpy().reshape(3, 11))
    empty = np.zeros((0, 3, 2, 2), np.float32)
    _nocopy._mixup(empty, 0.5)  # nothing to mix


CUTMIX_CASES = [  # (N, C, H, W, lam, ux, uy)
    (4, 3, 32, 32, 0.5, 5, 30),
    (3, 1, 7, 5, 0.2, 0, 0),
    (3, 3, 7, 5, 0.2, 4, 6),
    (2, 3, 9, 13, 0.0, 6, 4),  # lam 0: the box is as large as it gets
    (5, 1, 9, 13, 1.0, 3, 3),  # lam 1: empty box, lam_adjusted 1
    (1, 3, 8, 8, 0.3, 2, 5),  # one sample: its own box
    (3, 3, 50, 50, 0.01, 25, 25),
]


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32, torch.float16])
@pytest.mark.parametrize("case", CUTMIX_CASES)
def test_cutmix_matches_torchvision_exactly(dtype, case, monkeypatch):
    n, c, h, w, lam, ux, uy = case
    images = random_batch((n, c, h, w), dtype, seed=5)
    labels = random_labels(n, 7)
    params, ref, ref_soft = tv_cutmix(images.clone(), labels, 7, lam, ux, uy, monkeypatch)
    y1, y2, x1, x2, lam_adj = _nocopy._cutmix_box(h, w, lam, ux, uy)
    assert (x1, y1, x2, y2) == params["box"]
    assert lam_adj == params["lam_adjusted"]
    ours = images.clone()
    _nocopy._cutmix(ours, "CHW", y1, y2, x1, x2)
    assert torch.equal(ours, ref)
    # HWC: the same pixels, channels last.
    hwc = images.permute(0, 2, 3, 1).contiguous()
    _nocopy._cutmix(hwc, "HWC", y1, y2, x1, x2)
    assert torch.equal(hwc, ref.permute(0, 2, 3, 1))
    soft = torch.from_numpy(np.asarray(_nocopy._mix_labels(labels.numpy(), 7, lam_adj)))
    assert torch.equal(soft, ref_soft)


def test_cutmix_box_matches_torchvision_on_many_draws(monkeypatch):
    rng = np.random.default_rng(11)
    for _ in range(300):
        h, w = (int(v) for v in rng.integers(1, 70, 2))
        lam = float(np.float32(rng.beta(0.5, 0.5)))
        ux, uy = int(rng.integers(0, w)), int(rng.integers(0, h))
        images = torch.zeros((1, 1, h, w))
        params, _, _ = tv_cutmix(images, torch.zeros(1, dtype=torch.int64), 2, lam, ux, uy,
                                 monkeypatch)
        y1, y2, x1, x2, lam_adj = _nocopy._cutmix_box(h, w, lam, ux, uy)
        assert (x1, y1, x2, y2) == params["box"], (h, w, lam, ux, uy)
        assert lam_adj == params["lam_adjusted"]


@pytest.mark.parametrize("n,num_classes", [(1, 1), (1, 5), (4, 3), (9, 1000)])
@pytest.mark.parametrize("lam", [0.0, 1.0, 0.3, 0.7777777])
def test_mix_labels_match_torchvision(n, num_classes, lam):
    labels = random_labels(n, num_classes, seed=n)
    if n >= 4:
        labels[2] = labels[1]  # a sample mixed with its own class
    _, ref = tv_mixup(torch.zeros((n, 1, 2, 2)), labels, num_classes, lam)
    soft = np.asarray(_nocopy._mix_labels(labels.numpy(), num_classes, lam))
    assert soft.shape == (n, num_classes)
    assert torch.equal(torch.from_numpy(soft), ref)


def ks_statistic(a, b):
    """Two-sample Kolmogorov-Smirnov statistic: the largest gap between the empirical CDFs."""
    a, b = np.sort(a), np.sort(b)
    grid = np.concatenate([a, b])
    cdf_a = np.searchsorted(a, grid, side="right") / a.size
    cdf_b = np.searchsorted(b, grid, side="right") / b.size
    return float(np.max(np.abs(cdf_a - cdf_b)))


@pytest.mark.parametrize("a,b", [(0.2, 0.2), (1.0, 1.0), (0.5, 2.0), (3.0, 3.0), (0.05, 0.05)])
def test_beta_samples_follow_the_beta_distribution(a, b):
    n = 20000
    ours = np.asarray(_nocopy._beta_samples(a, b, 1234, n))
    assert ours.shape == (n,) and ours.dtype == np.float64
    assert np.all((ours >= 0.0) & (ours <= 1.0))
    reference = np.random.default_rng(99).beta(a, b, n)
    # Critical value of the two-sample test at significance 0.001 (draws are seeded: no flakes).
    critical = 1.949 * math.sqrt(2.0 / n)
    assert ks_statistic(ours, reference) < critical
    assert abs(ours.mean() - a / (a + b)) < 0.01


def test_beta_samples_are_a_pure_function_of_seed_and_position():
    first = np.asarray(_nocopy._beta_samples(0.2, 0.2, 7, 500))
    assert np.array_equal(first, np.asarray(_nocopy._beta_samples(0.2, 0.2, 7, 500)))
    assert np.array_equal(first[:20], np.asarray(_nocopy._beta_samples(0.2, 0.2, 7, 20)))
    assert not np.array_equal(first, np.asarray(_nocopy._beta_samples(0.2, 0.2, 8, 500)))
    assert np.unique(first).size == first.size


def test_bad_input_is_refused_clearly():
    batch = np.zeros((2, 3, 4, 4), np.float32)
    labels = np.array([0, 1], np.int64)
    with pytest.raises(ValueError, match="lam"):
        _nocopy._mixup(batch, 1.5)
    with pytest.raises(ValueError, match="lam"):
        _nocopy._mixup(batch, float("nan"))
    with pytest.raises(TypeError):
        _nocopy._mixup(batch, "0.5")
    with pytest.raises(TypeError, match="float32"):
        _nocopy._mixup(np.zeros((2, 3), np.int32), 0.5)
    readonly = np.zeros((2, 3), np.float32)
    readonly.flags.writeable = False
    with pytest.raises(ValueError, match="writable"):
        _nocopy._mixup(readonly, 0.5)
    with pytest.raises(ValueError, match="C-contiguous"):
        _nocopy._mixup(np.zeros((3, 4), np.float32)[:, ::2], 0.5)
    with pytest.raises(ValueError, match="outside"):
        _nocopy._cutmix(batch, "CHW", 0, 5, 0, 2)
    with pytest.raises(ValueError, match="outside"):
        _nocopy._cutmix(batch, "CHW", 2, 1, 0, 2)
    with pytest.raises(ValueError):
        _nocopy._cutmix(batch, "XYZ", 0, 1, 0, 1)
    with pytest.raises(ValueError, match="dimensions"):
        _nocopy._cutmix(np.zeros((2, 4, 4), np.float32), "CHW", 0, 1, 0, 1)
    with pytest.raises(ValueError, match="outside"):
        _nocopy._cutmix_box(4, 4, 0.5, 4, 0)
    with pytest.raises(ValueError, match="empty"):
        _nocopy._cutmix_box(0, 4, 0.5, 0, 0)
    with pytest.raises(ValueError, match="lam"):
        _nocopy._cutmix_box(4, 4, -0.1, 0, 0)
    with pytest.raises(ValueError, match="label 2 at position 1"):
        _nocopy._mix_labels(np.array([0, 2], np.int64), 2, 0.5)
    with pytest.raises(ValueError, match="label -1"):
        _nocopy._mix_labels(np.array([-1, 0], np.int64), 2, 0.5)
    with pytest.raises(ValueError, match="num_classes"):
        _nocopy._mix_labels(labels, 0, 0.5)
    with pytest.raises(TypeError, match="int64"):
        _nocopy._mix_labels(labels.astype(np.int32), 2, 0.5)
    with pytest.raises(ValueError, match="1-D"):
        _nocopy._mix_labels(labels.reshape(1, 2), 2, 0.5)
    with pytest.raises(ValueError, match="shapes"):
        _nocopy._beta_samples(0.0, 1.0, 0, 4)
    with pytest.raises(ValueError, match="shapes"):
        _nocopy._beta_samples(float("inf"), 1.0, 0, 4)
    with pytest.raises(ValueError):
        _nocopy._beta_samples(1.0, 1.0, -1, 4)
    with pytest.raises(ValueError):
        _nocopy._beta_samples(1.0, 1.0, 0, -4)
    with pytest.raises(TypeError):
        _nocopy._beta_samples(1.0, 1.0, 0.5, 4)
