"""nocopy.transforms: torchvision v2's image transforms, run fused in the loader's C++ workers.

>>> import numpy as np, nocopy as nc
>>> import nocopy.transforms as T
>>> images = np.random.default_rng(0).integers(0, 256, (64, 72, 96, 3), np.uint8)
>>> recipe = T.Compose([T.RandomResizedCrop(48), T.RandomHorizontalFlip(),
...                     T.ToDtype("float32", scale=True),
...                     T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
>>> loader = nc.Loader(images, np.arange(64), batch_size=16, transforms=recipe, output="numpy")
>>> x, y = next(iter(loader)); x.shape, x.dtype
((16, 3, 48, 48), dtype('float32'))
>>> loader.plan(0).params["RandomResizedCrop"]["height"].shape
(16,)

The classes take torchvision v2's arguments with its defaults and meaning (``scale`` of
RandomResizedCrop is the area fraction), accepting torchvision's own values
(``InterpolationMode``, torch dtypes, sequences) as well as plain strings and NumPy dtypes. Each
transform is checked when it is built (ValueError / TypeError naming the argument, as
torchvision does). ``from_torchvision`` converts a torchvision Compose.

How a pipeline runs (docs/AUGMENT.md): the geometric transforms are fused into ONE resample
per sample (antialiased when it shrinks) followed by index tables for the crops, pads and flips
after it; the colour transforms then run in order on the sample's uint8 image; ToDtype and
Normalize are fused into the write of the batch slot; RandomErasing runs on the written sample.
The warps (RandomRotation, RandomAffine), the augmentation policies (AutoAugment's ImageNet
policy, RandAugment, TrivialAugmentWide, AugMix) and RandomApply / RandomChoice / RandomOrder
over them and the colour transforms run with the colour transforms, on the uint8 image.
Every random parameter is a pure function of (seed, epoch, position) and ``loader.plan(i)``
reports it, so any batch can be rebuilt with torchvision's functional ops.
"""

from __future__ import annotations

import atexit
import enum
import math
import numbers
import sys
import weakref
from typing import Any, NamedTuple

import numpy as np

from ._dtypes import dtype_name
from ._nocopy import _check_batch_transforms, _check_transform, _erasing_noise

__all__ = [
    "Transform", "Compose", "RandomResizedCrop", "Resize", "CenterCrop", "RandomCrop", "Pad",
    "RandomHorizontalFlip", "RandomVerticalFlip", "ColorJitter", "Grayscale", "RandomGrayscale",
    "GaussianBlur", "RandomInvert", "RandomPosterize", "RandomSolarize", "RandomAdjustSharpness",
    "RandomAutocontrast", "RandomEqualize", "ToDtype", "Normalize", "RandomErasing",
    "RandomRotation", "RandomAffine", "AutoAugment", "RandAugment", "TrivialAugmentWide",
    "AugMix", "RandomApply", "RandomChoice", "RandomOrder", "InterpolationMode",
    "AutoAugmentPolicy", "AUGMENT_OPS", "MixUp", "CutMix", "Lambda", "erasing_noise", "from_torchvision",
    "TransformPlan",
]


# --- argument normalisation (torchvision's conventions) ---------------------------------------
def _interpolation(mode) -> str:
    """'bilinear' or 'nearest' from an InterpolationMode, a PIL constant name or a string."""
    name = getattr(mode, "value", mode)
    if isinstance(name, str) and name.lower() in ("bilinear", "nearest"):
        return name.lower()
    raise ValueError(f"interpolation {mode!r} is not supported: use InterpolationMode.BILINEAR "
                     "or NEAREST ('bilinear' / 'nearest')")


def _ints(value, what: str) -> list[int]:
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, list, tuple)):
        raise TypeError(f"{what} must be an int or a sequence of ints, got {value!r}")
    values = [value] if isinstance(value, numbers.Integral) else list(value)
    for v in values:
        if isinstance(v, bool) or not isinstance(v, numbers.Integral):
            raise TypeError(f"{what} must hold ints, got {v!r}")
    return [int(v) for v in values]


def _size2(size, what: str = "size") -> list[int]:
    """(h, w) from an int or a 1- or 2-sequence (torchvision's _setup_size)."""
    values = _ints(size, what)
    if len(values) == 1:
        values = values * 2
    if len(values) != 2:
        raise ValueError(f"{what} must be an int or a sequence of 1 or 2 ints, got {size!r}")
    return values


def _pair(value, what: str, center: float | None = None, bound=None) -> list[float] | None:
    """A (min, max) range from a number (center -/+ value, torchvision's _check_input) or a
    2-sequence."""
    if value is None:
        return None
    if isinstance(value, numbers.Number) and not isinstance(value, bool):
        if value < 0:
            raise ValueError(f"If {what} is a single number, it must be non negative.")
        lo, hi = (center - value, center + value) if center is not None else (value, value)
        if bound is not None:
            lo = max(lo, bound[0])
        return [float(lo), float(hi)]
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return [float(value[0]), float(value[1])]
    raise TypeError(f"{what} should be a single number or a sequence of length 2, got {value!r}")


def _fill(fill, what: str = "fill") -> list[float]:
    if isinstance(fill, dict):
        raise TypeError(f"{what} as a dict per input type is not supported; give a number or a "
                        "sequence")
    if isinstance(fill, numbers.Number) and not isinstance(fill, bool):
        return [float(fill)]
    if isinstance(fill, (list, tuple)) and fill:
        return [float(v) for v in fill]
    raise TypeError(f"{what} must be a number or a non-empty sequence of numbers, got {fill!r}")


