"""The colour kernels against a NumPy model of their float32 arithmetic, on every RGB colour.

The kernels (nocopy/pipeline/kernels/color_ops.hpp, through the _color_op seam) compute blocks
of pixels with vector instructions; these tests check that they give, value for value, the scalar
arithmetic that test_color_ops.py compares with torchvision: each step one float32 operation (a
NumPy operation on float32 arrays), the fused multiply-adds a float64 product and sum rounded to
float32. The luma, the saturation blend, the grayscale, the contrast's mean and table and the
hue's HSV round trip are checked on all 2**24 colours; the lookup-table operators and the block
tails on odd sizes."""

from __future__ import annotations

import numpy as np
import pytest

from nocopy import _nocopy

F32 = np.float32


def _fma(a: np.ndarray, b: float, c: np.ndarray) -> np.ndarray:
    """a * b + c with one rounding to float32 (exact float64 product, float64 sum)."""
    return (a.astype(np.float64) * np.float64(F32(b)) + c.astype(np.float64)).astype(F32)


def _clamp_truncate(v: np.ndarray) -> np.ndarray:
    return np.clip(v, F32(0), F32(255)).astype(np.uint8)


def _gray(image: np.ndarray) -> np.ndarray:
    """The floored float32 luma 0.2989 R + 0.587 G + 0.114 B of an HWC RGB image."""
    r, g, b = (image[..., c].astype(F32) for c in range(3))
    luma = _fma(b, 0.114, _fma(g, 0.587, r * F32(0.2989)))
    return luma.astype(np.int32)


def _saturation(image: np.ndarray, factor: float) -> np.ndarray:
    gray = _gray(image).astype(F32)[..., None]
    return _clamp_truncate(_fma(np.broadcast_to(gray, image.shape), F32(1.0 - factor),
                                image.astype(F32) * F32(factor)))


def _contrast(image: np.ndarray, factor: float) -> np.ndarray:
    total = int(_gray(image).sum()) if image.shape[2] == 3 else int(image.sum())
    pixels = image.shape[0] * image.shape[1]
    mean = F32(total) / F32(pixels)
    values = np.arange(256, dtype=F32)
    table = _clamp_truncate(_fma(np.full(256, mean, F32), F32(1.0 - factor), values * F32(factor)))
    return table[image]


def _hue(image: np.ndarray, hue: float) -> np.ndarray:
    """The float32 RGB -> HSV, hue shift, HSV -> RGB round trip, one NumPy operation a step."""
    out = np.empty_like(image)
    flat_in = image.reshape(-1, 3)
    flat_out = out.reshape(-1, 3)
    one, zero = F32(1), F32(0)
    for start in range(0, flat_in.shape[0], 1 << 22):
        px = flat_in[start:start + (1 << 22)]
        r, g, b = (px[:, c].astype(F32) * F32(1.0 / 255.0) for c in range(3))
        v = np.maximum(r, np.maximum(g, b))
        low = np.minimum(r, np.minimum(g, b))
        flat = v == low
        rng = v - low
        s = rng / np.where(flat, one, v)
        div = np.where(flat, one, rng)
        rc, gc, bc = (v - r) / div, (v - g) / div, (v - b) / div
        h = np.where(v == r, bc - gc, np.where(v == g, (rc + F32(2)) - bc, (gc + F32(4)) - rc))
        h = h * F32(1.0 / 6.0) + one
        h = np.where(h >= one, h - one, h)
        h = h + F32(hue)
        h = np.where(h >= one, h - one, np.where(h < zero, h + one, h))
        h6 = h * F32(6)
        sector = h6.astype(np.int32)
        f = h6 - sector.astype(F32)
        sector %= 6
        sf = s * f
        oms = one - s
        q = np.clip((one - sf) * v, zero, one)
        t = np.clip((sf + oms) * v, zero, one)
        p = np.clip(oms * v, zero, one)
        choices = np.stack([v, p, q, t])
        pick = np.array([[0, 3, 1], [2, 0, 1], [1, 0, 3], [1, 2, 0], [3, 1, 0], [0, 1, 2]])
        k = pick[sector]  # (n, 3): which of v, p, q, t each channel takes
        chosen = np.take_along_axis(choices.T, k, axis=1)
        flat_out[start:start + px.shape[0]] = (chosen * F32(255.0 + 1.0 - 1e-3)).astype(np.uint8)
    return out


