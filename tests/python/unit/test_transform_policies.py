"""The augmentation policies, random warps and random containers of nocopy.transforms against
torchvision itself: every sample equals torchvision's own ops (its functional rotate / affine,
and the policies' own op applier) run with the parameters loader.plan(i) reports, exactly; the
parameters follow torchvision's distributions (two-sample chi-square and Kolmogorov-Smirnov
tests against torchvision's make_params / forward draws, at the 0.1% level, fixed seeds); bad
arguments are clear errors."""

import math

import numpy as np
import pytest

import nocopy as nc
import nocopy.transforms as T

torch = pytest.importorskip("torch")
tv = pytest.importorskip("torchvision.transforms.v2")
F = pytest.importorskip("torchvision.transforms.v2.functional")

RNG = np.random.default_rng(11)
RGB = RNG.integers(0, 256, (8, 31, 45, 3), np.uint8)
SQUARE = RNG.integers(0, 256, (8, 24, 24, 3), np.uint8)
GRAY = RNG.integers(0, 256, (8, 29, 22, 1), np.uint8)
_yy, _xx = np.mgrid[0:31, 0:45]
SMOOTH = np.stack([(_yy * 3 + _xx * 5 + 17 * k) % 256 for k in range(8)])[..., None]
SMOOTH = np.repeat(SMOOTH, 3, axis=3).astype(np.uint8)
TINY = RNG.integers(0, 256, (8, 2, 3, 3), np.uint8)
DOT = RNG.integers(0, 256, (8, 1, 1, 1), np.uint8)
IMAGE_SETS = {"rgb": RGB, "square": SQUARE, "gray": GRAY, "smooth": SMOOTH, "tiny": TINY,
              "dot": DOT}

_TV_POLICY = {"AutoAugment": tv.AutoAugment, "RandAugment": tv.RandAugment,
              "TrivialAugmentWide": tv.TrivialAugmentWide, "AugMix": tv.AugMix}


def _chw(image):
    return torch.from_numpy(np.array(image)).permute(2, 0, 1).contiguous()


def _mode(a):
    return F.InterpolationMode(a["interpolation"])


def _keys(transforms):
    """The plan key of every transform that draws, in the pipeline's step order."""
    keys, seen = {}, {}

    def visit(t):
        if getattr(t, "_param_names", None):
            name = type(t).__name__
            seen[name] = seen.get(name, 0) + 1
            keys[id(t)] = name if seen[name] == 1 else f"{name}#{seen[name]}"
        for c in getattr(t, "transforms", []):
            visit(c)

    for t in transforms:
        visit(t)
    return keys


def _reference(image, transforms, params, k):
    """torchvision's ops applied to one HWC uint8 image with sample k's plan parameters."""
    keys = _keys(transforms)

    def run(t, x):
        name = type(t).__name__
        p = params.get(keys.get(id(t)), {})
        a = getattr(t, "_args", {})
        if name == "Compose":
            for c in t.transforms:
                x = run(c, x)
        elif name == "RandomApply":
            if p["applied"][k]:
                for c in t.transforms:
                    x = run(c, x)
        elif name == "RandomChoice":
            x = run(t.transforms[p["choice"][k]], x)
        elif name == "RandomOrder":
            for i in p["order"][k]:
                x = run(t.transforms[i], x)
        elif name == "RandomRotation":
            x = F.rotate(x, float(p["angle"][k]), interpolation=_mode(a), expand=False,
                         center=a["center"], fill=a["fill"])
        elif name == "RandomAffine":
            x = F.affine(x, float(p["angle"][k]),
                         [int(p["translate_x"][k]), int(p["translate_y"][k])],
                         float(p["scale"][k]), [float(p["shear_x"][k]), float(p["shear_y"][k])],
                         interpolation=_mode(a), fill=a["fill"], center=a["center"])
        elif name in ("TrivialAugmentWide", "RandAugment", "AutoAugment"):
            ref = _TV_POLICY[name](interpolation=_mode(a), fill=a["fill"])
            ops = np.atleast_1d(p["op"][k])
            mags = np.atleast_1d(p["magnitude"][k])
            applied = np.atleast_1d(p["applied"][k]) if "applied" in p else [True] * len(ops)
            for op, mag, on in zip(ops, mags, applied):
                if on:
                    x = ref._apply_image_or_video_transform(
                        x, T.AUGMENT_OPS[op], float(mag), interpolation=_mode(a), fill=ref._fill)
        elif name == "AugMix":
            x = _augmix_reference(x, a, p, k)
        elif name == "RandomInvert":
            x = F.invert(x) if p["applied"][k] else x
        elif name == "RandomEqualize":
            x = F.equalize(x) if p["applied"][k] else x
        elif name == "RandomAutocontrast":
            x = F.autocontrast(x) if p["applied"][k] else x
        elif name == "RandomPosterize":
            x = F.posterize(x, int(a["value"])) if p["applied"][k] else x
        elif name == "RandomSolarize":
            x = F.solarize(x, a["value"]) if p["applied"][k] else x
        elif name == "ColorJitter":
            fns = [F.adjust_brightness, F.adjust_contrast, F.adjust_saturation, F.adjust_hue]
            fields = ["brightness", "contrast", "saturation", "hue"]
            for which in p["order"][k]:
                if not np.isnan(p[fields[which]][k]):
                    x = fns[which](x, float(p[fields[which]][k]))
        else:
            raise AssertionError(f"no reference for {name}")
        return x

    x = _chw(image)
    for t in transforms:
        x = run(t, x)
    return x