def _padding(padding) -> list[int]:
    """(left, top, right, bottom) from an int, a 2-sequence (left/right, top/bottom) or a
    4-sequence, as torchvision reads it."""
    if padding is None:
        return [0, 0, 0, 0]
    values = _ints(padding, "padding")
    if len(values) == 1:
        return values * 4
    if len(values) == 2:
        return [values[0], values[1], values[0], values[1]]
    if len(values) == 4:
        return values
    raise ValueError(f"Padding must be an int or a 1, 2, or 4 element tuple, not a "
                     f"{len(values)} element tuple")


def _probability(p) -> float:
    if isinstance(p, bool) or not isinstance(p, numbers.Real):
        raise TypeError(f"p must be a number, got {p!r}")
    return float(p)


# --- the transforms ---------------------------------------------------------------------------
class Transform:
    """Base of the transforms: each is one step (name, arguments) the C++ core runs."""

    _name = ""

    def __init__(self, **args: Any):
        self._args = {k: v for k, v in args.items() if v is not None or k in ("brightness",
                      "contrast", "saturation", "hue", "fill", "center")}
        self._param_names = list(_check_transform(self._name, self._args))

    def _steps(self) -> list[tuple[str, dict]]:
        return [(self._name, dict(self._args))]

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._args.items())
        return f"{type(self).__name__}({args})"


class Compose(Transform):
    """Runs `transforms` in order (torchvision's Compose); nested Composes are flattened."""

    def __init__(self, transforms):
        if not isinstance(transforms, (list, tuple)):
            raise TypeError("Argument transforms should be a sequence of callables")
        self.transforms = [t if isinstance(t, Transform) else _convert(t, "error")
                           for t in transforms]

    def _steps(self):
        for t in self.transforms:
            if not isinstance(t, Transform) or (isinstance(t, RandomChoice)
                                                 and not hasattr(t, "_args")):
                raise ValueError(f"{t!r} is a batch transform: give it as batch_transforms=")
        return [s for t in self.transforms for s in t._steps()]

    def __repr__(self) -> str:
        inner = "".join(f"\n    {t!r}," for t in self.transforms)
        return f"Compose([{inner}\n])"


class RandomResizedCrop(Transform):
    """A window of area fraction ~ U(scale) and aspect ratio log-uniform in `ratio`, resized
    to `size`."""

    _name = "RandomResizedCrop"

    def __init__(self, size, scale=(0.08, 1.0), ratio=(3.0 / 4.0, 4.0 / 3.0),
                 interpolation="bilinear", antialias: bool | None = True):
        _antialias(antialias)
        super().__init__(size=_size2(size), scale=_pair(scale, "scale"),
                         ratio=_pair(ratio, "ratio"), interpolation=_interpolation(interpolation))


class Resize(Transform):
    """Resize to (h, w), or with one int the shorter side to `size` (the longer one at most
    `max_size`)."""

    _name = "Resize"

    def __init__(self, size, interpolation="bilinear", max_size: int | None = None,
                 antialias: bool | None = True):
        _antialias(antialias)
        if size is None:
            raise ValueError("size=None is not supported; give the size")
        values = _ints(size, "size")
        if len(values) not in (1, 2):
            raise ValueError(f"size must be an int or a sequence of 1 or 2 ints, got {size!r}")
        super().__init__(size=values, interpolation=_interpolation(interpolation),
                         max_size=max_size)


class CenterCrop(Transform):
    """The centre `size` window (padded with zeros where the image is smaller)."""

    _name = "CenterCrop"

    def __init__(self, size):
        super().__init__(size=_size2(size))


class RandomCrop(Transform):
    """A `size` window at a uniform position, after `padding` (and, with pad_if_needed, the
    padding that makes the image as large as the crop)."""

    _name = "RandomCrop"

    def __init__(self, size, padding=None, pad_if_needed: bool = False, fill=0,
                 padding_mode: str = "constant"):
        super().__init__(size=_size2(size), padding=_padding(padding),
                         pad_if_needed=pad_if_needed, fill=_fill(fill),
                         padding_mode=padding_mode)


class Pad(Transform):
    """Pads the borders: `padding` as an int, (left/right, top/bottom) or (l, t, r, b)."""

    _name = "Pad"

    def __init__(self, padding, fill=0, padding_mode: str = "constant"):
        super().__init__(padding=_padding(padding), fill=_fill(fill), padding_mode=padding_mode)


class RandomHorizontalFlip(Transform):
    """Mirrors left-right with probability p."""

    _name = "RandomHorizontalFlip"

    def __init__(self, p: float = 0.5):
        super().__init__(p=_probability(p))


class RandomVerticalFlip(Transform):
    """Flips upside down with probability p."""

    _name = "RandomVerticalFlip"

    def __init__(self, p: float = 0.5):
        super().__init__(p=_probability(p))


class ColorJitter(Transform):
    """Brightness, contrast, saturation and hue factors drawn uniformly, applied in a random
    order (torchvision's ColorJitter)."""

    _name = "ColorJitter"

    def __init__(self, brightness=None, contrast=None, saturation=None, hue=None):
        def factor(value, what):
            r = _pair(value, what, center=1.0, bound=(0.0, math.inf))
            return None if r is None or r == [1.0, 1.0] else r
        h = _pair(hue, "hue", center=0.0)
        super().__init__(brightness=factor(brightness, "brightness"),
                         contrast=factor(contrast, "contrast"),
                         saturation=factor(saturation, "saturation"),
                         hue=None if h is None or h == [0.0, 0.0] else h)


