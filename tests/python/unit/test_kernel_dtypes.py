"""Every (source dtype, output dtype) pair of each per-sample kernel against a reference computed
independently: the fused crop kernel (nc.Loader's plain crops) bit for bit against NumPy, the
resampler (the resizing crop modes) against torch's interpolate in float64, and the sequence
gather (nc.SequenceLoader) bit for bit against NumPy's astype (ml_dtypes for bfloat16).
Hypothesis draws the shapes, layout, strides, channels and normalization for each pair; a
dtype read or written as another one (the resampler once read float16 as float32) fails them."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nocopy as nc

torch = pytest.importorskip("torch")
F = torch.nn.functional
BF16 = np.dtype(ml_dtypes.bfloat16)

IMAGE_SOURCES = ["uint8", "uint16", "float16", "bfloat16", "float32", "float64"]
IMAGE_OUTPUTS = ["float32", "float16", "bfloat16", "uint8"]
# uint8 output copies the bytes of uint8 images; every other pair is converted.
IMAGE_PAIRS = [(s, o) for s in IMAGE_SOURCES for o in IMAGE_OUTPUTS if o != "uint8" or s == "uint8"]
INTEGERS = ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"]
FLOATS = ["float16", "bfloat16", "float32", "float64"]
# Float series load as floating outputs only; integer tokens as anything real.
SEQUENCE_PAIRS = [(s, o) for s in INTEGERS + FLOATS for o in INTEGERS + FLOATS
                  if s in INTEGERS or o in FLOATS]
# Source strides: dense pixels, channels reversed, channel planes, every other column.
STRIDES = ["dense", "reversed_channels", "planar", "every_other_column"]


def np_dtype(name: str) -> np.dtype:
    return BF16 if name == "bfloat16" else np.dtype(name)


def as_source(a: np.ndarray):
    """What the loaders take: the array, or a bfloat16 view of its bits (NumPy has no bfloat16
    buffer format)."""
    return nc.view(a.view(np.uint16)).reinterpret("bfloat16") if a.dtype == BF16 else a


def bits(x) -> np.ndarray:
    """The output as comparable integers: 16-bit floats as their bits (so -0, inf compare)."""
    x = np.asarray(x)
    return x.view(np.uint16) if x.dtype in (BF16, np.dtype(np.float16)) else x


def random_images(rng, dtype: str, shape, strides: str) -> np.ndarray:
    if dtype in ("uint8", "uint16"):
        hi = np.iinfo(dtype).max
        a = rng.integers(0, hi, shape, endpoint=True).astype(dtype)
    else:
        a = (rng.standard_normal(shape) * 40).astype(np_dtype(dtype))
    if strides == "reversed_channels":
        return a[..., ::-1]
    if strides == "planar":
        return np.ascontiguousarray(a.transpose(0, 3, 1, 2)).transpose(0, 2, 3, 1)
    if strides == "every_other_column":
        return np.repeat(a, 2, axis=2)[:, :, ::2]
    return a


def normalization(rng, source: str, out: str, channels: int, normalize: bool):
    """Loader keywords and the float32 coefficients a = scale / std, b = -mean / std (rounded once
    from float64, as the loader defines them)."""
    if out == "uint8":
        return {}, np.ones(channels, np.float32), np.zeros(channels, np.float32)
    scale = 1 / 255 if source in ("uint8", "uint16") or rng.random() < 0.5 else 1.0
    kw = {"scale": scale}
    mean, std = np.zeros(channels), np.ones(channels)
    if normalize:
        mean, std = rng.uniform(-1, 1, channels), rng.uniform(0.25, 2, channels)
        kw.update(mean=[float(m) for m in mean], std=[float(s) for s in std])
    return kw, (scale / std).astype(np.float32), (-mean / std).astype(np.float32)


def cast(y32: np.ndarray, out: str) -> np.ndarray:
    """float32 results stored as the output dtype (round to nearest even)."""
    return y32 if out == "float32" else y32.astype(np_dtype(out))


# --- the fused crop kernel ----------------------------------------------------------------------
@pytest.mark.parametrize("source,out", IMAGE_PAIRS)
@settings(max_examples=6, deadline=None)
@given(channels=st.integers(1, 5), size=st.tuples(st.integers(1, 24), st.integers(1, 24)),
       crop_frac=st.tuples(st.floats(0.1, 1), st.floats(0.1, 1)),
       layout=st.sampled_from(["CHW", "HWC"]), strides=st.sampled_from(STRIDES),
       normalize=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_property_crop_kernel_every_dtype_pair_equals_numpy(source, out, channels, size,
                                                            crop_frac, layout, strides,
                                                            normalize, seed):
    rng = np.random.default_rng(seed)
    images = random_images(rng, source, (3, size[0], size[1], channels), strides)
    crop = tuple(max(1, int(s * f)) for s, f in zip(size, crop_frac))
    kw, a, b = normalization(rng, source, out, channels, normalize)
    ld = nc.Loader(as_source(images), batch_size=2, crop=crop, crop_mode="random", layout=layout,
                   dtype=out, mirror=0.5, seed=seed % 1000, output="numpy", **kw)
    values32 = images.astype(np.float32)  # float64 rounded, 16-bit floats exact
    plans = [ld.plan(i) for i in range(len(ld))]  # this epoch's (iterating moves to the next)
    for x, plan in zip(ld, plans):
        for k, n in enumerate(plan.indices):
            t, l = int(plan.top[k]), int(plan.left[k])
            window = (images if out == "uint8" else values32)[n, t:t + crop[0], l:l + crop[1]]
            if plan.mirror[k]:
                window = window[:, ::-1]
            want = window.copy() if out == "uint8" else cast(window * a + b, out)
            if layout == "CHW":
                want = want.transpose(2, 0, 1)
            np.testing.assert_array_equal(bits(x[k]), bits(want), err_msg=f"{source} -> {out}")


# --- the resampler ------------------------------------------------------------------------------
def interpolate(x: np.ndarray, size, mode: str) -> np.ndarray:
    """(h, w, C) float64 resized like torchvision v2 (antialiased bilinear) or torch's nearest;
    one-column outputs are computed transposed (torch's antialiased bilinear gets those rows
    wrong on the CPU, see test_resize.reference)."""
    t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64)).permute(2, 0, 1)[None]
    if mode == "nearest":
        y = F.interpolate(t, size=size, mode="nearest")
    elif size[1] == 1 and size[0] != 1:
        y = F.interpolate(t.transpose(2, 3), size=size[::-1], mode="bilinear", antialias=True,
                          align_corners=False).transpose(2, 3)
    else:
        y = F.interpolate(t, size=size, mode="bilinear", antialias=True, align_corners=False)
    return y[0].permute(1, 2, 0).numpy()


def resized_reference(values: np.ndarray, plan, k: int, crop, mode: str, interp: str,
                      resize: int) -> np.ndarray:
    """Sample k recomputed from its plan, HWC float64 before normalization."""
    n, t, l = int(plan.indices[k]), int(plan.top[k]), int(plan.left[k])
    h, w = int(plan.height[k]), int(plan.width[k])
    window = values[n, t:t + h, l:l + w]
    if mode == "random_resized":
        y = interpolate(window, crop, interp)
    else:  # Resize(resize) of the shorter side, then CenterCrop(crop)
        rh, rw = (int(resize * h / w), resize) if w <= h else (resize, int(resize * w / h))
        ct, cl = int(round((rh - crop[0]) / 2)), int(round((rw - crop[1]) / 2))
        y = interpolate(window, (rh, rw), interp)[ct:ct + crop[0], cl:cl + crop[1]]
    return y[:, ::-1] if plan.mirror[k] else y


# Relative precision of each output: float32 arithmetic, then the output's rounding.
PRECISION = {"float32": 1e-5, "float16": 2.0 ** -10, "bfloat16": 2.0 ** -7, "uint8": 1e-5}


@pytest.mark.parametrize("source,out", IMAGE_PAIRS)
@settings(max_examples=4, deadline=None)
@given(channels=st.sampled_from([1, 3, 4]), size=st.tuples(st.integers(1, 20), st.integers(1, 20)),
       crop=st.tuples(st.integers(1, 16), st.integers(1, 16)),
       mode=st.sampled_from(["random_resized", "resize_center"]),
       interp=st.sampled_from(["bilinear", "nearest"]), layout=st.sampled_from(["CHW", "HWC"]),
       strides=st.sampled_from(STRIDES), normalize=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_property_resampler_every_dtype_pair_matches_torch(source, out, channels, size, crop,
                                                           mode, interp, layout, strides,
                                                           normalize, seed):
    rng = np.random.default_rng(seed)
    images = random_images(rng, source, (2, size[0], size[1], channels), strides)
    kw, a, b = normalization(rng, source, out, channels, normalize)
    resize = max(crop) + int(rng.integers(0, 4))
    if mode == "resize_center":
        kw["resize"] = resize
    ld = nc.Loader(as_source(images), batch_size=2, crop=crop, crop_mode=mode,
                   interpolation=interp, layout=layout, dtype=out, mirror=0.5,
                   seed=seed % 1000, output="numpy", **kw)
    values = images.astype(np.float32).astype(np.float64)  # what the kernel reads
    # The size of the values the output holds: errors are relative to it.
    magnitude = np.abs(values).max() * np.abs(a).max() + np.abs(b).max()
    plans = [ld.plan(i) for i in range(len(ld))]
    for x, plan in zip(ld, plans):
        for k in range(len(plan.indices)):
            want = resized_reference(values, plan, k, crop, mode, interp, resize) * a + b
            got = np.asarray(x[k]).astype(np.float64)
            if layout == "CHW":
                got = got.transpose(1, 2, 0)
            err = np.abs(got - want)
            limit = PRECISION[out] * (np.abs(want) + magnitude) + 1e-6
            if out == "uint8":
                limit = limit + 0.5  # rounded to the nearest integer
            assert (err <= limit).all(), f"{source} -> {out}: error {err.max()} at sample {k}"


# --- the sequence gather ------------------------------------------------------------------------
def random_tokens(rng, source: str, out: str, n: int) -> np.ndarray:
    """Values of `source` that `out` holds (and, for 16-bit float outputs, that float32 holds
    exactly, so that every conversion path rounds once)."""
    if source in INTEGERS:
        lo, hi = np.iinfo(source).min, np.iinfo(source).max
        if out in INTEGERS:
            lo, hi = max(lo, np.iinfo(out).min), min(hi, np.iinfo(out).max)
        elif out in ("float16", "bfloat16"):
            lo, hi = max(lo, -65519), min(hi, 65519)
        return rng.integers(lo, hi, n, endpoint=True, dtype=np.int64 if lo < 0 else np.uint64
                            ).astype(source)
    scale = 1000.0 if out != "float16" and source != "float16" else 100.0
    return (rng.standard_normal(n) * scale).astype(np_dtype(source))


@pytest.mark.parametrize("source,out", SEQUENCE_PAIRS)
@settings(max_examples=3, deadline=None)
@given(length=st.integers(8, 300), seq_len=st.integers(1, 8), features=st.integers(0, 3),
       layout=st.sampled_from(["contiguous", "strided"]), seed=st.integers(0, 2**32 - 1))
def test_property_sequence_gather_every_dtype_pair_equals_numpy(source, out, length, seq_len,
                                                                features, layout, seed):
    rng = np.random.default_rng(seed)
    shape = (length,) if features == 0 else (length, features)
    data = random_tokens(rng, source, out, int(np.prod(shape)) * 2).reshape((2,) + shape)
    # 1-D: every other token (one strided run); 2-D: every other feature (one run per row).
    data = data[0] if layout == "contiguous" else np.moveaxis(data, 0, -1)[..., 0]
    ld = nc.SequenceLoader(as_source(data), seq_len=seq_len, batch_size=3, targets=None,
                           dtype=out, seed=seed % 1000, drop_last=False, output="numpy")
    plans = [ld.plan(i) for i in range(min(len(ld), 3))]
    for x, plan in zip(ld, plans):
        for k, s in enumerate(plan.starts):
            want = data[int(s):int(s) + seq_len]
            if out == "bfloat16":  # through float32, the one rounding of the loader's kernels
                want = want.astype(np.float32)
            want = want.astype(np_dtype(out))
            np.testing.assert_array_equal(bits(x[k]), bits(want), err_msg=f"{source} -> {out}")


@pytest.mark.parametrize("source,out", [(s, o) for s, o in SEQUENCE_PAIRS if s in INTEGERS])
def test_sequence_gather_range_check_refuses_exactly_the_tokens_that_do_not_fit(source, out):
    info = np.iinfo(source)
    limits = (np.iinfo(out).min, np.iinfo(out).max) if out in INTEGERS else \
        ((-65519, 65519) if out == "float16" else None)
    edges = [v for v in (info.min, info.max, -65520, 65520, 2**31, -2**31 - 1, 2**63, 256, -129)
             if info.min <= v <= info.max]
    for v in edges:
        tokens = np.zeros(8, source)
        tokens[5] = v
        ld = nc.SequenceLoader(tokens, seq_len=8, batch_size=1, targets=None, dtype=out,
                               output="numpy")
        if limits is None or limits[0] <= v <= limits[1]:
            np.testing.assert_array_equal(bits(next(iter(ld))[0]),
                                          bits(tokens.astype(np_dtype(out))))
        else:
            with pytest.raises(OverflowError, match=f"token value {v} at step 5 of sequence 0 "
                                                    f"does not fit in dtype {out}"):
                next(iter(ld))
