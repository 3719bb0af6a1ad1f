"""nocopy.transforms against torchvision's own pipeline, side by side in one run.

A JPEG ImageSet of synthetic ImageNet-like photos (bench_jpeg.photos: sides 300-500 px, quality
90). The recipe is torchvision's reference train recipe as far as it is fused today:
RandomResizedCrop 176, RandomHorizontalFlip, ColorJitter(0.4, 0.4, 0.4) (standing in for
TrivialAugmentWide, not fused yet), ToDtype(float32, scale=True), Normalize, RandomErasing(0.1);
float32 CHW, batch --batch. Methods, interleaved round by round (--rounds), medians of img/s:
  - nocopy-recipe: nc.Loader(jpeg_set, transforms=recipe), --threads C++ threads;
  - nocopy-simple: the same set with today's shorthand (random_resized crop, mirror, normalize):
    what the recipe costs over the simple path;
  - torch-N: a torch DataLoader (num_workers N = 0 and 2) whose Dataset runs torchvision v2's
    decode_jpeg and the same Compose per sample.
Then the cost of the escape hatch: the same pixel operation (invert) as the fused
RandomInvert(p=1) and as a Lambda (NumPy in the worker threads, taking turns on the GIL), on
uint8 arrays, RandomCrop 176 + the operation + ToDtype, same run.
Progress goes to stderr. Usage: python bench/bench_transforms.py [--images 256] [--rounds 3]"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import nocopy as nc  # noqa: E402
import nocopy.transforms as T  # noqa: E402
from bench_jpeg import photos  # noqa: E402
from common import machine  # noqa: E402

MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


def recipe(ns):
    import torch

    return ns.Compose([ns.RandomResizedCrop(176), ns.RandomHorizontalFlip(),
                       ns.ColorJitter(0.4, 0.4, 0.4), ns.ToDtype(torch.float32, scale=True),
                       ns.Normalize(MEAN, STD), ns.RandomErasing(0.1)])


def timed(next_batch, batches: int, batch: int) -> float:
    next_batch()  # warm up: threads, workers, first decode
    t0 = time.perf_counter()
    for _ in range(batches):
        next_batch()
    return batches * batch / (time.perf_counter() - t0)


def nocopy_method(ds, args, simple: bool):
    if simple:
        loader = nc.Loader(ds, batch_size=args.batch, crop=176, crop_mode="random_resized",
                           mirror=0.5, mean=MEAN, std=STD, num_threads=args.threads)
    else:
        loader = nc.Loader(ds, batch_size=args.batch, transforms=recipe(T),
                           num_threads=args.threads)
    state = {"it": iter(loader)}

    def next_batch():
        try:
            return next(state["it"])
        except StopIteration:
            state["it"] = iter(loader)
            return next(state["it"])

    return loader, next_batch


def torch_method(blobs, labels, args, workers: int):
    import torch
    import torchvision.transforms.v2 as tv
    from torchvision.io import decode_jpeg
    from torch.utils.data import DataLoader, Dataset

    compose = recipe(tv)

    class Samples(Dataset):
        def __len__(self):
            return len(blobs)

        def __getitem__(self, i):
            data = torch.frombuffer(bytearray(blobs[i]), dtype=torch.uint8)
            return compose(decode_jpeg(data)), int(labels[i])

    loader = DataLoader(Samples(), batch_size=args.batch, shuffle=True, num_workers=workers,
                        persistent_workers=workers > 0)
    state = {"it": iter(loader)}

    def next_batch():
        try:
            return next(state["it"])
        except StopIteration:
            state["it"] = iter(loader)
            return next(state["it"])

    return loader, next_batch


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--images", type=int, default=256)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--batches", type=int, default=6, help="timed batches per method and round")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    import torch

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        print(f"packing {args.images} JPEG photos...", file=sys.stderr)
        arrays = list(photos(args.images))
        labels = np.zeros(args.images, np.int64)  # one class folder
        from PIL import Image

        os.makedirs(os.path.join(tmp, "src", "a"))
        for k, a in enumerate(arrays):
            Image.fromarray(a).save(os.path.join(tmp, "src", "a", f"{k:05d}.png"))
        nc.pack_images(os.path.join(tmp, "src"), os.path.join(tmp, "set"), format="jpeg",
                       quality=90, progress=False)
        ds = nc.ImageSet.open(os.path.join(tmp, "set"))
        blobs = [bytes(ds.encoded(i)) for i in range(len(ds))]
        methods = {
            "nocopy-recipe": lambda: nocopy_method(ds, args, simple=False),
            "nocopy-simple": lambda: nocopy_method(ds, args, simple=True),
            "torch-0": lambda: torch_method(blobs, labels, args, 0),
            "torch-2": lambda: torch_method(blobs, labels, args, 2),
        }
        rates: dict[str, list[float]] = {m: [] for m in methods}
        for r in range(args.rounds):
            for name, make in methods.items():
                print(f"round {r + 1}/{args.rounds}: {name}...", file=sys.stderr)
                loader, next_batch = make()
                rates[name].append(timed(next_batch, args.batches, args.batch))
                del loader, next_batch
    lambda_rates = lambda_cost(args)
    print(f"machine: {machine()}")
    print(f"recipe: {recipe(T)!r}".replace("\n", " "))
    base = statistics.median(rates["torch-2"])
    print("| method | img/s (median) | / torch-2 |\n|---|---:|---:|")
    for name, values in rates.items():
        med = statistics.median(values)
        print(f"| {name} | {med:.0f} | {med / base:.2f} |")
    fused = statistics.median(lambda_rates["fused RandomInvert"])
    print("\n| per-sample invert | img/s (median) | / fused |\n|---|---:|---:|")
    for name, values in lambda_rates.items():
        med = statistics.median(values)
        print(f"| {name} | {med:.0f} | {med / fused:.2f} |")


def _invert(a):
    np.subtract(255, a, out=a)


def lambda_cost(args) -> dict[str, list[float]]:
    """img/s of a fused pixel transform against the same one as a Lambda, interleaved."""
    images = np.random.default_rng(0).integers(0, 256, (512, 200, 200, 3), np.uint8)
    pipelines = {
        "fused RandomInvert": [T.RandomCrop(176), T.RandomInvert(p=1.0), T.ToDtype("float32")],
        "Lambda (NumPy)": [T.RandomCrop(176), T.Lambda(_invert), T.ToDtype("float32")],
    }
    rates: dict[str, list[float]] = {m: [] for m in pipelines}
    for r in range(args.rounds):
        for name, transforms in pipelines.items():
            print(f"round {r + 1}/{args.rounds}: {name}...", file=sys.stderr)
            loader = nc.Loader(images, batch_size=args.batch, transforms=transforms,
                               num_threads=args.threads, output="numpy")
            _, next_batch = None, iter(loader).__next__
            rates[name].append(timed(next_batch, min(args.batches, 7), args.batch))
            loader.close()
    return rates


if __name__ == "__main__":
    main()