def _augmix_reference(x, a, p, k):
    """torchvision's AugMix.forward with the plan's weights, depths, ops and magnitudes."""
    ref = tv.AugMix(interpolation=_mode(a), fill=a["fill"])
    batch = x.reshape(1, *x.shape)
    w = torch.tensor(p["weight"][k], dtype=torch.float32)
    mix = w[0].reshape(1, 1, 1, 1) * batch
    for i in range(a["mixture_width"]):
        aug = batch
        for j in range(int(p["depth"][k][i])):
            aug = ref._apply_image_or_video_transform(
                aug, T.AUGMENT_OPS[p["op"][k][i][j]], float(p["magnitude"][k][i][j]),
                interpolation=_mode(a), fill=ref._fill)
        mix.add_(w[1 + i].reshape(1, 1, 1, 1) * aug)
    return mix.reshape(x.shape).to(torch.uint8)


def _check_equal(images, transforms, batches=2, seed=3):
    loader = nc.Loader(images, batch_size=4, output="numpy", transforms=transforms, seed=seed,
                       shuffle=True)
    worst = 0
    for i, batch in enumerate(loader):
        if i == batches:
            break
        plan = loader.plan(i)
        for k, idx in enumerate(plan.indices):
            ref = _reference(images[idx], transforms, plan.params, k).numpy()
            diff = np.abs(batch[k].astype(int) - ref.astype(int))
            worst = max(worst, int(diff.max()))
            assert diff.max() == 0, (transforms, k, int((diff > 0).sum()), int(diff.max()))
    return worst


CASES = [
    ("rgb", [T.RandomRotation(180)]),
    ("square", [T.RandomRotation([90, 90])]),
    ("square", [T.RandomRotation([-180, -180])]),
    ("rgb", [T.RandomRotation([90, 90])]),
    ("rgb", [T.RandomRotation((-45, 45), T.InterpolationMode.BILINEAR, center=(3, 7),
                              fill=[10, 200, 30])]),
    ("gray", [T.RandomRotation(30, "bilinear", fill=None)]),
    ("rgb", [T.RandomAffine(30, (0.2, 0.1), (0.7, 1.3), (-10, 10, -5, 5), fill=7)]),
    ("smooth", [T.RandomAffine(20, (0.1, 0.3), (0.8, 1.1), 15, "bilinear", fill=[1, 2, 3],
                               center=(10.5, 4))]),
    ("gray", [T.RandomAffine(0, scale=(0.5, 2.0), interpolation="bilinear")]),
    ("rgb", [T.TrivialAugmentWide()]),
    ("smooth", [T.TrivialAugmentWide(interpolation="bilinear", fill=[128, 64, 0])]),
    ("gray", [T.TrivialAugmentWide(num_magnitude_bins=7)]),
    ("rgb", [T.RandAugment(num_ops=3, magnitude=13)]),
    ("smooth", [T.RandAugment(2, 9, 31, "bilinear", fill=100)]),
    ("gray", [T.RandAugment(num_ops=4, magnitude=30)]),
    ("rgb", [T.AutoAugment()]),
    ("smooth", [T.AutoAugment(interpolation="bilinear", fill=[5, 6, 7])]),
    ("gray", [T.AutoAugment()]),
    ("rgb", [T.AugMix()]),
    ("smooth", [T.AugMix(severity=10, mixture_width=2, chain_depth=2, alpha=0.5, all_ops=False,
                         interpolation="nearest", fill=9)]),
    ("gray", [T.AugMix(mixture_width=4, alpha=2.0)]),
    ("rgb", [T.RandomApply([T.ColorJitter(0.4, 0.4), T.TrivialAugmentWide()], p=0.5)]),
    ("rgb", [T.RandomChoice([T.RandomInvert(1.0), T.RandomRotation(20),
                             T.Compose([T.RandomEqualize(1.0), T.RandomSolarize(100, 1.0)])],
                            p=[1, 2, 3])]),
    ("smooth", [T.RandomOrder([T.RandomPosterize(3, 1.0), T.RandomAffine(15),
                               T.RandomAutocontrast(1.0)])]),
    ("rgb", [T.RandomApply([T.RandomChoice([T.RandAugment(1), T.AugMix(mixture_width=1)])], 0.8),
             T.RandomInvert()]),
    ("tiny", [T.RandAugment(num_ops=5, interpolation="bilinear"), T.AugMix()]),
    ("tiny", [T.RandomAffine(40, (0.5, 0.5), (0.5, 2.0), (-20, 20, -20, 20), "bilinear", fill=3)]),
    ("dot", [T.TrivialAugmentWide(), T.AutoAugment(), T.RandomRotation(90, "bilinear")]),
]


