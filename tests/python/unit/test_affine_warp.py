"""The affine warp (_nocopy._affine_warp) against torchvision.transforms.v2.functional.affine
and .rotate on uint8 CHW tensors. The kernel repeats torch's float32 arithmetic and matches bit
for bit on x86-64; the assertions keep the contract's margins (nearest exact except where a
source coordinate lies within 1e-4 of a rounding boundary, bilinear within one level), which
allow for another order of float operations in torch elsewhere. How many pixels differed and
how many lay near a boundary is printed by the last test (pytest -s)."""

from __future__ import annotations

import math
import os
import random
import subprocess
import sys

import numpy as np
import pytest

import nocopy as nc
from nocopy import _nocopy

torch = pytest.importorskip("torch")
F = pytest.importorskip("torchvision.transforms.v2.functional")
from torchvision.transforms.v2.functional._geometry import _get_inverse_affine_matrix  # noqa: E402

BOUNDARY = 1e-4
# Per interpolation: pixels compared, pixels that differ, pixels near a rounding boundary.
STATS = {m: {"pixels": 0, "differ": 0, "near_boundary": 0} for m in ("nearest", "bilinear")}


def image(h: int, w: int, c: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, c), dtype=np.uint8)


def chw(img: np.ndarray):
    return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))


def source_coordinates(matrix, h: int, w: int, oh: int, ow: int):
    """Each output pixel's source position in float64, as grid_sample(align_corners=False)
    reads torchvision's grid: offsets from the centers mapped through the inverse matrix."""
    yo, xo = np.meshgrid(np.arange(oh) - (oh - 1) / 2, np.arange(ow) - (ow - 1) / 2, indexing="ij")
    a, b, c, d, e, f = matrix
    return a * xo + b * yo + c + (w - 1) / 2, d * xo + e * yo + f + (h - 1) / 2


def near_half(v: np.ndarray) -> np.ndarray:
    return np.abs(v - np.floor(v) - 0.5) < BOUNDARY


def compare(ours: np.ndarray, ref: np.ndarray, mode: str, matrix, h: int, w: int) -> None:
    """Nearest: equal away from rounding boundaries; bilinear: within one level."""
    assert ours.shape == ref.shape
    diff = np.abs(ours.astype(np.int16) - ref.astype(np.int16))
    differ = diff.max(axis=2) > 0
    stats = STATS[mode]
    stats["pixels"] += differ.size
    stats["differ"] += int(differ.sum())
    if mode == "nearest":
        x, y = source_coordinates(matrix, h, w, ours.shape[0], ours.shape[1])
        near = near_half(x) | near_half(y)
        stats["near_boundary"] += int(near.sum())
        assert not (differ & ~near).any(), f"{int((differ & ~near).sum())} pixels differ"
    else:
        assert diff.max() <= 1



def affine_cases():
    """Structured edge cases, then a seeded sample of the parameter space."""
    cases = [
        # (h, w, c, angle, translate, scale, shear, fill, center)
        (7, 9, 3, 0.0, (0, 0), 1.0, (0, 0), None, None),
        (7, 9, 1, 90.0, (0, 0), 1.0, (0, 0), 0, None),
        (8, 8, 3, 180.0, (0, 0), 1.0, (0, 0), [10, 200, 30], None),
        (15, 11, 3, -37.5, (2, -3), 1.25, (10, -5), [10, 200, 30], None),
        (1, 1, 1, 45.0, (0, 0), 2.0, (0, 0), [77], None),
        (1, 13, 3, 10.0, (0, 0), 1.0, (0, 0), 0, None),
        (13, 1, 1, -10.0, (0, 0), 1.0, (0, 0), None, None),
        (16, 16, 3, 0.0, (3.5, -2.25), 1.0, (0, 0), 5, None),
        (16, 16, 3, 0.0, (0, 0), 0.5, (0, 0), [1, 2, 3], None),
        (17, 12, 1, 0.0, (0, 0), 2.0, (0, 0), None, None),
        (17, 12, 3, 0.0, (0, 0), 1.0, (30, 0), None, None),
        (17, 12, 3, 0.0, (0, 0), 1.0, (0, -25), 0, None),
        (20, 31, 3, 33.0, (1, 1), 0.8, (5, 5), [255, 0, 128], (3.0, 4.5)),
        (9, 9, 1, -90.0, (0, 0), 1.0, (0, 0), 0, (0.0, 0.0)),
        (48, 64, 3, 17.0, (4, -6), 1.5, (12, 3), [9, 99, 199], None),
        (61, 45, 1, -123.0, (-5.5, 2), 0.6, (-20, 8), None, (40.0, 2.0)),
    ]
    rng = random.Random(20260601)
    for _ in range(40):
        c = rng.choice((1, 3))
        fill = rng.choice((None, 0, "per-channel"))
        if fill == "per-channel":
            fill = [rng.randrange(256) for _ in range(c)]
        cases.append((
            rng.randrange(1, 40), rng.randrange(1, 40), c,
            rng.choice((0.0, 90.0, 180.0, -37.5, rng.uniform(-180, 180))),
            (rng.choice((0, rng.uniform(-8, 8))), rng.choice((0, rng.uniform(-8, 8)))),
            rng.choice((1.0, rng.uniform(0.5, 2.0))),
            (rng.choice((0.0, rng.uniform(-30, 30))), rng.choice((0.0, rng.uniform(-30, 30)))),
            fill,
            rng.choice((None, (rng.uniform(0, 30), rng.uniform(0, 30)))),
        ))
    return cases


