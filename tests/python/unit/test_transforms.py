"""nocopy.transforms in the loader, against torchvision itself: every batch equals torchvision's
functional ops applied with the parameters loader.plan(i) reports (exact for crops, pads and
flips; within one uint8 level where a resample is involved), the parameters follow torchvision's
distributions, and bad pipelines are clear errors."""

import numpy as np
import pytest

import nocopy as nc
import nocopy.transforms as T

torch = pytest.importorskip("torch")
tv = pytest.importorskip("torchvision.transforms.v2")
F = pytest.importorskip("torchvision.transforms.v2.functional")

RNG = np.random.default_rng(7)
IMAGES = RNG.integers(0, 256, (12, 37, 53, 3), np.uint8)
# Smooth images too: resampling differences show as at most one level there.
_yy, _xx = np.mgrid[0:37, 0:53]
SMOOTH = np.stack([((_yy * 5 + _xx * 3 + k * 20) % 256) for k in range(12)])[..., None]
SMOOTH = np.repeat(SMOOTH, 3, axis=3).astype(np.uint8)


def _chw(image):
    return torch.from_numpy(np.array(image)).permute(2, 0, 1)


def _reference(image, transforms, params, k):
    """torchvision's functional ops applied to one HWC uint8 image with sample k's parameters
    from the plan, in the pipeline's order."""
    x = _chw(image)
    seen: dict[str, int] = {}
    for t in transforms:
        name = type(t).__name__
        seen[name] = seen.get(name, 0) + 1
        key = name if seen[name] == 1 else f"{name}#{seen[name]}"
        p = params.get(key, {})
        a = t._args
        interp = {"bilinear": F.InterpolationMode.BILINEAR,
                  "nearest": F.InterpolationMode.NEAREST}.get(a.get("interpolation"))
        if name == "RandomResizedCrop":
            x = F.resized_crop(x, int(p["top"][k]), int(p["left"][k]), int(p["height"][k]),
                               int(p["width"][k]), a["size"], interpolation=interp,
                               antialias=True)
        elif name == "Resize":
            x = F.resize(x, a["size"], interpolation=interp, max_size=a.get("max_size"),
                         antialias=True)
        elif name == "CenterCrop":
            x = F.center_crop(x, a["size"])
        elif name == "RandomCrop":
            h, w = x.shape[-2:]
            left, top, right, bottom = a["padding"]
            if a["pad_if_needed"]:
                if h + top + bottom < a["size"][0]:
                    d = a["size"][0] - (h + top + bottom)
                    top, bottom = top + d, bottom + d
                if w + left + right < a["size"][1]:
                    d = a["size"][1] - (w + left + right)
                    left, right = left + d, right + d
            if (left, top, right, bottom) != (0, 0, 0, 0):
                x = F.pad(x, [left, top, right, bottom], fill=a["fill"],
                          padding_mode=a["padding_mode"])
            x = F.crop(x, int(p["top"][k]), int(p["left"][k]), *a["size"])
        elif name == "Pad":
            x = F.pad(x, a["padding"], fill=a["fill"], padding_mode=a["padding_mode"])
        elif name == "RandomHorizontalFlip":
            if p["applied"][k]:
                x = F.horizontal_flip(x)
        elif name == "RandomVerticalFlip":
            if p["applied"][k]:
                x = F.vertical_flip(x)
        elif name == "ColorJitter":
            fns = [F.adjust_brightness, F.adjust_contrast, F.adjust_saturation, F.adjust_hue]
            fields = ["brightness", "contrast", "saturation", "hue"]
            for which in p["order"][k]:
                factor = p[fields[which]][k]
                if not np.isnan(factor):
                    x = fns[which](x, float(factor))
        elif name == "Grayscale":
            x = F.rgb_to_grayscale(x, num_output_channels=a["num_output_channels"])
        elif name == "GaussianBlur":
            sigma = float(p["sigma"][k])
            x = F.gaussian_blur(x, a["kernel_size"], [sigma, sigma])
        elif name.startswith("Random") and name[6:] in _COLOUR:
            if p["applied"][k]:
                fn, arg = _COLOUR[name[6:]]
                x = fn(x) if arg is None else fn(x, a[arg] if arg != "bits" else int(a["value"]))
        elif name == "ToDtype":
            x = F.to_dtype(x, getattr(torch, a["dtype"]), scale=a["scale_values"])
        elif name == "Normalize":
            x = F.normalize(x, a["mean"], a["std"])
        elif name == "RandomErasing":
            if p["applied"][k]:
                v = torch.tensor(a["fill"], dtype=x.dtype)[:, None, None]
                x = F.erase(x, int(p["top"][k]), int(p["left"][k]), int(p["height"][k]),
                            int(p["width"][k]), v)
        else:
            raise AssertionError(name)
    return x.numpy()