class Grayscale(Transform):
    """Converts RGB to gray (ITU-R 601-2 luma), with 1 or 3 output channels."""

    _name = "Grayscale"

    def __init__(self, num_output_channels: int = 1):
        super().__init__(num_output_channels=num_output_channels)


class RandomGrayscale(Transform):
    """Grayscale (keeping 3 channels) with probability p."""

    _name = "RandomGrayscale"

    def __init__(self, p: float = 0.1):
        super().__init__(p=_probability(p), num_output_channels=3)


class GaussianBlur(Transform):
    """Gaussian blur with a kernel of `kernel_size` and sigma drawn uniformly in `sigma`."""

    _name = "GaussianBlur"

    def __init__(self, kernel_size, sigma=(0.1, 2.0)):
        ks = _size2(kernel_size, "kernel_size")
        if isinstance(sigma, numbers.Number) and not isinstance(sigma, bool):
            if sigma <= 0:
                raise ValueError("If sigma is a single number, it must be positive.")
            sigma = (float(sigma), float(sigma))
        super().__init__(kernel_size=ks, sigma=_pair(sigma, "sigma"))


class RandomInvert(Transform):
    """Inverts the colours (255 - x) with probability p."""

    _name = "RandomInvert"

    def __init__(self, p: float = 0.5):
        super().__init__(p=_probability(p))


class RandomPosterize(Transform):
    """Keeps the `bits` high bits of each channel with probability p."""

    _name = "RandomPosterize"

    def __init__(self, bits: int, p: float = 0.5):
        if isinstance(bits, bool) or not isinstance(bits, numbers.Integral):
            raise TypeError(f"bits must be an int, got {bits!r}")
        super().__init__(p=_probability(p), value=float(bits))


class RandomSolarize(Transform):
    """Inverts the values >= `threshold` with probability p."""

    _name = "RandomSolarize"

    def __init__(self, threshold: float, p: float = 0.5):
        super().__init__(p=_probability(p), value=threshold)


class RandomAdjustSharpness(Transform):
    """Sharpens (factor > 1) or blurs (factor < 1) by `sharpness_factor` with probability p."""

    _name = "RandomAdjustSharpness"

    def __init__(self, sharpness_factor: float, p: float = 0.5):
        super().__init__(p=_probability(p), value=sharpness_factor)


class RandomAutocontrast(Transform):
    """Stretches each channel to [0, 255] with probability p."""

    _name = "RandomAutocontrast"

    def __init__(self, p: float = 0.5):
        super().__init__(p=_probability(p))


class RandomEqualize(Transform):
    """Equalizes each channel's histogram with probability p."""

    _name = "RandomEqualize"

    def __init__(self, p: float = 0.5):
        super().__init__(p=_probability(p))


class ToDtype(Transform):
    """Converts to `dtype` (torch, NumPy or a name); scale=True maps uint8 to [0, 1]."""

    _name = "ToDtype"

    def __init__(self, dtype, scale: bool = False):
        if isinstance(dtype, dict):
            raise TypeError("dtype as a dict per input type is not supported; give one dtype")
        super().__init__(dtype=dtype_name(dtype), scale_values=scale)


class Normalize(Transform):
    """(x - mean[c]) / std[c] on float images."""

    _name = "Normalize"

    def __init__(self, mean, std, inplace: bool = False):
        del inplace  # the loader writes every batch in place already
        super().__init__(mean=[float(v) for v in np.atleast_1d(mean)],
                         std=[float(v) for v in np.atleast_1d(std)])


class RandomErasing(Transform):
    """With probability p, a rectangle of area fraction ~ U(scale) and log-uniform aspect
    `ratio` set to `value` (a number or one per channel), or with value="random" to standard
    normal noise (reproducible: plan(i) reports its ``noise_seed``)."""

    _name = "RandomErasing"

    def __init__(self, p: float = 0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3), value=0,
                 inplace: bool = False):
        del inplace
        random_value = isinstance(value, str)
        if random_value and value != "random":
            raise ValueError(f"If value is str, it should be 'random', got {value!r}")
        super().__init__(p=_probability(p), scale=_pair(scale, "scale"),
                         ratio=_pair(ratio, "ratio"),
                         fill=[0.0] if random_value else _fill(value, "value"),
                         random_value=random_value or None)


class Lambda(Transform):
    """Runs ``fn(image)`` on each sample in the loader's worker threads: ``image`` is a writable
    (H, W, C) uint8 NumPy view of the sample in the worker's scratch memory, valid only during
    the call (keeping a reference to it fails the sample). ``fn`` changes it in place and
    returns None, or returns a uint8 array of the same shape. It runs after the geometry, with
    the colour transforms, in order.

    On CPython with the GIL, the calls of all workers take turns on the GIL: a Lambda costs what
    its Python costs, one sample at a time (docs/AUGMENT.md measures it). An exception fails the
    sample (``nc.LoaderError``, or a substitute with ``on_error="skip"``)."""

    _name = "Lambda"

    def __init__(self, lambd, *types):
        del types  # every sample is an image here
        if not callable(lambd):
            raise TypeError(f"Argument lambd should be callable, got {type(lambd).__name__!r}")
        self.lambd = lambd
        super().__init__(fn=_SampleCall(lambd))

    def __repr__(self) -> str:
        return f"Lambda({self.lambd!r})"


