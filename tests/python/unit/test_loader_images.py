"""nc.Loader over ImageSets (and uniform arrays) with the resizing crop modes: every batch equals
a reference built from plan(i) with torch.nn.functional.interpolate (antialiased bilinear or
nearest, float64) within one uint8 level before normalization; determinism across thread
counts, resume, sharding and held batches; 1-pixel images, extreme aspect ratios, upscaling."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nocopy as nc

torch = pytest.importorskip("torch")
F = torch.nn.functional


def make_set(rng, n=12, lo=20, hi=60, labels=True, dtype=np.uint8, sizes=None):
    sizes = sizes or [tuple(rng.integers(lo, hi + 1, 2)) for _ in range(n)]
    arrays = [rng.integers(0, 256, (h, w, 3), dtype=np.uint8).astype(dtype) for h, w in sizes]
    return nc.ImageSet.from_arrays(arrays, labels=np.arange(len(arrays)) % 5 if labels else None)


def interpolate(x: np.ndarray, size, mode) -> np.ndarray:
    """(h, w, C) float64 resized to `size` like torchvision v2 (antialias) / torch nearest."""
    t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64)).permute(2, 0, 1)[None]
    if mode == "nearest":
        y = F.interpolate(t, size=size, mode="nearest")
    elif size[1] == 1 and size[0] != 1:  # torch's one-column bug: see test_resize.reference
        y = F.interpolate(t.transpose(2, 3), size=size[::-1], mode="bilinear", antialias=True,
                          align_corners=False).transpose(2, 3)
    else:
        y = F.interpolate(t, size=size, mode="bilinear", antialias=True, align_corners=False)
    return y[0].permute(1, 2, 0).numpy()


def resize_center_box(h, w, resize, crop):
    """torchvision Resize(resize) then CenterCrop(crop): the resized size and the crop origin."""
    if w <= h:
        rh, rw = int(resize * h / w), resize
    else:
        rh, rw = resize, int(resize * w / h)
    return (rh, rw), (int(round((rh - crop[0]) / 2)), int(round((rw - crop[1]) / 2)))


def reference(image, plan, k, crop, mode, interp="bilinear", resize=None):
    """Sample k of a batch recomputed from its plan (HWC float64, before normalization)."""
    image = np.asarray(image)
    top, left = int(plan.top[k]), int(plan.left[k])
    h, w = int(plan.height[k]), int(plan.width[k])
    window = image[top:top + h, left:left + w].astype(np.float64)
    if mode == "random_resized":
        out = interpolate(window, crop, interp)
    elif mode == "resize_center":
        (rh, rw), (ct, cl) = resize_center_box(h, w, resize, crop)
        out = interpolate(window, (rh, rw), interp)[ct:ct + crop[0], cl:cl + crop[1]]
    else:
        out = window
    return out[:, ::-1] if plan.mirror[k] else out


def loader(src, **kw):
    kw.setdefault("layout", "HWC")
    kw.setdefault("scale", 1.0)
    kw.setdefault("output", "numpy")
    return nc.Loader(src, **kw)


def check_epoch(ld, src, crop, mode, interp="bilinear", resize=None, limit=0.05):
    images = src if isinstance(src, nc.ImageSet) else np.asarray(src)
    seen = 0
    for i, batch in enumerate(ld):
        x = batch[0] if isinstance(batch, tuple) else batch
        plan = ld.plan(i)
        for k, idx in enumerate(plan.indices):
            want = reference(images[int(idx)], plan, k, crop, mode, interp, resize)
            assert x[k].shape == want.shape
            err = np.abs(x[k].astype(np.float64) - want).max()
            assert err <= limit, f"batch {i} sample {k} (image {idx}): {err}"
            seen += 1
    return seen


@pytest.mark.parametrize("interp", ["bilinear", "nearest"])
def test_random_resized_batches_equal_the_torch_reference(interp):
    ds = make_set(np.random.default_rng(0))
    ld = loader(ds, batch_size=5, crop=(16, 24), crop_mode="random_resized", mirror=0.5,
                interpolation=interp, seed=3)
    for epoch in range(2):
        ld.set_epoch(epoch)
        assert check_epoch(ld, ds, (16, 24), "random_resized", interp) == len(ds)
    p = ld.plan(0)
    assert (p.height >= 1).all() and (p.width >= 1).all()
    # The windows vary per sample and epoch (a real augmentation, not one fixed window).
    assert len({(int(a), int(b)) for a, b in zip(p.height, p.width)}) > 1


def test_resize_center_is_resize_then_center_crop():
    ds = make_set(np.random.default_rng(1), lo=20, hi=70)
    ld = loader(ds, batch_size=4, crop=(18, 18), crop_mode="resize_center", resize=20,
                mirror=0.0, shuffle=False)
    assert check_epoch(ld, ds, (18, 18), "resize_center", resize=20) == len(ds)
    p = ld.plan(0)
    np.testing.assert_array_equal(p.height, ds.shapes[p.indices, 0])  # the window: whole image
    np.testing.assert_array_equal(p.top, 0)


def test_uniform_arrays_get_the_resizing_modes_too():
    rng = np.random.default_rng(2)
    images = rng.integers(0, 256, (10, 40, 30, 3), dtype=np.uint8)
    ld = loader(images, batch_size=4, crop=(12, 12), crop_mode="random_resized", seed=1)
    assert check_epoch(ld, images, (12, 12), "random_resized") == 10
    ld = loader(images, batch_size=4, crop=(12, 12), crop_mode="resize_center", resize=16)
    assert check_epoch(ld, images, (12, 12), "resize_center", resize=16) == 10


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float64"])
@pytest.mark.parametrize("mode", ["random_resized", "resize_center"])
def test_resizing_modes_read_every_source_dtype(dtype, mode):
    # The resampler once read float16, bfloat16 and float64 sources as float32: wrong values,
    # and past the end of the array (SIGSEGV) for 2-byte ones.
    rng = np.random.default_rng(4)
    values = rng.integers(0, 256, (6, 40, 34, 3)).astype(np.float32)  # exact in every dtype
    if dtype == "bfloat16":
        images = torch.from_numpy(values).to(torch.bfloat16)
    else:
        images = values.astype(dtype)
    kw = dict(batch_size=3, crop=(12, 12), crop_mode=mode, seed=2)
    if mode == "resize_center":
        kw["resize"] = 16
    ld = loader(images, **kw)
    assert check_epoch(ld, values, (12, 12), mode, resize=kw.get("resize")) == 6
    constant = np.full((1, 64, 64, 3), 0.5, dtype if dtype != "bfloat16" else np.float32)
    src = torch.from_numpy(constant).to(torch.bfloat16) if dtype == "bfloat16" else constant
    extra = dict(resize=40) if mode == "resize_center" else {}
    x = loader(src, batch_size=1, crop=(32, 32), crop_mode=mode, **extra).next_batch()
    np.testing.assert_allclose(x, 0.5, atol=1e-6)


@pytest.mark.parametrize("mode", ["random", "center"])
def test_plain_crops_on_an_image_set_copy_the_window(mode):
    ds = make_set(np.random.default_rng(3), lo=16, hi=40)
    ld = loader(ds, batch_size=6, crop=(16, 12), crop_mode=mode, mirror=0.5)
    assert check_epoch(ld, ds, (16, 12), mode, limit=0) == len(ds)
    p = ld.plan(0)
    assert (p.height == 16).all() and (p.width == 12).all()


def test_plain_crops_need_every_image_large_enough():
    rng = np.random.default_rng(4)
    ds = make_set(rng, sizes=[(30, 30), (30, 30), (10, 40), (5, 5)])
    with pytest.raises(ValueError, match=r"sample 2 .*\(10, 40\).* crop \(16, 16\)"):
        nc.Loader(ds, crop=(16, 16), crop_mode="random")
    with pytest.raises(ValueError, match="sample 2"):
        nc.Loader(ds, crop=(16, 16), crop_mode="center")
    # The resizing modes take every size.
    nc.Loader(ds, crop=(16, 16), crop_mode="random_resized", output="numpy")


def test_labels_default_to_the_image_sets():
    ds = make_set(np.random.default_rng(5))
    ld = loader(ds, batch_size=4, crop=(8, 8), crop_mode="random_resized")
    x, y = next(iter(ld))
    np.testing.assert_array_equal(y, ds.labels[ld.plan(0).indices])
    nolabels = make_set(np.random.default_rng(5), labels=False)
    x = next(iter(loader(nolabels, batch_size=4, crop=(8, 8), crop_mode="random_resized")))
    assert x.shape == (4, 8, 8, 3)
    override = loader(ds, labels=np.arange(len(ds)) * 10, batch_size=4, crop=(8, 8),
                      crop_mode="random_resized")
    _, y = next(iter(override))
    np.testing.assert_array_equal(y, override.plan(0).indices * 10)


def test_bad_resizing_options():
    ds = make_set(np.random.default_rng(6))
    with pytest.raises(ValueError, match="area"):
        nc.Loader(ds, crop=8, crop_mode="random_resized", area=(0.0, 1.0))
    with pytest.raises(ValueError, match="ratio"):
        nc.Loader(ds, crop=8, crop_mode="random_resized", ratio=(2.0, 1.0))
    with pytest.raises(ValueError, match="resize"):
        nc.Loader(ds, crop=(8, 30), crop_mode="resize_center", resize=16)
    with pytest.raises(ValueError, match="interpolation 'bicubic'"):
        nc.Loader(ds, crop=8, crop_mode="random_resized", interpolation="bicubic")


@pytest.mark.parametrize("mode", ["random", "center", "resize_center"])
@pytest.mark.parametrize("option", [{"area": (0.5, 1.0)}, {"ratio": (1.0, 1.0)}])
def test_random_resized_options_with_another_mode_are_refused(mode, option):
    ds = make_set(np.random.default_rng(6))
    name = next(iter(option))
    with pytest.raises(ValueError, match=f"{name} applies only to crop_mode='random_resized', "
                                         f"not '{mode}'"):
        nc.Loader(ds, crop=8, crop_mode=mode, **option)


@pytest.mark.parametrize("mode", ["random", "center", "random_resized"])
def test_resize_with_another_mode_is_refused(mode):
    ds = make_set(np.random.default_rng(6))
    with pytest.raises(ValueError, match=f"resize applies only to crop_mode='resize_center', "
                                         f"not '{mode}'"):
        nc.Loader(ds, crop=8, crop_mode=mode, resize=20)


def test_none_means_the_documented_defaults():
    ds = make_set(np.random.default_rng(6))
    kw = dict(batch_size=4, crop=8, output="numpy", seed=3)
    a = nc.Loader(ds, crop_mode="random_resized", area=None, ratio=None, **kw)
    b = nc.Loader(ds, crop_mode="random_resized", area=(0.08, 1.0), ratio=(3 / 4, 4 / 3), **kw)
    assert all(np.array_equal(x[0], y[0]) for x, y in zip(a, b))
    c = nc.Loader(ds, crop_mode="resize_center", resize=None, **kw)
    d = nc.Loader(ds, crop_mode="resize_center", resize=9, **kw)  # 8 * 8 / 7 = 9
    assert all(np.array_equal(x[0], y[0]) for x, y in zip(c, d))


def test_normalization_layout_and_dtypes_apply_on_write():
    ds = make_set(np.random.default_rng(7))
    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    kw = dict(batch_size=4, crop=(10, 14), crop_mode="random_resized", seed=5, output="numpy")
    raw = next(iter(loader(ds, **kw)))[0]
    chw = next(iter(nc.Loader(ds, mean=mean, std=std, **kw)))[0]
    want = (raw.transpose(0, 3, 1, 2) / 255 - np.array(mean)[:, None, None]) / \
        np.array(std)[:, None, None]
    assert np.abs(chw - want).max() < 1e-4
    half = next(iter(nc.Loader(ds, mean=mean, std=std, dtype="float16", **kw)))[0]
    assert half.dtype == np.float16 and np.abs(half - want).max() < 1e-2
    u8 = next(iter(nc.Loader(ds, dtype="uint8", layout="HWC", **kw)))[0]
    assert np.abs(u8.astype(np.float64) - raw).max() <= 0.5 + 1e-3  # rounded to nearest


def test_deterministic_across_threads_resume_shards_and_held_batches():
    ds = make_set(np.random.default_rng(8), n=23)
    kw = dict(batch_size=4, crop=(12, 12), crop_mode="random_resized", seed=9)
    one = [np.array(b[0]) for b in loader(ds, num_threads=1, **kw)]
    many = loader(ds, num_threads=3, **kw)
    held = [b[0] for b in many]  # kept while the loader goes on (never overwritten)
    for a, b in zip(one, held):
        np.testing.assert_array_equal(a, b)
    again = [b[0] for b in many]  # the next epoch differs
    assert any(not np.array_equal(a, b) for a, b in zip(held, again))
    for a, b in zip(one, held):
        np.testing.assert_array_equal(a, b)
    # Resume: a loader restored at batch 2 of epoch 1 continues with the same bytes.
    ref = loader(ds, **kw)
    ref.set_epoch(1)
    want = [np.array(b[0]) for b in ref]
    ld = loader(ds, **kw)
    ld.set_epoch(1)
    it = iter(ld)
    next(it), next(it)
    state = ld.state_dict()
    fresh = loader(ds, **kw)
    fresh.load_state_dict(state)
    rest = [np.array(b[0]) for b in fresh]
    for a, b in zip(want[2:], rest):
        np.testing.assert_array_equal(a, b)
    # Shards: two ranks see disjoint samples that together cover the set (23 -> 12 + 12).
    idx = []
    for rank in range(2):
        sh = loader(ds, rank=rank, world_size=2, **kw)
        idx.append(np.concatenate([sh.plan(i).indices for i in range(len(sh))]))
        assert check_epoch(sh, ds, (12, 12), "random_resized") == 12
    assert set(idx[0]) | set(idx[1]) == set(range(23))


@settings(max_examples=25, deadline=None)
@given(sizes=st.lists(st.tuples(st.integers(1, 30), st.integers(1, 30)), min_size=1, max_size=4),
       crop=st.tuples(st.integers(1, 40), st.integers(1, 40)),
       extreme=st.booleans(), seed=st.integers(0, 1000))
def test_property_any_image_sizes(sizes, crop, extreme, seed):
    """1-pixel images, extreme aspect ratios (1 x 200), crops larger than the images."""
    if extreme:
        sizes = sizes + [(1, 200), (200, 1), (1, 1)]
    ds = make_set(np.random.default_rng(seed), sizes=sizes)
    ld = loader(ds, batch_size=3, crop=crop, crop_mode="random_resized", seed=seed)
    assert check_epoch(ld, ds, crop, "random_resized") == len(ds)
    resize = max(crop)
    ld = loader(ds, batch_size=3, crop=crop, crop_mode="resize_center", resize=resize)
    assert check_epoch(ld, ds, crop, "resize_center", resize=resize) == len(ds)