@pytest.mark.parametrize("images,transforms", CASES,
                         ids=[f"{s}-{t[0]!r}"[:70] for s, t in CASES])
def test_every_sample_equals_torchvision_exactly(images, transforms):
    assert _check_equal(IMAGE_SETS[images], transforms) == 0


@pytest.mark.parametrize("policy", [
    T.TrivialAugmentWide(),
    T.TrivialAugmentWide(interpolation="bilinear", fill=[9, 99, 200]),
    T.AugMix(mixture_width=2, severity=10),
])
def test_every_op_of_a_space_is_exact(policy):
    """Enough samples that every op of the space shows up, each equal to torchvision's."""
    images = np.concatenate([RGB, SMOOTH] * 6)
    loader = nc.Loader(images, batch_size=48, output="numpy", transforms=[policy], seed=1)
    name, seen = type(policy).__name__, set()
    for i, batch in enumerate(loader):
        plan = loader.plan(i)
        seen |= set(np.ravel(plan.params[name]["op"]).tolist())
        for k, idx in enumerate(plan.indices):
            ref = _reference(images[idx], [policy], plan.params, k).numpy()
            assert np.array_equal(batch[k], ref), (name, plan.params[name]["op"][k])
    assert len(seen - {-1}) == (14 if name == "TrivialAugmentWide" else 13)


@pytest.mark.parametrize("cls,bins", [(tv.TrivialAugmentWide, 31), (tv.RandAugment, 31),
                                      (tv.AutoAugment, 10), (tv.AugMix, 10),
                                      (tv.TrivialAugmentWide, 7), (tv.RandAugment, 100)])