class _SampleCall:
    """What the C++ workers call: fn on a NumPy view of the sample's memory, its result (if
    any) written back, and the view released (a reference kept to it is an error)."""

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, memory, height: int, width: int, channels: int) -> None:
        flat = np.frombuffer(memory, np.uint8)
        image = flat.reshape(height, width, channels)  # every view of it has `flat` as base
        out = self.fn(image)
        if out is not None and out is not image:
            out = np.asarray(out)
            if out.shape != image.shape or out.dtype != np.uint8:
                raise ValueError(f"Lambda: the function must return None or a uint8 array of "
                                 f"the sample's shape {image.shape}, got {out.dtype} "
                                 f"{out.shape}")
            image[...] = out
        del image, out
        if sys.getrefcount(flat) > 2:  # `flat` and getrefcount's argument
            raise ValueError("Lambda: the function kept a reference to the sample's array (or "
                             "a view of it), whose memory the worker reuses: keep a copy "
                             "(np.array(image)) instead")


_OPEN_WITH_PYTHON_STEPS: "weakref.WeakSet" = weakref.WeakSet()


def _close_at_exit(loader) -> None:
    """Closes `loader` before the interpreter finalizes (its workers may wait for the GIL)."""
    _OPEN_WITH_PYTHON_STEPS.add(loader)


@atexit.register
def _close_open_loaders() -> None:
    for loader in list(_OPEN_WITH_PYTHON_STEPS):
        try:
            loader.close()
        except Exception:  # noqa: BLE001 - exiting anyway
            pass
# --- warps, augmentation policies and random containers ---------------------------------------
class InterpolationMode(enum.Enum):
    """torchvision's interpolation modes (the fused warps and resamples run NEAREST and
    BILINEAR)."""

    NEAREST = "nearest"
    NEAREST_EXACT = "nearest-exact"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"
    BOX = "box"
    HAMMING = "hamming"
    LANCZOS = "lanczos"


class AutoAugmentPolicy(enum.Enum):
    """torchvision's AutoAugment policies (IMAGENET is fused; the others are not yet)."""

    IMAGENET = "imagenet"
    CIFAR10 = "cifar10"
    SVHN = "svhn"


#: The operations of the policies, numbered as plan(i) reports them in ``op``.
AUGMENT_OPS = ("Identity", "ShearX", "ShearY", "TranslateX", "TranslateY", "Rotate",
               "Brightness", "Color", "Contrast", "Sharpness", "Posterize", "Solarize",
               "AutoContrast", "Equalize", "Invert")


def _angle_range(value, what: str, sizes=(2,)) -> list[float]:
    """torchvision's _setup_angle: a number d is (-d, d), else a sequence of `sizes` values."""
    if isinstance(value, numbers.Number) and not isinstance(value, bool):
        if value < 0:
            raise ValueError(f"If {what} is a single number, it must be positive.")
        return [-float(value), float(value)]
    if not isinstance(value, (list, tuple)) or len(value) not in sizes:
        raise ValueError(f"If {what} is a sequence its length should be one of {list(sizes)}.")
    for v in value:
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise TypeError(f"{what} should be a sequence of numbers, got {value!r}")
    return [float(v) for v in value]


def _center(center) -> list[float] | None:
    if center is None:
        return None
    if not isinstance(center, (list, tuple)) or len(center) != 2:
        raise ValueError(f"center should be a sequence of length 2, got {center!r}")
    return [float(c) for c in center]


def _warp_fill(fill, none_allowed: bool) -> list[float] | None:
    if isinstance(fill, dict):  # torchvision's per-type fill: the image's
        fill = next(iter(fill.values()), None) if fill else None
    if fill is None:
        return None if none_allowed else [0.0]
    return _fill(fill)