@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
@pytest.mark.parametrize("case", affine_cases())
def test_affine_matches_torchvision(case, mode):
    h, w, c, angle, translate, scale, shear, fill, center = case
    img = image(h, w, c, seed=h * 1000 + w)
    ref = F.affine(chw(img), angle=angle, translate=list(translate), scale=scale,
                   shear=list(shear), interpolation=F.InterpolationMode(mode), fill=fill,
                   center=None if center is None else list(center))
    ours = np.asarray(_nocopy._affine_warp(img, angle, translate, scale, shear, mode, fill,
                                           center, False))
    pivot = [0.0, 0.0] if center is None else [center[0] - w / 2, center[1] - h / 2]
    matrix = _get_inverse_affine_matrix(pivot, angle, [float(t) for t in translate], scale,
                                        list(shear))
    compare(ours, ref.permute(1, 2, 0).numpy(), mode, matrix, h, w)


def rotate_cases():
    cases = []
    rng = random.Random(7)
    sizes = [(7, 9), (9, 7), (16, 16), (1, 5), (21, 34), (40, 27)]
    angles = [0.0, 90.0, 180.0, 270.0, -90.0, -37.5, 37.5, 372.0, 123.25]
    for i, angle in enumerate(angles):
        for expand in (False, True):
            h, w = sizes[(i + expand) % len(sizes)]
            c = (1, 3)[(i + expand) % 2]
            fill = (None, 0, [rng.randrange(256) for _ in range(c)])[i % 3]
            center = None if i % 4 else (w / 3, h / 5)
            cases.append((h, w, c, angle, expand, fill, center))
    return cases


@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
@pytest.mark.parametrize("case", rotate_cases())
def test_rotate_matches_torchvision(case, mode):
    """rotate(a) is affine(-a); with expand the output grows to hold the whole image."""
    h, w, c, angle, expand, fill, center = case
    img = image(h, w, c, seed=int(angle * 10) % 1000 + h)
    ref = F.rotate(chw(img), angle, interpolation=F.InterpolationMode(mode), expand=expand,
                   center=None if center is None else list(center), fill=fill)
    ours = np.asarray(_nocopy._affine_warp(img, -angle, (0, 0), 1.0, (0, 0), mode, fill,
                                           center, expand))
    pivot = [0.0, 0.0] if center is None else [center[0] - w / 2, center[1] - h / 2]
    matrix = _get_inverse_affine_matrix(pivot, -(angle % 360), [0.0, 0.0], 1.0, [0.0, 0.0])
    compare(ours, ref.permute(1, 2, 0).numpy(), mode, matrix, h, w)


@pytest.mark.parametrize("angle", [0.0, 12.5, 45.0, 90.0, 135.0, 200.0, 300.0, 359.9])
@pytest.mark.parametrize("size", [(1, 1), (2, 3), (10, 10), (11, 30), (64, 17)])
def test_expanded_size_matches_torchvision(angle, size):
    h, w = size
    img = np.zeros((h, w, 1), np.uint8)
    ref = F.rotate(chw(img), angle, expand=True, center=[w / 4, h / 3])
    ours = np.asarray(_nocopy._affine_warp(img, -angle, (0, 0), 1.0, (0, 0), "nearest", None,
                                           (w / 4, h / 3), True))
    assert ours.shape[:2] == tuple(ref.shape[-2:])


