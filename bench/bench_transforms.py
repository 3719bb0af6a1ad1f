"""nocopy.transforms against torchvision, DALI and SPDL, side by side in one run.

A JPEG ImageSet of synthetic ImageNet-like photos (bench_jpeg.photos: sides 300-500 px, quality
90). The recipe is torchvision's reference train recipe (references/classification/presets.py):
RandomResizedCrop 176, RandomHorizontalFlip, TrivialAugmentWide, ToDtype(float32, scale=True),
Normalize, RandomErasing(0.1), then MixUp(0.2) or CutMix(1.0) on the batch; float32 CHW, batch
--batch. Methods, interleaved round by round (--rounds), medians of img/s:
  - nocopy-recipe: nc.Loader(jpeg_set, transforms=recipe, batch_transforms=mix), --threads
    C++ threads;
  - nocopy-simple: the same set with the shorthand options (random_resized crop, mirror,
    normalize): the path that does not use transforms;
  - torch-N: a torch DataLoader (num_workers N = 0 and 2) whose Dataset runs torchvision v2's
    decode_jpeg and the same Compose per sample, MixUp / CutMix on each batch (as the
    reference's collate function does);
  - dali-cpu: DALI on the CPU (--threads threads): decoders.image_random_crop (libjpeg-turbo,
    the window only), resize, auto_aug.trivial_augment_wide, crop_mirror_normalize. DALI has no
    RandomErasing probability, MixUp or CutMix operator: it does less work than the others;
  - spdl: SPDL's thread pipeline (--threads) running decode_jpeg + the same Compose per sample,
    then MixUp / CutMix on each batch.
Then the cost of the escape hatch: the same pixel operation (invert) as the fused
RandomInvert(p=1) and as a Lambda (NumPy in the worker threads, taking turns on the GIL), on
uint8 arrays, RandomCrop 176 + the operation + ToDtype, same run.
Progress goes to stderr; --png writes a chart. Usage: python bench/bench_transforms.py
[--images 256] [--rounds 3] [--png FILE]"""

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
NUM_CLASSES = 1000


def recipe(ns):
    """The reference recipe's per-sample part, in `ns` (nocopy.transforms or torchvision's v2)."""
    import torch

    return ns.Compose([ns.RandomResizedCrop(176), ns.RandomHorizontalFlip(),
                       ns.TrivialAugmentWide(), ns.ToDtype(torch.float32, scale=True),
                       ns.Normalize(MEAN, STD), ns.RandomErasing(0.1)])


def mix(ns):
    """The reference recipe's batch part."""
    return ns.RandomChoice([ns.MixUp(alpha=0.2, num_classes=NUM_CLASSES),
                            ns.CutMix(alpha=1.0, num_classes=NUM_CLASSES)])


def timed(next_batch, batches: int, batch: int) -> float:
    next_batch()  # warm up: threads, workers, first decode
    t0 = time.perf_counter()
    for _ in range(batches):
        next_batch()
    return batches * batch / (time.perf_counter() - t0)


def forever(iterable_factory):
    """next_batch() cycling over epochs of an iterable."""
    state = {"it": iter(iterable_factory())}

    def next_batch():
        try:
            return next(state["it"])
        except StopIteration:
            state["it"] = iter(iterable_factory())
            return next(state["it"])

    return next_batch


def nocopy_method(ds, args, simple: bool, labels=None):
    if simple:
        loader = nc.Loader(ds, batch_size=args.batch, crop=176, crop_mode="random_resized",
                           mirror=0.5, mean=MEAN, std=STD, num_threads=args.threads)
    else:
        loader = nc.Loader(ds, labels, batch_size=args.batch, transforms=recipe(T),
                           batch_transforms=mix(T), num_threads=args.threads)
    return loader, forever(lambda: loader)


def _decode(blob):
    import torch
    from torchvision.io import decode_jpeg

    return decode_jpeg(torch.frombuffer(bytearray(blob), dtype=torch.uint8))


def torch_method(blobs, labels, args, workers: int):
    import torch
    import torchvision.transforms.v2 as tv
    from torch.utils.data import DataLoader, Dataset, default_collate

    compose, batch_mix = recipe(tv), mix(tv)

    class Samples(Dataset):
        def __len__(self):
            return len(blobs)

        def __getitem__(self, i):
            return compose(_decode(blobs[i])), int(labels[i])

    def collate(items):
        return batch_mix(*default_collate(items))

    loader = DataLoader(Samples(), batch_size=args.batch, shuffle=True, num_workers=workers,
                        persistent_workers=workers > 0, collate_fn=collate)
    torch.set_num_threads(1)
    return loader, forever(lambda: loader)


def spdl_method(blobs, labels, args):
    import torch
    import torchvision.transforms.v2 as tv
    from spdl.pipeline import PipelineBuilder
    from torch.utils.data import default_collate

    compose, batch_mix = recipe(tv), mix(tv)
    rng = np.random.default_rng(0)

    def indices():
        while True:
            yield from rng.permutation(len(blobs)).tolist()

    def sample(i):
        return compose(_decode(blobs[i])), int(labels[i])

    pipeline = (PipelineBuilder().add_source(indices())
                .pipe(sample, concurrency=args.threads)
                .aggregate(args.batch, drop_last=True)
                .pipe(lambda items: batch_mix(*default_collate(items)))
                .add_sink(3).build(num_threads=args.threads))
    pipeline.start()
    it = pipeline.get_iterator(timeout=120)
    torch.set_num_threads(1)
    return pipeline, lambda: next(it)