_COLOUR = {
    "Grayscale": (lambda x: F.rgb_to_grayscale(x, num_output_channels=3), None),
    "Invert": (F.invert, None),
    "Posterize": (F.posterize, "bits"),
    "Solarize": (F.solarize, "value"),
    "AdjustSharpness": (F.adjust_sharpness, "value"),
    "Autocontrast": (F.autocontrast, None),
    "Equalize": (F.equalize, None),
}


def _check_against_torchvision(images, transforms, atol, batches=2, exact_share=None):
    loader = nc.Loader(images, batch_size=6, transforms=T.Compose(transforms), output="numpy",
                       seed=3, num_threads=2)
    worst = 0.0
    for i, batch in enumerate(loader):
        if i >= batches:
            break
        plan = loader.plan(i)
        for k, idx in enumerate(plan.indices):
            want = _reference(images[idx], transforms, plan.params, k)
            got = batch[k]
            assert got.shape == want.shape, (got.shape, want.shape)
            assert got.dtype == want.dtype
            diff = np.abs(got.astype(np.float64) - want.astype(np.float64))
            worst = max(worst, float(diff.max()))
            if exact_share is not None:
                assert (diff == 0).mean() >= exact_share
    assert worst <= atol, worst
    return worst


EXACT = [
    [T.CenterCrop(20)],
    [T.CenterCrop((41, 60))],  # larger than the image: padded with zeros
    [T.RandomCrop(24)],
    [T.RandomCrop(30, padding=4)],
    [T.RandomCrop((40, 20), pad_if_needed=True, fill=(9, 99, 199))],
    [T.RandomCrop(32, padding=(3, 5), padding_mode="edge")],
    [T.RandomCrop(32, padding=(1, 2, 3, 4), padding_mode="reflect")],
    [T.RandomCrop(32, padding=6, padding_mode="symmetric")],
    [T.Pad(3, fill=17), T.CenterCrop(30)],
    [T.Pad((2, 1, 0, 5), padding_mode="reflect"), T.RandomHorizontalFlip(0.5)],
    [T.RandomHorizontalFlip(0.5), T.RandomVerticalFlip(0.5), T.RandomCrop(25)],
    [T.RandomVerticalFlip(1.0)],
    [T.Pad(4), T.RandomCrop(30), T.RandomHorizontalFlip()],
    # Pads with different fills: each padded pixel shows the fill of the pad that made it.
    [T.Pad(2, fill=3), T.RandomCrop(44, padding=(1, 3), fill=(4, 40, 140)), T.CenterCrop(52)],
]


@pytest.mark.parametrize("transforms", EXACT, ids=lambda ts: "+".join(type(t).__name__
                                                                      for t in ts))
def test_crops_pads_and_flips_equal_torchvision_exactly(transforms):
    _check_against_torchvision(IMAGES, transforms, atol=0)


RESAMPLED = [
    [T.RandomResizedCrop(24)],
    [T.RandomResizedCrop((20, 30), scale=(0.3, 0.9), ratio=(0.5, 2.0)), T.RandomHorizontalFlip()],
    [T.RandomResizedCrop(16, interpolation="nearest")],
    [T.Resize(24)],
    [T.Resize((50, 70))],  # enlarging
    [T.Resize(20, max_size=25)],
    [T.Resize(30), T.CenterCrop(28)],
    [T.Resize(32), T.RandomCrop(28, padding=2), T.RandomVerticalFlip()],
]