def test_strided_sources_read_like_dense_ones():
    img = image(12, 10, 4, seed=3)
    views = [img[::-1], img[:, ::2], img[..., 1:], np.asfortranarray(img)]
    for v in views:
        dense = np.ascontiguousarray(v)
        for mode in ("nearest", "bilinear"):
            args = (-21.0, (1, 2), 1.1, (4, 0), mode, 9, None, False)
            np.testing.assert_array_equal(np.asarray(_nocopy._affine_warp(v, *args)),
                                          np.asarray(_nocopy._affine_warp(dense, *args)))
    # A nocopy view is accepted as well.
    np.testing.assert_array_equal(
        np.asarray(_nocopy._affine_warp(nc.view(img), 5.0, (0, 0), 1.0, (0, 0), "bilinear",
                                        None, None, False)),
        np.asarray(_nocopy._affine_warp(img, 5.0, (0, 0), 1.0, (0, 0), "bilinear", None, None,
                                        False)))


def test_degenerate_matrices_fill_without_crashing():
    img = image(9, 9, 3, seed=4)
    out = np.asarray(_nocopy._affine_warp(img, 0.0, (0, 0), 1.0, (0, 90.0), "bilinear",
                                          [1, 2, 3], None, False))
    assert out.shape == img.shape
    out = np.asarray(_nocopy._affine_warp(img, 0.0, (1e9, 0), 1e-12, (0, 0), "nearest",
                                          [1, 2, 3], None, False))
    assert (out == np.array([1, 2, 3], np.uint8)).all()


GOOD = dict(angle=10.0, translate=(0, 0), scale=1.0, shear=(0, 0), interpolation="nearest",
            fill=None, center=None, expand=False)


@pytest.mark.parametrize("image_arg, error", [
    (np.zeros((4, 4, 3), np.float32), ValueError),
    (np.zeros((4, 4), np.uint8), ValueError),
    (np.zeros((0, 4, 3), np.uint8), ValueError),
    (np.zeros((4, 4, 0), np.uint8), ValueError),
    ("not an image", TypeError),
    (None, TypeError),
])
def test_bad_images_raise(image_arg, error):
    with pytest.raises(error):
        _nocopy._affine_warp(image_arg, **GOOD)


@pytest.mark.parametrize("name, value, error", [
    ("angle", "ten", TypeError),
    ("angle", math.nan, ValueError),
    ("angle", True, TypeError),
    ("translate", (1,), ValueError),
    ("translate", 3, TypeError),
    ("translate", (1, "a"), TypeError),
    ("translate", (math.inf, 0), ValueError),
    ("scale", 0.0, ValueError),
    ("scale", -2.0, ValueError),
    ("scale", None, TypeError),
    ("shear", (1, 2, 3), ValueError),
    ("shear", None, TypeError),
    ("interpolation", "bicubic", ValueError),
    ("interpolation", 0, TypeError),
    ("fill", [1, 2], ValueError),
    ("fill", [1, 2, 3, 4], ValueError),
    ("fill", 256, ValueError),
    ("fill", [-1, 0, 0], ValueError),
    ("fill", "red", TypeError),
    ("center", (1.0,), ValueError),
    ("center", "mid", TypeError),
    ("expand", 1, TypeError),
    ("expand", None, TypeError),
])
def test_bad_arguments_raise(name, value, error):
    with pytest.raises(error):
        _nocopy._affine_warp(np.zeros((4, 5, 3), np.uint8), **{**GOOD, name: value})


def test_unbounded_expansion_raises():
    with pytest.raises(ValueError):
        _nocopy._affine_warp(np.zeros((4, 5, 3), np.uint8), 10.0, (0, 0), 1e-9, (0, 0),
                             "nearest", None, None, True)


@pytest.mark.skipif(os.environ.get("ATEN_CPU_CAPABILITY") == "default",
                    reason="already running torch's default kernels")
def test_matches_torch_default_kernels():
    """With ATEN_CPU_CAPABILITY=default torch runs its kernels without fused multiply-adds, and
    the warp follows: the bilinear comparisons above (where fusing changes most), rerun in a
    child process."""
    env = {**os.environ, "ATEN_CPU_CAPABILITY": "default"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", __file__, "-k",
         "matches_torchvision and bilinear"], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_report_deviations():
    """Prints how many pixels differed from torchvision (run last; pytest -s shows it)."""
    for mode, s in STATS.items():
        if s["pixels"]:
            near = (f"; {s['near_boundary']} lie within {BOUNDARY} of a rounding boundary"
                    if mode == "nearest" else "")
            print(f"\naffine warp, {mode}: {s['differ']} of {s['pixels']} pixels differ from "
                  f"torchvision{near}")
    assert STATS["bilinear"]["differ"] <= 0.01 * max(STATS["bilinear"]["pixels"], 1)
