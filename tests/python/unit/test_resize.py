"""The resampling kernel against torch.nn.functional.interpolate in float64 (antialiased
bilinear, align_corners=False; nearest), and the RandomResizedCrop window draws against
torchvision's documented algorithm reimplemented in NumPy (torchvision itself is not installed
beside this torch): area-fraction and log-ratio distributions and the fallback rate."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nocopy as nc
from nocopy import _nocopy

torch = pytest.importorskip("torch")
F = torch.nn.functional


def reference(image: np.ndarray, window, size, mode="bilinear") -> np.ndarray:
    """interpolate(window, size) in float64, as (h, w, C).

    torch 2.13's antialiased bilinear on the CPU gets the rows wrong when the output is one
    column wide and more than one row high ((2, 1) -> (3, 1) of [95, 130] gives [95, 95, 95]);
    its result for the transposed image is right (it equals the separable weights computed by
    hand), so that case is computed transposed."""
    top, left, h, w = window
    x = torch.from_numpy(np.ascontiguousarray(image[top:top + h, left:left + w]).astype(np.float64))
    x = x.permute(2, 0, 1)[None]
    if mode == "bilinear":
        if size[1] == 1 and size[0] != 1:
            y = F.interpolate(x.transpose(2, 3), size=size[::-1], mode="bilinear", antialias=True,
                              align_corners=False).transpose(2, 3)
        else:
            y = F.interpolate(x, size=size, mode="bilinear", antialias=True, align_corners=False)
    else:
        y = F.interpolate(x, size=size, mode="nearest")
    return y[0].permute(1, 2, 0).numpy()


def resample(image, window, size, mirror=False, mode="bilinear", out=None) -> np.ndarray:
    out = out or (0, 0, size[0], size[1])
    return np.asarray(_nocopy._resample_window(nc.view(image), list(window), list(size),
                                               list(out), mirror, mode))


@pytest.mark.parametrize("dtype,limit", [(np.uint8, 0.02), (np.uint16, 2.0), (np.float32, 1e-5)])
@pytest.mark.parametrize("shape,window,size", [
    ((375, 500, 3), (10, 20, 300, 400), (224, 224)),   # shrink
    ((64, 48, 3), (5, 3, 40, 30), (224, 224)),         # upscale
    ((100, 100, 3), (0, 0, 100, 100), (100, 100)),     # identity
    ((50, 700, 3), (0, 0, 50, 700), (31, 17)),         # extreme aspect, mixed scales
    ((9, 9, 1), (2, 2, 5, 5), (3, 8)),                 # one channel
    ((33, 21, 4), (1, 2, 30, 17), (7, 50)),            # four channels
])
def test_bilinear_antialias_matches_torch_float64(dtype, limit, shape, window, size):
    rng = np.random.default_rng(0)
    if dtype == np.float32:
        image = rng.random(shape, dtype=np.float32)
    else:
        image = rng.integers(0, np.iinfo(dtype).max, shape, endpoint=True).astype(dtype)
    got = resample(image, window, size)
    want = reference(image, window, size)
    assert got.shape == want.shape
    assert np.abs(got - want).max() <= limit  # far within one uint8 level for bytes


def test_nearest_matches_torch_exactly():
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (77, 91, 3), dtype=np.uint8)
    for window, size in [((0, 0, 77, 91), (224, 224)), ((3, 5, 60, 70), (17, 33)),
                         ((0, 0, 10, 10), (20, 20)), ((1, 1, 7, 3), (7, 3))]:
        np.testing.assert_array_equal(resample(image, window, size, mode="nearest"),
                                      reference(image, window, size, mode="nearest"))


def test_mirror_strides_and_center_crop_of_a_resize():
    rng = np.random.default_rng(2)
    image = rng.integers(0, 256, (120, 90, 3), dtype=np.uint8)
    window, size = (10, 4, 100, 80), (45, 33)
    plain = resample(image, window, size)
    np.testing.assert_array_equal(resample(image, window, size, mirror=True), plain[:, ::-1])
    # A strided source (a transposed, channel-reversed view) reads the same pixels.
    view = image.transpose(1, 0, 2)[:, :, ::-1]
    np.testing.assert_allclose(resample(view, (4, 10, 80, 100), (33, 45)),
                               reference(view, (4, 10, 80, 100), (33, 45)), atol=0.02)
    # resize_center: a center crop of the whole resize, computed without the rest of it.
    full = reference(image, (0, 0, 120, 90), (298, 224))
    part = resample(image, (0, 0, 120, 90), (298, 224), out=(37, 0, 224, 224))
    assert np.abs(part - full[37:37 + 224]).max() < 0.02


@settings(max_examples=60, deadline=None)
@given(h=st.integers(1, 40), w=st.integers(1, 40), oh=st.integers(1, 60), ow=st.integers(1, 60),
       c=st.sampled_from([1, 3]), seed=st.integers(0, 2**32 - 1))
def test_property_any_sizes_match_torch(h, w, oh, ow, c, seed):
    """1-pixel images, extreme aspect ratios, shrinking and upscaling on either axis."""
    image = np.random.default_rng(seed).integers(0, 256, (h, w, c), dtype=np.uint8)
    got = resample(image, (0, 0, h, w), (oh, ow))
    assert np.abs(got - reference(image, (0, 0, h, w), (oh, ow))).max() <= 0.02


def test_bad_geometry_is_a_value_error():
    image = np.zeros((4, 4, 3), np.uint8)
    with pytest.raises(ValueError, match="out of range"):
        resample(image, (2, 2, 3, 3), (2, 2))
    with pytest.raises(ValueError, match="interpolation 'cubic'"):
        resample(image, (0, 0, 4, 4), (2, 2), mode="cubic")


# --- RandomResizedCrop windows ------------------------------------------------------------------
def torchvision_windows(rng, n, height, width, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3)):
    """torchvision.transforms.RandomResizedCrop.get_params, vectorized over n draws (the same
    algorithm: 10 attempts of uniform area and log-uniform ratio, then the central fallback)."""
    area = height * width
    log_ratio = np.log(ratio)
    out = np.zeros((n, 5), np.int64)
    for k in range(n):
        for _ in range(10):
            target = area * rng.uniform(scale[0], scale[1])
            aspect = math.exp(rng.uniform(log_ratio[0], log_ratio[1]))
            w = int(round(math.sqrt(target * aspect)))
            h = int(round(math.sqrt(target / aspect)))
            if 0 < w <= width and 0 < h <= height:
                out[k] = (rng.integers(0, height - h + 1), rng.integers(0, width - w + 1), h, w, 0)
                break
        else:
            in_ratio = width / height
            if in_ratio < min(ratio):
                w, h = width, int(round(width / min(ratio)))
            elif in_ratio > max(ratio):
                h, w = height, int(round(height * max(ratio)))
            else:
                w, h = width, height
            out[k] = ((height - h) // 2, (width - w) // 2, h, w, 1)
    return out


def ks_statistic(a, b) -> float:
    grid = np.union1d(a, b)
    ca = np.searchsorted(np.sort(a), grid, side="right") / len(a)
    cb = np.searchsorted(np.sort(b), grid, side="right") / len(b)
    return float(np.abs(ca - cb).max())


@pytest.mark.parametrize("height,width,area,ratio", [
    (375, 500, (0.08, 1.0), (3 / 4, 4 / 3)),     # ImageNet-like: fallback almost never
    (60, 400, (0.08, 1.0), (3 / 4, 4 / 3)),      # wide: many draws fail, fallback often
    (300, 300, (0.5, 1.0), (0.5, 2.0)),          # other ranges
])
def test_window_distribution_matches_torchvision(height, width, area, ratio):
    n = 6000
    ours = np.asarray(_nocopy._random_resized_windows(11, 3, n, height, width, *area, *ratio))
    ref = torchvision_windows(np.random.default_rng(5), n, height, width, area, ratio)
    for name, col in [("area fraction", lambda t: t[:, 2] * t[:, 3] / (height * width)),
                      ("log ratio", lambda t: np.log(t[:, 3] / t[:, 2])),
                      ("relative top", lambda t: t[:, 0] / np.maximum(height - t[:, 2], 1))]:
        d = ks_statistic(col(ours), col(ref))
        assert d < 1.95 * math.sqrt(2 / n) * 1.1, f"{name}: KS distance {d:.4f}"
    # The fallback rate agrees within 4 standard errors of a binomial proportion.
    p_ours, p_ref = ours[:, 4].mean(), ref[:, 4].mean()
    se = math.sqrt(max(p_ref * (1 - p_ref), 1 / n) * 2 / n)
    assert abs(p_ours - p_ref) <= 4 * se + 1e-12, (p_ours, p_ref)
    # Windows lie inside the image.
    assert (ours[:, 0] >= 0).all() and (ours[:, 0] + ours[:, 2] <= height).all()
    assert (ours[:, 1] >= 0).all() and (ours[:, 1] + ours[:, 3] <= width).all()


def test_fallback_windows_equal_torchvisions_exactly():
    ours = np.asarray(_nocopy._random_resized_windows(0, 0, 50, 2, 900, 0.08, 1.0, 0.75, 4 / 3))
    ref = torchvision_windows(np.random.default_rng(0), 50, 2, 900)
    np.testing.assert_array_equal(ours, ref)  # every draw falls back: deterministic