@pytest.mark.parametrize("transforms", RESAMPLED, ids=lambda ts: "+".join(type(t).__name__
                                                                          for t in ts))
@pytest.mark.parametrize("images", [IMAGES, SMOOTH], ids=["noise", "smooth"])
def test_resampling_pipelines_are_within_one_level_of_torchvision(transforms, images):
    _check_against_torchvision(images, transforms, atol=1, exact_share=0.6)


COLOUR = [
    [T.ColorJitter(0.4, 0.4, 0.4, 0.1)],
    [T.ColorJitter(brightness=(0.2, 1.8), hue=0.5), T.RandomGrayscale(0.5)],
    [T.ColorJitter(contrast=0.9, saturation=(0.0, 2.0))],
    [T.Grayscale(num_output_channels=3)],
    [T.Grayscale()],
    [T.RandomInvert(), T.RandomPosterize(3), T.RandomSolarize(128)],
    [T.RandomAdjustSharpness(2.0), T.RandomAutocontrast(), T.RandomEqualize()],
    [T.RandomAdjustSharpness(0.3, p=1.0)],
    [T.GaussianBlur(5, sigma=(0.1, 2.0))],
    [T.GaussianBlur((3, 7), sigma=1.5)],
]


@pytest.mark.parametrize("transforms", COLOUR, ids=lambda ts: "+".join(type(t).__name__
                                                                       for t in ts))
def test_colour_transforms_equal_torchvision(transforms):
    # Exact except the blur (separable here, 2-d there: one level on rare ties).
    blur = any(isinstance(t, T.GaussianBlur) for t in transforms)
    pipeline = [T.RandomCrop(30), T.RandomHorizontalFlip()] + transforms
    _check_against_torchvision(IMAGES, pipeline, atol=1 if blur else 0, exact_share=0.999)
    _check_against_torchvision(SMOOTH, pipeline, atol=1 if blur else 0, exact_share=0.999)


def test_the_reference_recipe_runs_fused_and_matches_torchvision():
    mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
    transforms = [T.RandomResizedCrop(24), T.RandomHorizontalFlip(),
                  T.ColorJitter(0.4, 0.4, 0.4), T.ToDtype(torch.float32, scale=True),
                  T.Normalize(mean, std), T.RandomErasing(0.25)]
    # The resample rounds to uint8 before the colour steps, as torchvision does, within one
    # level of it; the jitter's factors (at most 1.4 each, three of them) carry that level to
    # at most 1.4 ** 3 < 3 levels. Without a resample the recipe is exact.
    _check_against_torchvision(SMOOTH, transforms, atol=3 / 255 / min(std) + 1e-5)
    exact = [T.RandomCrop(24)] + transforms[1:]
    _check_against_torchvision(IMAGES, exact, atol=1e-5)


def test_float_output_with_normalize_and_erasing_matches_torchvision():
    mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
    transforms = [T.RandomResizedCrop(24), T.RandomHorizontalFlip(),
                  T.ToDtype(torch.float32, scale=True), T.Normalize(mean, std),
                  T.RandomErasing(p=0.7, value=0)]
    # One uint8 level in normalized units, plus float32 rounding.
    _check_against_torchvision(SMOOTH, transforms, atol=1 / 255 / min(std) + 1e-5, batches=2)
    _check_against_torchvision(IMAGES, [T.CenterCrop(30), T.ToDtype("float32", scale=True),
                                        T.Normalize([0.5], [0.25]),
                                        T.RandomErasing(1.0, value=(1, 2, 3))],
                               atol=1e-5)


def test_float16_and_unscaled_outputs():
    loader = nc.Loader(IMAGES, batch_size=4, output="numpy", shuffle=False,
                       transforms=[T.CenterCrop(8), T.ToDtype(np.float16)])
    x = next(iter(loader))
    assert x.dtype == np.float16
    want = np.stack([_reference(IMAGES[i], [T.CenterCrop(8)], {}, 0) for i in range(4)])
    np.testing.assert_array_equal(x, want.astype(np.float16))