def test_magnitudes_are_torchvision_tables(cls, bins):
    """Every magnitude drawn is a value of torchvision's own float32 table for its op (the
    translations' tables depend on the size: an odd one here)."""
    h, w = 29, 37
    name = cls.__name__
    images = np.zeros((400, h, w, 3), np.uint8)
    ours = {"TrivialAugmentWide": T.TrivialAugmentWide(num_magnitude_bins=bins),
            "RandAugment": T.RandAugment(num_ops=3, magnitude=bins // 3, num_magnitude_bins=bins),
            "AutoAugment": T.AutoAugment(), "AugMix": T.AugMix(severity=10)}[name]
    plan = nc.Loader(images, batch_size=400, transforms=[ours]).plan(0).params[name]
    ops, mags = np.ravel(plan["op"]), np.ravel(plan["magnitude"])
    space = cls._AUGMENTATION_SPACE
    for op, mag in zip(ops, mags):
        if op < 0:
            continue
        fn, signed = space[T.AUGMENT_OPS[op]]
        table = fn(bins, h, w)
        if table is None:
            assert mag == 0.0
            continue
        values = {float(v) for v in table}
        if name == "RandAugment":
            values = {float(table[bins // 3])}
        assert abs(mag) in values or (not signed and mag in values), (T.AUGMENT_OPS[op], mag)
        if not signed:
            assert mag >= 0


# --- distributions ----------------------------------------------------------------------------
def _chi2_critical(dof, z=3.0902):
    """The 0.1% critical value of chi-square with `dof` degrees (Wilson-Hilferty)."""
    return dof * (1 - 2 / (9 * dof) + z * math.sqrt(2 / (9 * dof))) ** 3


def _assert_same_categorical(a, b):
    """Two-sample chi-square: samples `a` and `b` (hashable values) from one distribution."""
    cats = sorted(set(a) | set(b), key=repr)
    ca = np.array([sum(1 for x in a if x == c) for c in cats], float)
    cb = np.array([sum(1 for x in b if x == c) for c in cats], float)
    if len(cats) < 2:
        return
    na, nb = ca.sum(), cb.sum()
    tot = ca + cb
    stat = sum((o - e) ** 2 / e for o, e in
               [(ca[i], tot[i] * na / (na + nb)) for i in range(len(cats))] +
               [(cb[i], tot[i] * nb / (na + nb)) for i in range(len(cats))] if e > 0)
    assert stat < _chi2_critical(len(cats) - 1), (stat, dict(zip(cats, zip(ca, cb))))


def _assert_same_continuous(a, b):
    """Two-sample Kolmogorov-Smirnov at the 0.1% level (asymptotic c = 1.949)."""
    a, b = np.sort(np.asarray(a, float)), np.sort(np.asarray(b, float))
    grid = np.concatenate([a, b])
    d = np.max(np.abs(np.searchsorted(a, grid, "right") / len(a) -
                      np.searchsorted(b, grid, "right") / len(b)))
    assert d < 1.949 * math.sqrt((len(a) + len(b)) / (len(a) * len(b))), d


N = 3000
H, W = 18, 26


def _our_params(transforms, name, n=N):
    images = np.zeros((n, H, W, 3), np.uint8)
    return nc.Loader(images, batch_size=n, transforms=transforms, seed=5).plan(0).params[name]


def _tv_records(t, n=N):
    """What torchvision's policy applies over n forwards: per forward, its (op, magnitude)s."""
    torch.manual_seed(0)
    runs = []

    def record(image, transform_id, magnitude, interpolation, fill):
        runs[-1].append((transform_id, magnitude))
        return image

    t._apply_image_or_video_transform = record
    image = torch.zeros(3, H, W, dtype=torch.uint8)
    for _ in range(n):
        runs.append([])
        t(image)
    return runs


def _ours_as_records(plan, name):
    ops, mags = plan["op"], plan["magnitude"]
    out = []
    for k in range(len(ops)):
        o, m = np.ravel(ops[k]), np.ravel(mags[k])
        keep = np.ravel(plan["applied"][k]) if "applied" in plan else o >= 0
        out.append([(T.AUGMENT_OPS[a], float(b)) for a, b, on in zip(o, m, keep) if on])
    return out


@pytest.mark.parametrize("ours,theirs", [
    (T.TrivialAugmentWide(), tv.TrivialAugmentWide()),
    (T.RandAugment(), tv.RandAugment()),
    (T.AutoAugment(), tv.AutoAugment()),
    (T.AugMix(), tv.AugMix()),
    (T.AugMix(chain_depth=2, all_ops=False, severity=5), tv.AugMix(chain_depth=2, all_ops=False,
                                                                    severity=5)),
])
def test_policy_draws_follow_torchvision(ours, theirs):
    name = type(ours).__name__
    a = _ours_as_records(_our_params([ours], name), name)
    b = _tv_records(theirs)
    # ops, magnitudes with their signs, how many ops each sample gets and the op sequences
    _assert_same_categorical([op for r in a for op, _ in r], [op for r in b for op, _ in r])
    _assert_same_categorical([(op, round(m, 4)) for r in a for op, m in r],
                             [(op, round(m, 4)) for r in b for op, m in r])
    _assert_same_categorical([len(r) for r in a], [len(r) for r in b])
    if name == "AutoAugment":
        _assert_same_categorical([tuple(op for op, _ in r) for r in a],
                                 [tuple(op for op, _ in r) for r in b])


def test_augmix_weights_follow_torchvision():
    for alpha, width in [(1.0, 3), (0.5, 2), (3.0, 4)]:
        w = _our_params([T.AugMix(mixture_width=width, alpha=alpha)], "AugMix", 2000)["weight"]
        torch.manual_seed(1)
        m = torch._sample_dirichlet(torch.tensor([[alpha, alpha]]).expand(2000, -1))
        c = torch._sample_dirichlet(torch.tensor([[alpha] * width]).expand(2000, -1)) * m[:, 1:]
        _assert_same_continuous(w[:, 0], m[:, 0].numpy())
        _assert_same_continuous(w[:, 1], c[:, 0].numpy())
        assert np.allclose(w.sum(axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize("ours,theirs", [
    (T.RandomRotation((-40, 25)), tv.RandomRotation((-40, 25))),
    (T.RandomAffine(30, (0.2, 0.4), (0.7, 1.3), (-10, 10, -5, 20)),
     tv.RandomAffine(30, (0.2, 0.4), (0.7, 1.3), (-10, 10, -5, 20))),
    (T.RandomAffine((5, 10), shear=8), tv.RandomAffine((5, 10), shear=8)),
])
def test_warp_draws_follow_torchvision_make_params(ours, theirs):
    name = type(ours).__name__
    plan = _our_params([ours], name)
    torch.manual_seed(2)
    image = torch.zeros(3, H, W, dtype=torch.uint8)
    draws = [theirs.make_params([image]) for _ in range(N)]
    _assert_same_continuous(plan["angle"], [d["angle"] for d in draws])
    if name == "RandomAffine":
        _assert_same_categorical(list(plan["translate_x"]), [d["translate"][0] for d in draws])
        _assert_same_categorical(list(plan["translate_y"]), [d["translate"][1] for d in draws])
        for field, got in [("scale", [d["scale"] for d in draws]),
                           ("shear_x", [d["shear"][0] for d in draws]),
                           ("shear_y", [d["shear"][1] for d in draws])]:
            if np.ptp(plan[field]) == 0:
                assert set(plan[field]) == set(got)
            else:
                _assert_same_continuous(plan[field], got)


def _recorders(n, log):
    return [tv.Lambda(lambda x, i=i: (log.append(i), x)[1]) for i in range(n)]


def test_container_draws_follow_torchvision():
    torch.manual_seed(3)
    image = torch.zeros(3, H, W, dtype=torch.uint8)
    # RandomApply
    log = []
    t = tv.RandomApply(_recorders(1, log), p=0.3)
    applied = []
    for _ in range(N):
        before = len(log)
        t(image)
        applied.append(len(log) > before)
    ours = _our_params([T.RandomApply([T.RandomInvert()], p=0.3)], "RandomApply")
    _assert_same_categorical(list(ours["applied"]), applied)
    # RandomChoice, with and without p
    for p in (None, [1.0, 2.0, 0.5, 3.0]):
        log = []
        t = tv.RandomChoice(_recorders(4, log), p=p)
        for _ in range(N):
            t(image)
        ours = _our_params([T.RandomChoice([T.RandomInvert()] * 4, p=p)], "RandomChoice")
        _assert_same_categorical(list(ours["choice"]), log)
    # RandomOrder: the permutations
    log = []
    t = tv.RandomOrder(_recorders(3, log))
    for _ in range(N):
        t(image)
    theirs = [tuple(log[3 * i:3 * i + 3]) for i in range(N)]
    ours = _our_params([T.RandomOrder([T.RandomInvert()] * 3)], "RandomOrder")
    _assert_same_categorical([tuple(o) for o in ours["order"]], theirs)


# --- conversions and errors -------------------------------------------------------------------
def test_from_torchvision_converts_and_runs():
    theirs = tv.Compose([tv.RandomRotation(10, fill=3), tv.RandomAffine(5, (0.1, 0.1)),
                         tv.TrivialAugmentWide(), tv.RandAugment(1, 5),
                         tv.AutoAugment(tv.AutoAugmentPolicy.IMAGENET),
                         tv.AugMix(2, 2, 1, 0.7, False),
                         tv.RandomApply([tv.RandomInvert(), tv.RandomEqualize()], p=0.4),
                         tv.RandomChoice([tv.RandomInvert(), tv.RandomSolarize(99)], p=[1, 3]),
                         tv.RandomOrder([tv.RandomPosterize(4), tv.RandomAutocontrast()])])
    ours = T.from_torchvision(theirs)
    names = [type(t).__name__ for t in ours.transforms]
    assert names == [type(t).__name__ for t in theirs.transforms]
    assert ours.transforms[0]._args["fill"] == [3.0]
    assert ours.transforms[3]._args["num_ops"] == 1 and ours.transforms[3]._args["magnitude"] == 5
    assert ours.transforms[5]._args["chain_depth"] == 1 and not ours.transforms[5]._args["all_ops"]
    assert ours.transforms[7]._args["weights"] == [0.25, 0.75]
    batch = next(iter(nc.Loader(RGB, batch_size=4, output="numpy", transforms=theirs)))
    assert batch.shape == (4, 3, 31, 45)
    _check_equal(RGB, ours.transforms, batches=1)


@pytest.mark.parametrize("make,error,match", [
    (lambda: T.RandomRotation(10, expand=True), ValueError, "expand=True"),
    (lambda: T.RandomRotation(-5), ValueError, "must be positive"),
    (lambda: T.RandomRotation(10, fill=300), ValueError, r"\[0, 255\]"),
    (lambda: T.RandomRotation(10, interpolation="bicubic"), ValueError, "interpolation"),
    (lambda: T.RandomRotation(10, center=(1,)), ValueError, "center"),
    (lambda: T.RandomAffine(10, translate=(0.1, 1.5)), ValueError, "between 0 and 1"),
    (lambda: T.RandomAffine(10, scale=(0.0, 1.0)), ValueError, "positive"),
    (lambda: T.RandomAffine(10, shear=(1, 2, 3)), ValueError, "length"),
    (lambda: T.RandomAffine("x"), ValueError, "sequence"),
    (lambda: T.AutoAugment(T.AutoAugmentPolicy.CIFAR10), ValueError, "IMAGENET"),
    (lambda: T.AutoAugment(tv.AutoAugmentPolicy.SVHN), ValueError, "IMAGENET"),
    (lambda: T.RandAugment(num_ops=-1), ValueError, "num_ops"),
    (lambda: T.RandAugment(magnitude=31), ValueError, "magnitude"),
    (lambda: T.RandAugment(num_magnitude_bins=1), ValueError, "num_magnitude_bins"),
    (lambda: T.TrivialAugmentWide(num_magnitude_bins="31"), TypeError, "int"),
    (lambda: T.AugMix(severity=0), ValueError, "severity"),
    (lambda: T.AugMix(alpha=0.0), ValueError, "alpha"),
    (lambda: T.AugMix(mixture_width=0), ValueError, "mixture_width"),
    (lambda: T.RandomApply([T.RandomCrop(8)]), ValueError, "cannot be fused yet"),
    (lambda: T.RandomChoice([T.RandomInvert(), T.Resize(8)]), ValueError, "cannot be fused yet"),
    (lambda: T.RandomOrder([T.Compose([T.RandomHorizontalFlip()])]), ValueError,
     "cannot be fused yet"),
    (lambda: T.RandomApply([T.Grayscale(1)]), ValueError, "num_output_channels"),
    (lambda: T.RandomChoice([T.RandomInvert()], p=[1, 2]), ValueError, "Length of p"),
    (lambda: T.RandomChoice([T.RandomInvert(), T.RandomEqualize()], p=[0, 0]), ValueError,
     "sum to zero"),
    (lambda: T.RandomChoice([]), ValueError, "at least one"),
    (lambda: T.RandomApply(5), TypeError, "sequence"),
    (lambda: T.from_torchvision(tv.RandomApply([tv.RandomCrop(8)])), ValueError,
     "cannot be fused yet"),
    (lambda: T.from_torchvision(tv.RandomRotation(5, expand=True)), ValueError, "expand"),
])
def test_bad_arguments_are_clear_errors(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_pipeline_rules():
    with pytest.raises(ValueError, match="fill needs 1 or 3"):
        nc.Loader(RGB, transforms=[T.RandomRotation(5, fill=[1, 2])])
    with pytest.raises(ValueError, match="before ToDtype"):
        nc.Loader(RGB, transforms=[T.ToDtype("float32", scale=True), T.TrivialAugmentWide()])
    four = np.zeros((2, 8, 8, 4), np.uint8)
    with pytest.raises(ValueError, match="1- or 3-channel"):
        nc.Loader(four, transforms=[T.AugMix()])


def test_plans_are_deterministic_and_thread_independent():
    recipe = [T.RandomApply([T.RandomAffine(10, (0.1, 0.1))], 0.7), T.TrivialAugmentWide(),
              T.AugMix(mixture_width=2)]
    a = nc.Loader(RGB, batch_size=4, output="numpy", transforms=recipe, seed=9, num_threads=1)
    b = nc.Loader(RGB, batch_size=4, output="numpy", transforms=recipe, seed=9, num_threads=3)
    for x, y in zip(a, b):
        assert np.array_equal(x, y)
    pa, pb = a.plan(1, 0), b.plan(1, 0)
    for key in pa.params:
        for field in pa.params[key]:
            assert np.array_equal(pa.params[key][field], pb.params[key][field])


def _recipe_reference(image, geometry, plan, k):
    """The reference recipe's per-sample part rebuilt with torchvision from sample k's plan:
    the geometry (RandomCrop or RandomResizedCrop, then the flip), TrivialAugmentWide,
    ToDtype, Normalize and RandomErasing."""
    p = plan.params
    x = _chw(image)
    if "RandomCrop" in p:
        x = F.crop(x, int(p["RandomCrop"]["top"][k]), int(p["RandomCrop"]["left"][k]), 20, 24)
    else:
        r = p["RandomResizedCrop"]
        x = F.resized_crop(x, int(r["top"][k]), int(r["left"][k]), int(r["height"][k]),
                           int(r["width"][k]), [20, 24], antialias=True)
    if p["RandomHorizontalFlip"]["applied"][k]:
        x = F.horizontal_flip(x)
    x = _reference(x.permute(1, 2, 0).numpy(), [geometry[2]], p, k)
    x = F.normalize(F.to_dtype(x, torch.float32, scale=True), [0.485, 0.456, 0.406],
                    [0.229, 0.224, 0.225])
    e = p["RandomErasing"]
    if e["applied"][k]:
        x = F.erase(x, int(e["top"][k]), int(e["left"][k]), int(e["height"][k]),
                    int(e["width"][k]), torch.zeros(3, 1, 1))
    return x


@pytest.mark.parametrize("crop", ["RandomCrop", "RandomResizedCrop"])
def test_the_reference_recipe_from_torchvision_rebuilds_from_its_plan(crop):
    """torchvision's reference train recipe converted by from_torchvision: each batch equals the
    recipe run by torchvision with the planned parameters, MixUp / CutMix included (exact with a
    plain crop, up to float32 rounding of the normalization; with RandomResizedCrop the resample is within one level, which the policy's ops
    can widen: posterize and solarize jump at thresholds)."""
    first = (tv.RandomCrop((20, 24)) if crop == "RandomCrop"
             else tv.RandomResizedCrop((20, 24), antialias=True))
    theirs = tv.Compose([first, tv.RandomHorizontalFlip(), tv.TrivialAugmentWide(),
                         tv.ToDtype(torch.float32, scale=True),
                         tv.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
                         tv.RandomErasing(0.5)])
    mix = tv.RandomChoice([tv.MixUp(alpha=0.2, num_classes=4), tv.CutMix(alpha=1.0, num_classes=4)])
    ours = T.from_torchvision(theirs)
    labels = np.arange(len(RGB)) % 4
    loader = nc.Loader(RGB, labels, batch_size=4, transforms=ours, batch_transforms=mix,
                       output="numpy", seed=9)
    close = []
    for i, (x, y) in enumerate(loader):
        plan = loader.plan(i)
        unmixed = torch.stack([_recipe_reference(RGB[j], ours.transforms, plan, k)
                               for k, j in enumerate(plan.indices)])
        b = plan.batch
        t = (tv.MixUp if b["transform"] == "MixUp" else tv.CutMix)(num_classes=4)
        params = ({"lam": b["lam"]} if b["transform"] == "MixUp" else
                  {"box": tuple(int(b[f]) for f in ("x1", "y1", "x2", "y2")),
                   "lam_adjusted": b["label_lam"]})
        t.make_params = lambda flat, params=params: dict(params)
        want_x, want_y = t(unmixed, torch.from_numpy(labels[plan.indices]))
        np.testing.assert_array_equal(y, want_y.numpy())
        diff = np.abs(x - want_x.numpy())
        if crop == "RandomCrop":  # exact up to float32 rounding of the normalization
            np.testing.assert_allclose(x, want_x.numpy(), rtol=0, atol=1e-5)
        close.append((diff <= 2 / 255 / 0.224 + 1e-5).mean())
    assert min(close) >= (1.0 if crop == "RandomCrop" else 0.95), close