@pytest.fixture(scope="module")
def all_colours() -> np.ndarray:
    """Every RGB colour once, 4096 x 4096 x 3, shuffled so that neighbours vary."""
    v = np.random.default_rng(5).permutation(1 << 24).astype(np.uint32)
    rgb = np.stack([(v >> 16) & 255, (v >> 8) & 255, v & 255], axis=1).astype(np.uint8)
    return rgb.reshape(4096, 4096, 3)


def _ours(name: str, image: np.ndarray, *params) -> np.ndarray:
    out = image.copy()
    _nocopy._color_op(name, out, *params)
    return out


def test_grayscale_of_every_colour(all_colours):
    gray = _gray(all_colours).astype(np.uint8)
    np.testing.assert_array_equal(_ours("to_grayscale", all_colours),
                                  np.repeat(gray[..., None], 3, axis=2))


@pytest.mark.parametrize("factor", [0.0, 0.6, 1.4, 2.5])
def test_saturation_of_every_colour(all_colours, factor):
    np.testing.assert_array_equal(_ours("adjust_saturation", all_colours, factor),
                                  _saturation(all_colours, factor))


@pytest.mark.parametrize("factor", [0.6, 1.37])
def test_contrast_of_every_colour(all_colours, factor):
    np.testing.assert_array_equal(_ours("adjust_contrast", all_colours, factor),
                                  _contrast(all_colours, factor))


@pytest.mark.parametrize("hue", [-0.5, 0.0, 0.1, 0.5])
def test_hue_of_every_colour(all_colours, hue):
    np.testing.assert_array_equal(_ours("adjust_hue", all_colours, hue), _hue(all_colours, hue))


# Sizes around the kernels' block widths (8 and 64 pixels, 48 and 64 values) and their tails.
SIZES = [(1, 1), (1, 7), (1, 8), (1, 9), (3, 21), (1, 63), (1, 64), (1, 65), (5, 13), (7, 67),
         (2, 97), (31, 33)]


@pytest.mark.parametrize("h,w", SIZES)
@pytest.mark.parametrize("c", [1, 3])
def test_odd_sizes_match_the_model(h, w, c):
    rng = np.random.default_rng(h * 1000 + w + c)
    image = rng.integers(0, 256, (h, w, c), dtype=np.uint8)
    values = np.arange(256, dtype=F32)
    for factor in (0.0, 0.6, 1.37):
        table = _clamp_truncate(values * F32(factor))
        np.testing.assert_array_equal(_ours("adjust_brightness", image, factor), table[image])
        np.testing.assert_array_equal(_ours("adjust_contrast", image, factor),
                                      _contrast(image, factor))
    solarized = np.where(image >= 100, 255 - image, image).astype(np.uint8)
    np.testing.assert_array_equal(_ours("solarize", image, 100.0), solarized)
    if c == 3:
        for factor in (0.3, 1.37):
            np.testing.assert_array_equal(_ours("adjust_saturation", image, factor),
                                          _saturation(image, factor))
        for hue in (-0.3, 0.2):
            np.testing.assert_array_equal(_ours("adjust_hue", image, hue), _hue(image, hue))
        np.testing.assert_array_equal(_ours("to_grayscale", image)[..., 0], _gray(image))


@pytest.mark.parametrize("h,w", SIZES)
@pytest.mark.parametrize("c", [1, 3])
def test_autocontrast_range_on_odd_sizes(h, w, c):
    """The per-channel minimum and maximum (read in 48-value steps) on odd sizes, with the
    extremes placed in the tail, the first step and the last lane of a step."""
    rng = np.random.default_rng(h * 31 + w)
    image = rng.integers(60, 200, (h, w, c), dtype=np.uint8)
    flat = image.reshape(-1)
    for position, value in ((len(flat) - 1, 3), (0, 250), (min(47, len(flat) - 1), 1)):
        flat[position] = value
    out = _ours("autocontrast", image)
    for ch in range(c):
        plane = image[..., ch].astype(F32)
        lo, hi = plane.min(), plane.max()
        if lo == hi:
            np.testing.assert_array_equal(out[..., ch], image[..., ch])
            continue
        scale = (hi - lo) * F32(1.0 / 255.0)
        np.testing.assert_array_equal(out[..., ch], _clamp_truncate((plane - lo) / scale))