def test_a_sample_keeps_its_size_and_dtype_without_geometry():
    loader = nc.Loader(IMAGES, batch_size=4, output="numpy", shuffle=False, layout="HWC",
                       transforms=[T.RandomHorizontalFlip(0.0)])
    x = next(iter(loader))
    np.testing.assert_array_equal(x, IMAGES[:4])
    assert x.dtype == np.uint8


def test_from_torchvision_gives_the_same_batches_as_the_nocopy_pipeline():
    ours = T.Compose([T.RandomResizedCrop(20, scale=(0.2, 1.0)), T.RandomHorizontalFlip(),
                      T.ToDtype("float32", scale=True), T.Normalize([0.5] * 3, [0.2] * 3),
                      T.RandomErasing(0.3)])
    theirs = tv.Compose([tv.ToImage(), tv.RandomResizedCrop(20, scale=(0.2, 1.0)),
                         tv.RandomHorizontalFlip(), tv.ToDtype(torch.float32, scale=True),
                         tv.Normalize([0.5] * 3, [0.2] * 3), tv.RandomErasing(0.3)])
    a = nc.Loader(IMAGES, batch_size=6, transforms=ours, output="numpy", seed=5)
    b = nc.Loader(IMAGES, batch_size=6, transforms=theirs, output="numpy", seed=5)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert [s for s in T.from_torchvision(theirs)._steps()] == ours._steps()


def test_plans_are_deterministic_and_independent_of_threads():
    transforms = [T.RandomResizedCrop(16), T.RandomVerticalFlip(), T.RandomErasing(0.5)]
    runs = []
    for threads in (1, 2):
        ld = nc.Loader(IMAGES, batch_size=5, transforms=transforms, output="numpy", seed=11,
                       num_threads=threads)
        runs.append([b.copy() for b in ld])
    for x, y in zip(*runs):
        np.testing.assert_array_equal(x, y)
    ld = nc.Loader(IMAGES, batch_size=5, transforms=transforms, output="numpy", seed=11)
    p0, p1 = ld.plan(1), ld.plan(1)
    np.testing.assert_array_equal(p0.params["RandomErasing"]["top"],
                                  p1.params["RandomErasing"]["top"])


def test_resume_from_a_state_gives_the_same_batches():
    transforms = [T.RandomCrop(20, padding=2), T.RandomHorizontalFlip()]
    ld = nc.Loader(IMAGES, batch_size=4, transforms=transforms, output="numpy", seed=2)
    it = iter(ld)
    next(it)
    state = ld.state_dict()
    rest = [b.copy() for b in it]
    ld2 = nc.Loader(IMAGES, batch_size=4, transforms=transforms, output="numpy", seed=2)
    ld2.load_state_dict(state)
    for x, y in zip(rest, ld2):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("fmt", ["raw", "jpeg"])
def test_image_sets_run_the_same_pipeline(tmp_path, fmt):
    pil = pytest.importorskip("PIL.Image")
    src = tmp_path / "src" / "a"
    src.mkdir(parents=True)
    sizes = [(40, 50), (64, 48), (33, 33), (50, 70)]
    for k, (h, w) in enumerate(sizes):
        pil.fromarray(SMOOTH[k][:1].repeat(h, 0)[:, :1].repeat(w, 1) ^ np.uint8(k * 40)
                      ).save(src / f"{k}.png")
    nc.pack_images(tmp_path / "src", tmp_path / "set", format=fmt, progress=False)
    ds = nc.ImageSet.open(tmp_path / "set")
    transforms = [T.RandomResizedCrop(24), T.RandomHorizontalFlip(), T.ToDtype("float32", True)]
    ld = nc.Loader(ds, batch_size=4, transforms=transforms, output="numpy", decode_scale="exact")
    x, _labels = next(iter(ld))
    plan = ld.plan(0)
    for k, idx in enumerate(plan.indices):
        want = _reference(ds[int(idx)], transforms, plan.params, k)
        assert np.abs(x[k] - want).max() <= 1 / 255 + 1e-6