def _int(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{what} must be an int, got {value!r}")
    return int(value)


class RandomRotation(Transform):
    """Rotates by an angle drawn uniformly in `degrees` (a number d: (-d, d)),
    counter-clockwise, about `center` (default the image center), with `fill` outside."""

    _name = "RandomRotation"

    def __init__(self, degrees, interpolation=InterpolationMode.NEAREST, expand: bool = False,
                 center=None, fill=0):
        if expand:
            raise ValueError("RandomRotation(expand=True) changes the image size and cannot be "
                             "fused yet; use expand=False")
        super().__init__(degrees=_angle_range(degrees, "degrees"),
                         interpolation=_interpolation(interpolation), center=_center(center),
                         fill=_warp_fill(fill, none_allowed=True))


class RandomAffine(Transform):
    """Rotation (angle ~ U(degrees)), translation (up to `translate` fractions of the size,
    rounded), scale ~ U(scale) and shears ~ U(shear) about `center`, as torchvision draws
    them."""

    _name = "RandomAffine"

    def __init__(self, degrees, translate=None, scale=None, shear=None,
                 interpolation=InterpolationMode.NEAREST, fill=0, center=None):
        if translate is not None:
            if not isinstance(translate, (list, tuple)) or len(translate) != 2:
                raise ValueError("translate should be a sequence of length 2")
            if any(not (0.0 <= t <= 1.0) for t in translate):
                raise ValueError("translation values should be between 0 and 1")
        if scale is not None:
            if not isinstance(scale, (list, tuple)) or len(scale) != 2:
                raise ValueError("scale should be a sequence of length 2")
            if any(v <= 0 for v in scale):
                raise ValueError("scale values should be positive")
        shears = [0.0, 0.0, 0.0, 0.0]
        if shear is not None:
            r = _angle_range(shear, "shear", sizes=(2, 4))
            shears[:len(r)] = r
        super().__init__(degrees=_angle_range(degrees, "degrees"),
                         translate=[float(t) for t in translate] if translate else [0.0, 0.0],
                         scale=[float(v) for v in scale] if scale else [1.0, 1.0],
                         shear=shears, interpolation=_interpolation(interpolation),
                         center=_center(center), fill=_warp_fill(fill, none_allowed=True))


class AutoAugment(Transform):
    """AutoAugment with torchvision's ImageNet policy: one of its 25 sub-policies, each op
    applied with its probability and magnitude (signed at random)."""

    _name = "AutoAugment"

    def __init__(self, policy=AutoAugmentPolicy.IMAGENET,
                 interpolation=InterpolationMode.NEAREST, fill=None):
        name = getattr(policy, "value", policy)
        if name != "imagenet":
            raise ValueError(f"AutoAugment policy {policy!r} cannot be fused yet (only "
                             "AutoAugmentPolicy.IMAGENET)")
        super().__init__(interpolation=_interpolation(interpolation),
                         fill=_warp_fill(fill, none_allowed=True))


class RandAugment(Transform):
    """`num_ops` ops drawn uniformly from torchvision's RandAugment space, each at bin
    `magnitude` of `num_magnitude_bins` (signed at random)."""

    _name = "RandAugment"

    def __init__(self, num_ops: int = 2, magnitude: int = 9, num_magnitude_bins: int = 31,
                 interpolation=InterpolationMode.NEAREST, fill=None):
        if isinstance(num_ops, bool) or not isinstance(num_ops, int) or num_ops < 0:
            raise ValueError(f"num_ops should be a non-negative integer, but got {num_ops} "
                             "instead.")
        super().__init__(num_ops=num_ops, magnitude=_int(magnitude, "magnitude"),
                         num_magnitude_bins=_int(num_magnitude_bins, "num_magnitude_bins"),
                         interpolation=_interpolation(interpolation),
                         fill=_warp_fill(fill, none_allowed=True))


class TrivialAugmentWide(Transform):
    """One op drawn uniformly from torchvision's TrivialAugmentWide space, at a uniform
    magnitude bin (signed at random)."""

    _name = "TrivialAugmentWide"

    def __init__(self, num_magnitude_bins: int = 31, interpolation=InterpolationMode.NEAREST,
                 fill=None):
        super().__init__(num_magnitude_bins=_int(num_magnitude_bins, "num_magnitude_bins"),
                         interpolation=_interpolation(interpolation),
                         fill=_warp_fill(fill, none_allowed=True))


class AugMix(Transform):
    """AugMix: `mixture_width` chains of 1-3 (or `chain_depth`) ops at severity up to
    `severity`, blended with Dirichlet(alpha) weights and then with the original by a
    Beta(alpha, alpha) weight, in float32 as torchvision does."""

    _name = "AugMix"

    def __init__(self, severity: int = 3, mixture_width: int = 3, chain_depth: int = -1,
                 alpha: float = 1.0, all_ops: bool = True,
                 interpolation=InterpolationMode.BILINEAR, fill=None):
        if not (1 <= severity <= 10):
            raise ValueError(f"The severity must be between [1, 10]. Got {severity} instead.")
        super().__init__(severity=_int(severity, "severity"),
                         mixture_width=_int(mixture_width, "mixture_width"),
                         chain_depth=_int(chain_depth, "chain_depth"), alpha=float(alpha),
                         all_ops=bool(all_ops), interpolation=_interpolation(interpolation),
                         fill=_warp_fill(fill, none_allowed=True))


_PIXEL_STEPS = {
    "ColorJitter", "Grayscale", "RandomGrayscale", "GaussianBlur", "RandomInvert",
    "RandomPosterize", "RandomSolarize", "RandomAdjustSharpness", "RandomAutocontrast",
    "RandomEqualize", "RandomRotation", "RandomAffine", "AutoAugment", "RandAugment",
    "TrivialAugmentWide", "AugMix", "RandomApply", "RandomChoice", "RandomOrder", "Compose",
}


class _RandomContainer(Transform):
    """RandomApply / RandomChoice / RandomOrder: a group of pixel transforms, run as drawn."""

    def __init__(self, transforms, **args):
        if isinstance(transforms, Transform) and not isinstance(transforms, Compose):
            transforms = [transforms]
        elif isinstance(transforms, Compose):
            transforms = transforms.transforms
        if not isinstance(transforms, (list, tuple)):
            raise TypeError("Argument transforms should be a sequence of callables")
        self.transforms = [t if isinstance(t, Transform) else _convert(t, "error")
                           for t in transforms]
        self._children = []
        for t in self.transforms:
            steps = t._steps()
            for name, step_args in steps:
                if name not in _PIXEL_STEPS:
                    raise ValueError(f"{name} cannot be fused yet inside {self._name}: only "
                                     "colour transforms, the warps and the policies can")
                if name == "Grayscale" and step_args.get("num_output_channels") == 1:
                    raise ValueError(f"Grayscale(num_output_channels=1) inside {self._name} "
                                     "would make batches of mixed channel counts; use 3")
            units, at = 0, 0  # the child's top-level steps (each with its contents)
            while at < len(steps):
                units, at = units + 1, at + 1 + steps[at][1].get("span", 0)
            if units != 1:  # several steps make one child: a group
                steps = [("Compose", {"span": len(steps), "children": units})] + steps
            self._children.append(steps)
        span = sum(len(c) for c in self._children)
        self._args = {k: v for k, v in dict(args, span=span, children=len(self._children)).items()
                      if v is not None}
        self._param_names = list(_check_transform(self._name, self._args))

    def _steps(self):
        return [(self._name, dict(self._args))] + [s for c in self._children for s in c]

    def __repr__(self) -> str:
        extra = "".join(f", {k}={v!r}" for k, v in self._args.items()
                        if k not in ("span", "children"))
        return f"{type(self).__name__}({self.transforms!r}{extra})"


class RandomApply(_RandomContainer):
    """Runs `transforms` in order with probability p (torchvision's RandomApply)."""

    _name = "RandomApply"

    def __init__(self, transforms, p: float = 0.5):
        super().__init__(transforms, p=_probability(p))


class RandomChoice(_RandomContainer):
    """Runs one of `transforms`, drawn with probabilities `p` (normalised; default uniform)."""

    _name = "RandomChoice"

    def __init__(self, transforms, p=None):
        if isinstance(transforms, (list, tuple)) and transforms and all(
                isinstance(t, _BatchMix) for t in transforms):
            # A choice of batch transforms (MixUp / CutMix): for batch_transforms=.
            self.transforms, self.p = list(transforms), p
            batch_spec_of(self)  # checks p and num_classes now
            return
        if p is not None:
            if not isinstance(p, (list, tuple)) or len(p) != len(transforms):
                raise ValueError("Length of p doesn't match the number of transforms: "
                                 f"{len(p) if isinstance(p, (list, tuple)) else p!r} != "
                                 f"{len(transforms)}")
            p = [float(v) for v in p]
            if any(not math.isfinite(v) or v < 0 for v in p) or sum(p) <= 0:
                raise ValueError(f"p must hold non-negative numbers that do not sum to zero, "
                                 f"got {p!r}")
            p = [v / sum(p) for v in p]  # torchvision normalises p
        super().__init__(transforms, weights=p)


class RandomOrder(_RandomContainer):
    """Runs all of `transforms` in a uniformly random order."""

    _name = "RandomOrder"

    def __init__(self, transforms):
        super().__init__(transforms)


def _antialias(antialias) -> None:
    if antialias is False:
        raise ValueError("antialias=False is not supported: nocopy always antialiases when it "
                         "shrinks (torchvision v2's default)")


# --- plans ------------------------------------------------------------------------------------
class TransformPlan(NamedTuple):
    """What a batch of a loader with transforms holds: dataset ``indices`` and ``params``, for
    each transform that draws (keyed by its class name, ``Name#2`` for a second one), its
    parameters per sample as NumPy arrays: RandomResizedCrop top/left/height/width (the window
    in the source image); RandomCrop top/left (in the padded image); the flips' and Random*
    transforms' ``applied`` (bool); ColorJitter ``order`` (B, 4: the order of brightness 0,
    contrast 1, saturation 2, hue 3) and the factors (NaN when not jittered); GaussianBlur
    ``sigma``; RandomErasing ``applied`` and the box top/left/height/width; RandomRotation
    ``angle``; RandomAffine angle/translate_x/translate_y/scale/shear_x/shear_y; the policies'
    ``op`` (indices into AUGMENT_OPS) and signed ``magnitude`` (AutoAugment also ``policy`` and
    ``applied``, AugMix ``weight`` and ``depth``); RandomApply ``applied``, RandomChoice
    ``choice``, RandomOrder ``order``. Fields named ``name.i`` in the C++ plan stack into one
    (B, ...) array."""

    indices: np.ndarray
    params: dict
    batch: dict = {}
    #: With an nc.Mixture: the dataset of each sample (``indices`` are then its index there).
    dataset: np.ndarray | None = None


_INT_FIELDS = {"top", "left", "height", "width", "order", "op", "policy", "choice", "depth",
               "noise_seed"}


def erasing_noise(noise_seed: int, shape) -> np.ndarray:
    """The standard normal values RandomErasing(value="random") wrote into a box of `shape`
    (C, h, w) for the ``noise_seed`` that plan(i) reports (float32, C-contiguous)."""
    shape = tuple(int(v) for v in shape)
    count = int(np.prod(shape))
    return np.asarray(_erasing_noise(int(noise_seed), count), np.float32).reshape(shape)


def _field(name: str, a: np.ndarray) -> np.ndarray:
    if name == "applied":
        return a != 0
    if name in _INT_FIELDS:
        return a.astype(np.int64)
    return a


def _plan(indices, steps, batch=()) -> TransformPlan:
    params: dict[str, dict[str, np.ndarray]] = {}
    for name, columns in steps:
        if not columns:
            continue
        key, n = name, 2
        while key in params:
            key, n = f"{name}#{n}", n + 1
        fields: dict[str, np.ndarray] = {}
        # "name.i.j" columns (and ColorJitter's "order0".."order3") stack into (B, ...) arrays.
        stacked: dict[str, list[tuple[tuple[int, ...], np.ndarray]]] = {}
        for f, v in columns:
            a = np.asarray(v, np.float64)
            if "." in f or (f.startswith("order") and f[5:].isdigit()):
                base, *rest = f.split(".") if "." in f else ("order", f[5:])
                stacked.setdefault(base, []).append((tuple(int(r) for r in rest), a))
            else:
                fields[f] = _field(f, a)
        for base, parts in stacked.items():
            shape = tuple(max(ix[d] for ix, _ in parts) + 1 for d in range(len(parts[0][0])))
            out = np.zeros((len(parts[0][1]),) + shape, np.float64)
            for ix, a in parts:
                out[(slice(None),) + ix] = a
            fields[base] = _field(base, out)
        params[key] = fields
    return TransformPlan(np.asarray(indices, np.int64), params, dict(batch))


# --- torchvision ------------------------------------------------------------------------------
_SAME_NAME = {
    "RandomResizedCrop", "Resize", "CenterCrop", "RandomCrop", "Pad", "RandomHorizontalFlip",
    "RandomVerticalFlip", "ColorJitter", "Grayscale", "RandomGrayscale", "GaussianBlur",
    "RandomInvert", "RandomPosterize", "RandomSolarize", "RandomAdjustSharpness",
    "RandomAutocontrast", "RandomEqualize", "Normalize", "RandomErasing", "RandomRotation",
    "RandomAffine", "AutoAugment", "RandAugment", "TrivialAugmentWide", "AugMix", "RandomApply",
    "RandomChoice", "RandomOrder",
}


def _convert(t, fallback: str) -> Transform:
    """One torchvision (v2 or v1) transform as ours; ValueError naming it when it has none."""
    name = type(t).__name__
    module = type(t).__module__ or ""
    if not module.startswith("torchvision"):
        raise TypeError(f"{name} is neither a nocopy nor a torchvision transform")
    if name == "Compose":
        return Compose([_convert(x, fallback) for x in t.transforms])
    a = vars(t)
    if name in ("ToImage", "PILToTensor", "ToPureTensor"):
        return Compose([])
    if name == "ToTensor":  # v1: uint8 HWC -> float [0, 1]
        return ToDtype("float32", scale=True)
    if name in ("ToDtype", "ConvertImageDtype"):
        dtype = a.get("dtype")
        if isinstance(dtype, dict):
            dtype = next((v for k, v in dtype.items() if getattr(k, "__name__", "") in
                          ("Image", "Tensor")), None)
        return ToDtype(dtype, scale=a.get("scale", True if name == "ConvertImageDtype" else False))
    if name not in _SAME_NAME:
        if fallback == "python":
            return Lambda(_TorchvisionCall(t))
        raise ValueError(f"{name} cannot be fused into the loader yet (supported: "
                         f"{', '.join(sorted(_SAME_NAME | {'ToDtype'}))}); "
                         "from_torchvision(..., fallback='python') runs it per sample")
    if name == "RandomResizedCrop":
        return RandomResizedCrop(list(a["size"]), a["scale"], a["ratio"], a["interpolation"],
                                 a.get("antialias", True))
    if name == "Resize":
        return Resize(list(a["size"]) if a["size"] is not None else None, a["interpolation"],
                      a.get("max_size"), a.get("antialias", True))
    if name == "CenterCrop":
        return CenterCrop(list(a["size"]))
    if name == "RandomCrop":
        padding = a.get("padding")
        return RandomCrop(list(a["size"]), padding, a.get("pad_if_needed", False),
                          _tv_fill(a.get("fill", 0)), a.get("padding_mode", "constant"))
    if name == "Pad":
        return Pad(a["padding"], _tv_fill(a.get("fill", 0)), a.get("padding_mode", "constant"))
    if name in ("RandomHorizontalFlip", "RandomVerticalFlip", "RandomInvert",
                "RandomAutocontrast", "RandomEqualize"):
        return globals()[name](p=a["p"])
    if name == "RandomGrayscale":
        return RandomGrayscale(p=a["p"])
    if name == "Grayscale":
        return Grayscale(a["num_output_channels"])
    if name == "ColorJitter":
        return ColorJitter(*(list(a[k]) if a[k] is not None else None
                             for k in ("brightness", "contrast", "saturation", "hue")))
    if name == "GaussianBlur":
        return GaussianBlur(list(a["kernel_size"]), list(a["sigma"]))
    if name == "RandomPosterize":
        return RandomPosterize(a["bits"], p=a["p"])
    if name == "RandomSolarize":
        return RandomSolarize(a["threshold"], p=a["p"])
    if name == "RandomAdjustSharpness":
        return RandomAdjustSharpness(a["sharpness_factor"], p=a["p"])
    if name == "Normalize":
        return Normalize(list(a["mean"]), list(a["std"]))
    if name == "RandomRotation":
        return RandomRotation(list(a["degrees"]), a["interpolation"], a["expand"], a["center"],
                              a["fill"])
    if name == "RandomAffine":
        return RandomAffine(list(a["degrees"]), a["translate"], a["scale"],
                            list(a["shear"]) if a["shear"] is not None else None,
                            a["interpolation"], a["fill"], a["center"])
    if name == "AutoAugment":
        return AutoAugment(a["policy"], a["interpolation"], a["fill"])
    if name == "RandAugment":
        return RandAugment(a["num_ops"], a["magnitude"], a["num_magnitude_bins"],
                           a["interpolation"], a["fill"])
    if name == "TrivialAugmentWide":
        return TrivialAugmentWide(a["num_magnitude_bins"], a["interpolation"], a["fill"])
    if name == "AugMix":
        return AugMix(a["severity"], a["mixture_width"], a["chain_depth"], a["alpha"],
                      a["all_ops"], a["interpolation"], a["fill"])
    if name in ("RandomApply", "RandomChoice", "RandomOrder"):
        children = [_convert(x, fallback) for x in t.transforms]
        if name == "RandomApply":
            return RandomApply(children, p=a["p"])
        if name == "RandomChoice":
            return RandomChoice(children, p=list(a["p"]) if a.get("p") is not None else None)
        return RandomOrder(children)
    if name == "RandomErasing":
        value = a.get("value")
        value = "random" if value is None or isinstance(value, str) else list(
            np.atleast_1d(value))
        return RandomErasing(a["p"], list(a["scale"]), list(a["ratio"]), value)
    raise ValueError(f"{name} cannot be fused into the loader yet")  # pragma: no cover


def _tv_fill(fill):
    if isinstance(fill, dict):  # v2 stores fill per type: take the image's
        fill = next(iter(fill.values()), 0) if fill else 0
    return 0 if fill is None else fill


class _TorchvisionCall:
    """A torchvision transform run on one sample as a Lambda: the (H, W, C) uint8 view as a
    (C, H, W) tensor (no copy), the result written back (it must keep the sample's shape)."""

    def __init__(self, transform):
        self.transform = transform

    def __call__(self, image):
        import torch

        x = torch.from_numpy(image).permute(2, 0, 1)
        y = torch.as_tensor(self.transform(x))
        if y.shape != x.shape or y.dtype != torch.uint8:
            raise ValueError(f"{type(self.transform).__name__} run per sample must keep the "
                             f"sample's shape and uint8, got {tuple(y.shape)} {y.dtype}")
        return y.permute(1, 2, 0).numpy()

    def __repr__(self) -> str:
        return repr(self.transform)


def from_torchvision(compose, fallback: str = "error") -> Compose:
    """The fused equivalent of a torchvision (v2 or v1) transform or Compose. A transform that
    cannot be fused is a ValueError naming it, or with ``fallback="python"`` it runs per sample
    as a ``Lambda`` (in the workers, taking turns on the GIL; it must keep the sample's size)."""
    if fallback not in ("error", "python"):
        raise ValueError(f"fallback must be 'error' or 'python', got {fallback!r}")
    t = _convert(compose, fallback)
    return t if isinstance(t, Compose) else Compose([t])


def steps_of(transforms) -> list[tuple[str, dict]]:
    """The (name, arguments) steps of a transform, a Compose, a list of transforms or a
    torchvision Compose (converted with from_torchvision)."""
    if isinstance(transforms, (list, tuple)):
        transforms = Compose(list(transforms))
    elif not isinstance(transforms, Transform):
        transforms = from_torchvision(transforms)
    return transforms._steps()


# --- batch transforms -------------------------------------------------------------------------
class _BatchMix:
    """Base of MixUp and CutMix: run by the loader on each complete batch
    (``nc.Loader(..., batch_transforms=...)``), in C++, in place."""

    _name = ""

    def __init__(self, *, alpha: float = 1.0, num_classes: int | None = None,
                 labels_getter="default"):
        if labels_getter != "default":
            raise ValueError("labels_getter is not supported: the loader's labels are used")
        if num_classes is None:
            raise ValueError(f"{self._name} needs num_classes: the loader's labels are class "
                             "indices, made one-hot here")
        if isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral):
            raise TypeError(f"num_classes must be an int, got {num_classes!r}")
        if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real):
            raise TypeError(f"alpha must be a number, got {alpha!r}")
        self.alpha, self.num_classes = float(alpha), int(num_classes)
        _check_batch_transforms((self.num_classes, [(self._name, self.alpha, 1.0)]))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(alpha={self.alpha}, num_classes={self.num_classes})"