def dali_method(blobs, args):
    from nvidia.dali import fn, pipeline_def, types
    from nvidia.dali.auto_aug import trivial_augment

    state = {"pos": 0}

    def source():
        idx = [(state["pos"] + k) % len(blobs) for k in range(args.batch)]
        state["pos"] += args.batch
        return [np.frombuffer(blobs[i], np.uint8) for i in idx]

    @pipeline_def(batch_size=args.batch, num_threads=args.threads, device_id=None,
                  prefetch_queue_depth=2, enable_conditionals=True)
    def pipe():
        x = fn.external_source(source=source, dtype=types.UINT8)
        x = fn.decoders.image_random_crop(x, device="cpu", output_type=types.RGB,
                                          random_area=[0.08, 1.0],
                                          random_aspect_ratio=[3 / 4, 4 / 3])
        x = fn.resize(x, device="cpu", resize_x=176, resize_y=176)
        x = trivial_augment.trivial_augment_wide(x)
        return fn.crop_mirror_normalize(
            x, device="cpu", dtype=types.FLOAT, output_layout="CHW",
            mean=[255 * m for m in MEAN], std=[255 * s for s in STD],
            mirror=fn.random.coin_flip(probability=0.5))

    p = pipe()
    p.build()
    return p, lambda: p.run()


def available(module: str) -> bool:
    try:
        __import__(module)
        return True
    except ImportError:
        return False


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
            rates[name].append(timed(forever(lambda: loader), min(args.batches, 7), args.batch))
            loader.close()
    return rates


LABELS = {"nocopy-recipe": "nocopy, the recipe", "nocopy-simple": "nocopy, crop+flip+normalize only",
          "torch-0": "torch DataLoader, 0 workers", "torch-2": "torch DataLoader, 2 workers",
          "dali-cpu": "DALI CPU (no erasing, no mix)", "spdl": "SPDL, 2 threads"}


def chart(path: str, rows: list[tuple[str, float]], title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 0.5 + 0.45 * len(rows)))
    names = [r[0] for r in rows][::-1]
    values = [r[1] for r in rows][::-1]
    ax.barh([LABELS.get(n, n) for n in names], values,
            color=["#2a7" if n.startswith("nocopy") else "#999" for n in names])
    for y, v in enumerate(values):
        ax.text(v, y, f" {v:.0f}", va="center")
    ax.set_xlabel("images / s (median, higher is better)")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--images", type=int, default=256)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--batches", type=int, default=6, help="timed batches per method and round")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--png", help="write a bar chart of the recipe methods here")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print(f"packing {args.images} JPEG photos...", file=sys.stderr)
        from PIL import Image

        os.makedirs(os.path.join(tmp, "src", "a"))
        for k, a in enumerate(photos(args.images)):
            Image.fromarray(a).save(os.path.join(tmp, "src", "a", f"{k:05d}.png"))
        nc.pack_images(os.path.join(tmp, "src"), os.path.join(tmp, "set"), format="jpeg",
                       quality=90, progress=False)
        ds = nc.ImageSet.open(os.path.join(tmp, "set"))
        labels = np.random.default_rng(1).integers(0, NUM_CLASSES, len(ds))
        blobs = [bytes(ds.encoded(i)) for i in range(len(ds))]
        methods = {
            "nocopy-recipe": lambda: nocopy_method(ds, args, simple=False, labels=labels),
            "nocopy-simple": lambda: nocopy_method(ds, args, simple=True),
            "torch-0": lambda: torch_method(blobs, labels, args, 0),
            "torch-2": lambda: torch_method(blobs, labels, args, 2),
        }
        if available("nvidia.dali"):
            methods["dali-cpu"] = lambda: dali_method(blobs, args)
        if available("spdl.pipeline"):
            methods["spdl"] = lambda: spdl_method(blobs, labels, args)
        rates: dict[str, list[float]] = {m: [] for m in methods}
        for r in range(args.rounds):
            for name, make in methods.items():
                print(f"round {r + 1}/{args.rounds}: {name}...", file=sys.stderr)
                owner, next_batch = make()
                rates[name].append(timed(next_batch, args.batches, args.batch))
                if hasattr(owner, "stop"):
                    owner.stop()
                del owner, next_batch
    lambda_rates = lambda_cost(args)
    print(f"machine: {machine()}")
    print(f"threads / workers: {args.threads}; batch {args.batch}; {args.images} JPEG photos; "
          f"{args.rounds} rounds of {args.batches} batches")
    base = statistics.median(rates["torch-2"])
    rows = []
    print("| method | img/s (median) | img/s per core | / torch-2 |\n|---|---:|---:|---:|")
    for name, values in rates.items():
        med = statistics.median(values)
        cores = 1 if name == "torch-0" else args.threads
        rows.append((name, med))
        print(f"| {name} | {med:.0f} | {med / cores:.0f} | {med / base:.2f} |")
    fused = statistics.median(lambda_rates["fused RandomInvert"])
    print("\n| per-sample invert | img/s (median) | / fused |\n|---|---:|---:|")
    for name, values in lambda_rates.items():
        med = statistics.median(values)
        print(f"| {name} | {med:.0f} | {med / fused:.2f} |")
    if args.png:
        chart(args.png, rows, "torchvision's reference train recipe from JPEG, 2 cores")


if __name__ == "__main__":
    main()