def test_parameter_distributions_follow_torchvision():
    n = 4000
    big = np.zeros((n, 40, 60, 3), np.uint8)
    ld = nc.Loader(big, batch_size=n, output="numpy",
                   transforms=[T.RandomResizedCrop(8, scale=(0.1, 0.9)), T.RandomHorizontalFlip(0.3),
                               T.RandomCrop(6, padding=1), T.RandomErasing(0.5)])
    p = ld.plan(0).params
    ours_area = p["RandomResizedCrop"]["height"] * p["RandomResizedCrop"]["width"] / 2400
    # torchvision's own draws of the same transform on the same image size.
    torch.manual_seed(0)
    rrc = tv.RandomResizedCrop(8, scale=(0.1, 0.9))
    theirs = []
    for _ in range(n):
        i, j, h, w = rrc.make_params([torch.zeros(3, 40, 60, dtype=torch.uint8)]).values() \
            if hasattr(rrc, "make_params") else (0, 0, 0, 0)
        theirs.append(h * w / 2400)
    theirs = np.array(theirs)
    # Two-sample Kolmogorov-Smirnov statistic; 1.95 * sqrt(2 / n) is its 0.1% critical value.
    grid = np.sort(np.concatenate([ours_area, theirs]))
    cdf = lambda a: np.searchsorted(np.sort(a), grid, side="right") / len(a)  # noqa: E731
    assert np.abs(cdf(ours_area) - cdf(theirs)).max() < 1.95 * np.sqrt(2 / n)
    flips = p["RandomHorizontalFlip"]["applied"].mean()
    assert abs(flips - 0.3) < 5 * np.sqrt(0.3 * 0.7 / n)
    tops = p["RandomCrop"]["top"]
    assert set(np.unique(tops)) == {0, 1, 2, 3, 4}  # padded 10 - 6 + 1 positions
    assert np.abs(np.bincount(tops) / n - 0.2).max() < 5 * np.sqrt(0.2 * 0.8 / n)
    erased = p["RandomErasing"]["applied"].mean()
    assert abs(erased - 0.5) < 5 * np.sqrt(0.25 / n)


@pytest.mark.parametrize("kwargs, match", [
    ({"crop": 32}, "crop is a shorthand"),
    ({"mirror": 0.0}, "mirror is a shorthand"),
    ({"dtype": "float16"}, "dtype is a shorthand"),
])
def test_shorthand_options_with_transforms_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        nc.Loader(IMAGES, transforms=[T.CenterCrop(8)], **kwargs)


def test_pipelines_that_cannot_run_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="second resampling"):
        nc.Loader(IMAGES, transforms=[T.Resize(30), T.RandomResizedCrop(20)])
    with pytest.raises(ValueError, match="before the crops"):
        nc.Loader(IMAGES, transforms=[T.CenterCrop(30), T.Resize(20)])
    with pytest.raises(ValueError, match="larger than the padded image"):
        nc.Loader(IMAGES, transforms=[T.RandomCrop(60)])
    with pytest.raises(ValueError, match="needs float images"):
        nc.Loader(IMAGES, transforms=[T.Normalize([0.5], [0.5])])
    floats = IMAGES.astype(np.float32)
    with pytest.raises(ValueError, match="need uint8 images"):
        nc.Loader(floats, transforms=[T.RandomInvert()])
    pil = pytest.importorskip("PIL.Image")
    (tmp_path / "s" / "a").mkdir(parents=True)
    for k, (h, w) in enumerate([(20, 30), (30, 20)]):
        pil.fromarray(np.zeros((h, w, 3), np.uint8)).save(tmp_path / "s" / "a" / f"{k}.png")
    nc.pack_images(tmp_path / "s", tmp_path / "set", progress=False)
    ds = nc.ImageSet.open(tmp_path / "set")
    with pytest.raises(ValueError, match="a batch needs one size"):
        nc.Loader(ds, transforms=[T.Resize(10)])
    nc.Loader(ds, transforms=[T.Resize(10), T.CenterCrop(10)])  # fixed size: fine