class MixUp(_BatchMix):
    """Each image becomes lam * x[i] + (1 - lam) * x[i - 1] (the batch rolled by one), lam ~
    Beta(alpha, alpha) per batch; labels become the same mix of one-hot rows (float32,
    num_classes wide)."""

    _name = "MixUp"


class CutMix(_BatchMix):
    """A box of x[i - 1], of area fraction 1 - lam (lam ~ Beta(alpha, alpha)) at a uniform
    centre, pasted into each image; labels mixed by the box's exact area."""

    _name = "CutMix"


def is_batch_mix(t) -> bool:
    """True for what batch_spec_of takes: MixUp, CutMix (ours or torchvision's), a one-element
    list of them, or a RandomChoice of them."""
    if isinstance(t, (list, tuple)):
        return True
    if isinstance(t, _BatchMix):
        return True
    if type(t).__name__ in ("MixUp", "CutMix") and (type(t).__module__ or "").startswith(
            "torchvision"):
        return True
    inner = getattr(t, "transforms", None)
    return type(t).__name__ == "RandomChoice" and bool(inner) and all(is_batch_mix(x)
                                                                       for x in inner)


def batch_spec_of(batch_transforms) -> tuple[int, list[tuple[str, float, float]]]:
    """(num_classes, [(name, alpha, weight)]) of MixUp, CutMix, a one-element list of them, or
    a RandomChoice between them (ours or torchvision's; torchvision's MixUp / CutMix are
    converted)."""
    t = batch_transforms
    if isinstance(t, (list, tuple)):
        if len(t) != 1:
            raise ValueError("batch_transforms takes one batch transform (use RandomChoice to "
                             "pick one of several per batch)")
        t = t[0]
    module = type(t).__module__ or ""
    if module.startswith("torchvision") and type(t).__name__ in ("MixUp", "CutMix"):
        t = {"MixUp": MixUp, "CutMix": CutMix}[type(t).__name__](
            alpha=float(t.alpha), num_classes=t.num_classes)
    if isinstance(t, _BatchMix):
        return t.num_classes, [(t._name, t.alpha, 1.0)]
    inner = getattr(t, "transforms", None)
    if type(t).__name__ == "RandomChoice" and inner:
        p = getattr(t, "p", None)
        weights = [1.0] * len(inner) if p is None else [float(v) for v in p]
        specs = [batch_spec_of([x]) for x in inner]
        classes = {s[0] for s in specs}
        if len(classes) != 1:
            raise ValueError("the batch transforms of a RandomChoice need one num_classes")
        return classes.pop(), [(s[1][0][0], s[1][0][1], w) for s, w in zip(specs, weights)]
    raise TypeError(f"batch_transforms takes MixUp, CutMix or a RandomChoice of them, not "
                    f"{type(t).__name__}")