@pytest.mark.parametrize("make, exc, match", [
    (lambda: T.RandomHorizontalFlip(2.0), ValueError, "p=2"),
    (lambda: T.RandomHorizontalFlip("x"), TypeError, "p must be"),
    (lambda: T.RandomResizedCrop(0), ValueError, "size"),
    (lambda: T.RandomResizedCrop(8, scale=(0.9, 0.1)), ValueError, "area"),
    (lambda: T.RandomResizedCrop(8, antialias=False), ValueError, "antialias"),
    (lambda: T.Resize(8, interpolation="bicubic"), ValueError, "interpolation"),
    (lambda: T.Resize((8, 8), max_size=10), ValueError, "max_size"),
    (lambda: T.RandomCrop(8, padding=(1, 2, 3)), ValueError, "Padding"),
    (lambda: T.RandomCrop(8, padding_mode="wrap"), ValueError, "padding_mode"),
    (lambda: T.RandomCrop(8, padding=-1), ValueError, "padding"),
    (lambda: T.ColorJitter(brightness=-1), ValueError, "non negative"),
    (lambda: T.ColorJitter(hue=0.7), ValueError, "hue"),
    (lambda: T.GaussianBlur(4), ValueError, "odd"),
    (lambda: T.RandomPosterize(9), ValueError, "bits"),
    (lambda: T.ToDtype("int32"), ValueError, "dtype"),
    (lambda: T.Normalize([0.5, 0.5], [0.5, 0.0]), ValueError, "std"),
    (lambda: T.RandomErasing(scale=(0.5, 0.1)), ValueError, "scale"),
    (lambda: T.RandomErasing(value="noise"), ValueError, "random"),
    (lambda: T.Compose(T.CenterCrop(3)), TypeError, "sequence"),
])
def test_bad_arguments_fail_when_the_transform_is_built(make, exc, match):
    with pytest.raises(exc, match=match):
        make()


def test_unsupported_torchvision_transforms_are_named():
    with pytest.raises(ValueError, match="RandomPerspective cannot be fused"):
        T.from_torchvision(tv.Compose([tv.RandomPerspective()]))
    with pytest.raises(ValueError, match="fallback"):
        T.from_torchvision(tv.Compose([tv.RandomHorizontalFlip()]), fallback="never")
    with pytest.raises(TypeError, match="neither"):
        T.Compose([lambda x: x])


def _torchvision_mix(kind, images, labels, num_classes, batch_params):
    """torchvision's MixUp / CutMix on a batch with the plan's draws."""
    t = (tv.MixUp if kind == "MixUp" else tv.CutMix)(alpha=1.0, num_classes=num_classes)
    if kind == "MixUp":
        params = {"lam": batch_params["lam"]}
    else:
        box = tuple(int(batch_params[k]) for k in ("x1", "y1", "x2", "y2"))
        params = {"box": box, "lam_adjusted": batch_params["label_lam"]}
    t.make_params = lambda flat_inputs: dict(params)
    x, y = t(torch.from_numpy(images), torch.from_numpy(labels))
    return x.numpy(), y.numpy()


@pytest.mark.parametrize("layout", ["CHW", "HWC"])
@pytest.mark.parametrize("batch_transform, expected", [
    (lambda: T.MixUp(alpha=0.2, num_classes=5), {"MixUp"}),
    (lambda: T.CutMix(alpha=1.0, num_classes=5), {"CutMix"}),
    (lambda: tv.RandomChoice([tv.MixUp(alpha=0.8, num_classes=5),
                              tv.CutMix(alpha=1.0, num_classes=5)]), {"MixUp", "CutMix"}),
], ids=["mixup", "cutmix", "choice"])
def test_mixup_and_cutmix_equal_torchvision_with_the_planned_draws(batch_transform, expected,
                                                                   layout):
    labels = np.arange(len(IMAGES)) % 5
    transforms = [T.RandomCrop(24), T.ToDtype("float32", scale=True)]
    kinds = set()
    for seed in range(3):
        loader = nc.Loader(IMAGES, labels, batch_size=6, transforms=transforms, layout=layout,
                           batch_transforms=batch_transform(), output="numpy", seed=seed)
        for i, (x, y) in enumerate(loader):
            plan = loader.plan(i)
            kinds.add(plan.batch["transform"])
            unmixed = np.stack([_reference(IMAGES[j], transforms, plan.params, k)
                                for k, j in enumerate(plan.indices)])
            want_x, want_y = _torchvision_mix(plan.batch["transform"], unmixed,
                                              labels[plan.indices], 5, plan.batch)
            if layout == "HWC":
                want_x = want_x.transpose(0, 2, 3, 1)
            np.testing.assert_array_equal(x, want_x)
            np.testing.assert_array_equal(y, want_y)
            assert y.dtype == np.float32 and y.shape == (6, 5)
    assert kinds == expected


def test_batch_transforms_draw_lam_from_beta():
    labels = np.zeros(4000, np.int64)
    data = np.zeros((4000, 4, 4, 1), np.uint8)
    ld = nc.Loader(data, labels, batch_size=2, transforms=[T.ToDtype("float32")],
                   batch_transforms=T.MixUp(alpha=0.4, num_classes=2), output="numpy")
    lams = np.array([ld.plan(i).batch["lam"] for i in range(len(ld))])
    ref = np.random.default_rng(0).beta(0.4, 0.4, len(lams))
    grid = np.sort(np.concatenate([lams, ref]))
    cdf = lambda a: np.searchsorted(np.sort(a), grid, side="right") / len(a)  # noqa: E731
    assert np.abs(cdf(lams) - cdf(ref)).max() < 1.95 * np.sqrt(2 / len(lams))


def test_batch_transforms_work_with_the_shorthand_options_and_check_labels():
    labels = np.arange(len(IMAGES)) % 3
    ld = nc.Loader(IMAGES, labels, batch_size=4, crop=16, output="numpy",
                   batch_transforms=[T.MixUp(num_classes=3)])
    x, y = next(iter(ld))
    assert y.shape == (4, 3) and np.allclose(y.sum(axis=1), 1.0)
    with pytest.raises(ValueError, match="need labels"):
        nc.Loader(IMAGES, batch_size=4, crop=16, batch_transforms=T.MixUp(num_classes=3))
    with pytest.raises(ValueError, match="need labels"):
        nc.Loader(IMAGES, np.zeros(len(IMAGES), np.float32), crop=16,
                  batch_transforms=T.MixUp(num_classes=3))
    bad = nc.Loader(IMAGES, labels + 1, batch_size=4, crop=16, output="numpy", shuffle=False,
                    batch_transforms=T.CutMix(num_classes=3))
    with pytest.raises(nc.LoaderError, match="outside"):
        list(bad)
    with pytest.raises(ValueError, match="num_classes"):
        T.MixUp()
    with pytest.raises(ValueError, match="alpha"):
        T.CutMix(alpha=0.0, num_classes=3)
    with pytest.raises(ValueError, match="one batch transform"):
        nc.Loader(IMAGES, labels, crop=16, batch_transforms=[T.MixUp(num_classes=3),
                                                            T.CutMix(num_classes=3)])
    with pytest.raises(TypeError, match="batch_transforms takes"):
        nc.Loader(IMAGES, labels, crop=16, batch_transforms=T.CenterCrop(3))


def test_a_batch_transforms_callable_runs_on_each_exported_batch():
    labels = np.arange(len(IMAGES))
    seen = []

    def after(batch):
        x, y = batch
        seen.append(y.copy())
        return x * 2, y

    ld = nc.Loader(IMAGES, labels, batch_size=4, crop=8, crop_mode="center", mirror=0.0,
                   dtype="uint8", shuffle=False, output="numpy", batch_transforms=after)
    plain = nc.Loader(IMAGES, labels, batch_size=4, crop=8, crop_mode="center", mirror=0.0,
                      dtype="uint8", shuffle=False, output="numpy")
    for (x, y), (px, py) in zip(ld, plain):
        np.testing.assert_array_equal(x, px * 2)
        np.testing.assert_array_equal(y, py)
    assert len(seen) == len(ld)


def _ks(a, b):
    """The two-sample Kolmogorov-Smirnov statistic of a and b."""
    grid = np.sort(np.concatenate([a, b]))
    return np.abs(np.searchsorted(np.sort(a), grid, side="right") / len(a)
                  - np.searchsorted(np.sort(b), grid, side="right") / len(b)).max()


def test_colour_and_erasing_draws_follow_torchvision():
    n = 3000
    data = np.zeros((n, 30, 40, 3), np.uint8)
    ld = nc.Loader(data, batch_size=n, output="numpy",
                   transforms=[T.ColorJitter(0.4, (0.2, 0.9), 0.3, 0.1), T.GaussianBlur(3, (0.5, 1.5)),
                               T.ToDtype("float32"), T.RandomErasing(1.0, scale=(0.05, 0.4))])
    p = ld.plan(0).params
    crit = 1.95 * np.sqrt(2 / n)  # 0.1% critical value of the two-sample KS statistic
    torch.manual_seed(1)
    cj = tv.ColorJitter(0.4, (0.2, 0.9), 0.3, 0.1)
    draws = [cj.make_params([torch.zeros(3, 30, 40, dtype=torch.uint8)]) for _ in range(n)]
    for k, name in enumerate(["brightness", "contrast", "saturation", "hue"]):
        theirs = np.array([d[f"{name}_factor"] for d in draws])
        assert _ks(p["ColorJitter"][name], theirs) < crit, name
    # The order: each of the 24 permutations about equally often (chi-square, 23 dof, 0.1%).
    codes = p["ColorJitter"]["order"] @ np.array([64, 16, 4, 1])
    counts = np.unique(codes, return_counts=True)[1]
    assert len(counts) == 24
    assert ((counts - n / 24) ** 2 / (n / 24)).sum() < 49.7
    blur = tv.GaussianBlur(3, (0.5, 1.5))
    theirs = np.array([blur.make_params([])["sigma"][0] for _ in range(n)])
    assert _ks(p["GaussianBlur"]["sigma"], theirs) < crit
    er = tv.RandomErasing(1.0, scale=(0.05, 0.4))
    boxes = [er.make_params([torch.zeros(3, 30, 40)]) for _ in range(n)]
    ours = p["RandomErasing"]
    assert ours["applied"].all()
    for field, key in [("height", "h"), ("width", "w"), ("top", "i"), ("left", "j")]:
        assert _ks(ours[field], np.array([b[key] for b in boxes])) < crit, field


def test_random_erasing_noise_is_reproducible_from_the_plan():
    transforms = [T.CenterCrop(30), T.ToDtype("float32", scale=True),
                  T.RandomErasing(1.0, scale=(0.1, 0.3), value="random")]
    for layout in ("CHW", "HWC"):
        ld = nc.Loader(IMAGES, batch_size=6, transforms=transforms, output="numpy",
                       layout=layout, num_threads=2, seed=4)
        x = next(iter(ld))
        plan = ld.plan(0)
        e = plan.params["RandomErasing"]
        for k, i in enumerate(plan.indices):
            want = _reference(IMAGES[i], transforms[:2], plan.params, k)
            t, l, h, w = (int(e[f][k]) for f in ("top", "left", "height", "width"))
            want[:, t:t + h, l:l + w] = T.erasing_noise(e["noise_seed"][k], (3, h, w))
            got = x[k] if layout == "CHW" else x[k].transpose(2, 0, 1)
            np.testing.assert_array_equal(got, want)
    noise = T.erasing_noise(123, (3, 100, 100))
    assert abs(noise.mean()) < 0.03 and abs(noise.std() - 1) < 0.03
    assert not np.array_equal(noise, T.erasing_noise(124, (3, 100, 100)))
