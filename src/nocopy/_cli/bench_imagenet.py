"""``python -m nocopy bench --workload imagenet``: variable-size images through RandomResizedCrop.

The workload is ImageNet's training input: N uint8 RGB images whose sides are drawn from 300 to
500 px, RandomResizedCrop to crop x crop (antialiased bilinear), a horizontal flip with
probability 1/2, ImageNet mean/std normalization, float32 CHW, batches of `batch`. Each method
runs in its own subprocess on the same images: the nocopy Loader over an ImageSet; a torch
Dataset + DataLoader recipe doing per-sample crop + interpolate(antialias=True) + normalize
(num_workers 0 and 2); OpenCV cv2.resize per sample in a thread pool; NVIDIA DALI on the CPU
(external source of the same images, fn.random_resized_crop + fn.crop_mirror_normalize) when
installed; and the memory bound (each window's bytes read and the output written, at the
streaming rates measured in the same run). Reports median img/s, img/s per core, the ratios and
the extra peak RSS.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys

from . import bench_harness as harness

METHODS = ("bound", "nocopy", "torch-dataloader-0", "torch-dataloader-2", "opencv", "dali")
LABELS = {"bound": "memory bound", "nocopy": "nocopy", "torch-dataloader-0": "torch, 0 workers",
          "torch-dataloader-2": "torch, 2 workers", "opencv": "OpenCV thread pool",
          "dali": "DALI (CPU)"}
MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def make_images(cfg: dict):
    import numpy as np

    rng = np.random.default_rng(0)
    sides = rng.integers(cfg["min_side"], cfg["max_side"] + 1, (cfg["n"], 2))
    return [rng.integers(0, 256, (int(h), int(w), 3), dtype=np.uint8) for h, w in sides]


def rrc_params(rng, h: int, w: int, area=(0.08, 1.0), ratio=(3 / 4, 4 / 3)):
    """torchvision's RandomResizedCrop.get_params (for the recipes that are not nocopy)."""
    log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
    for _ in range(10):
        target = h * w * rng.uniform(*area)
        aspect = math.exp(rng.uniform(*log_ratio))
        cw, ch = int(round(math.sqrt(target * aspect))), int(round(math.sqrt(target / aspect)))
        if 0 < cw <= w and 0 < ch <= h:
            return int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1)), ch, cw
    in_ratio = w / h
    if in_ratio < ratio[0]:
        cw, ch = w, int(round(w / ratio[0]))
    elif in_ratio > ratio[1]:
        ch, cw = h, int(round(h * ratio[1]))
    else:
        cw, ch = w, h
    return (h - ch) // 2, (w - cw) // 2, ch, cw


# --- the methods: each returns a function producing the next batch --------------------------

def _nocopy(images, cfg):
    import nocopy as nc

    ds = nc.ImageSet.from_arrays(images)
    del images[:]  # the set holds the only copy (as ImageSet.open would: mapped, not duplicated)
    loader = nc.Loader(ds, batch_size=cfg["batch"], crop=cfg["crop"], crop_mode="random_resized",
                       mirror=0.5, mean=MEAN, std=STD, num_threads=cfg["threads"],
                       output="torch")
    return loader.next_batch


def torch_batches(getitem, n: int, cfg: dict, workers: int):
    """next_batch() of a torch DataLoader (batch cfg["batch"], shuffled, `workers` worker
    processes, persistent) over a Dataset of `n` samples whose __getitem__ is getitem(i); it
    starts a new epoch when one ends. Shared by the recipes of every workload."""
    from torch.utils.data import DataLoader, Dataset

    class Samples(Dataset):
        def __len__(self):
            return n

        def __getitem__(self, i):
            return getitem(i)

    loader = DataLoader(Samples(), batch_size=cfg["batch"], shuffle=True, num_workers=workers,
                        persistent_workers=workers > 0)
    state = {"it": iter(loader)}

    def next_batch():
        try:
            return next(state["it"])
        except StopIteration:
            state["it"] = iter(loader)
            return next(state["it"])

    return next_batch


def _torch(images, cfg, workers):
    import numpy as np
    import torch

    crop = cfg["crop"]
    mean = torch.tensor(MEAN).view(3, 1, 1)
    std = torch.tensor(STD).view(3, 1, 1)

    def sample(i):
        rng = np.random.default_rng()
        a = images[i]
        top, left, h, w = rrc_params(rng, a.shape[0], a.shape[1])
        x = torch.from_numpy(a[top:top + h, left:left + w]).permute(2, 0, 1).float()[None]
        x = torch.nn.functional.interpolate(x, size=(crop, crop), mode="bilinear",
                                            antialias=True, align_corners=False)[0]
        if rng.random() < 0.5:
            x = x.flip(-1)
        return (x / 255.0 - mean) / std

    return torch_batches(sample, len(images), cfg, workers)


def _opencv(images, cfg):
    import concurrent.futures

    import cv2
    import numpy as np

    cv2.setNumThreads(1)  # the pool is the parallelism, as in a DataLoader-free recipe
    crop, batch = cfg["crop"], cfg["batch"]
    a = (1.0 / (255.0 * np.array(STD))).astype(np.float32)
    b = (-np.array(MEAN) / np.array(STD)).astype(np.float32)
    pool = concurrent.futures.ThreadPoolExecutor(cfg["threads"])
    state = {"pos": 0}

    def one(i, out):
        rng = np.random.default_rng()
        im = images[i]
        top, left, h, w = rrc_params(rng, im.shape[0], im.shape[1])
        x = cv2.resize(im[top:top + h, left:left + w], (crop, crop),
                       interpolation=cv2.INTER_AREA if h > crop else cv2.INTER_LINEAR)
        if rng.random() < 0.5:
            x = x[:, ::-1]
        out[...] = (x.astype(np.float32) * a + b).transpose(2, 0, 1)

    def next_batch():
        out = np.empty((batch, 3, crop, crop), np.float32)
        idx = [(state["pos"] + k) % len(images) for k in range(batch)]
        state["pos"] += batch
        list(pool.map(lambda k: one(idx[k], out[k]), range(batch)))
        return out

    return next_batch


def dali_cpu(source, cfg: dict, encoded: bool = False):
    """next_batch() of a DALI pipeline on the CPU (device_id=None, cfg["threads"] threads):
    RandomResizedCrop cfg["crop"] (area 0.08-1, ratio 3/4-4/3, antialiased linear resize), a
    coin-flip mirror, mean/std normalization to float32 CHW, batches of cfg["batch"].
    source() gives each batch as a list of arrays: HWC uint8 images (fn.random_resized_crop),
    or, with `encoded`, 1-d uint8 JPEG files, decoded by fn.decoders.image_random_crop (only
    the window, with libjpeg-turbo) and resized by fn.resize."""
    from nvidia.dali import fn, pipeline_def, types

    batch, crop = cfg["batch"], cfg["crop"]

    @pipeline_def(batch_size=batch, num_threads=cfg["threads"], device_id=None,
                  prefetch_queue_depth=2)
    def pipe():
        if encoded:
            x = fn.external_source(source=source, dtype=types.UINT8)
            x = fn.decoders.image_random_crop(x, device="cpu", output_type=types.RGB,
                                              random_area=[0.08, 1.0],
                                              random_aspect_ratio=[3 / 4, 4 / 3])
            x = fn.resize(x, device="cpu", resize_x=crop, resize_y=crop)
        else:
            x = fn.external_source(source=source, dtype=types.UINT8, layout="HWC")
            x = fn.random_resized_crop(x, size=(crop, crop), device="cpu")
        return fn.crop_mirror_normalize(
            x, device="cpu", dtype=types.FLOAT, output_layout="CHW",
            mean=[255 * m for m in MEAN], std=[255 * s for s in STD],
            mirror=fn.random.coin_flip(probability=0.5))

    p = pipe()
    p.build()
    return lambda: p.run()


def cycling(items: list, batch: int):
    """source() for DALI's external_source: the next `batch` items, wrapping around."""
    state = {"pos": 0}

    def source():
        idx = [(state["pos"] + k) % len(items) for k in range(batch)]
        state["pos"] += batch
        return [items[i] for i in idx]

    return source


def _dali(images, cfg):
    return dali_cpu(cycling(images, cfg["batch"]), cfg)


def traffic(cfg: dict) -> tuple[float, int]:
    """(mean bytes read, bytes written) per image: its RandomResizedCrop window in, the float32
    CHW output out (the window sizes drawn by nocopy's sampler over this workload's images)."""
    import numpy as np

    from .. import _nocopy

    rng = np.random.default_rng(0)
    sides = rng.integers(cfg["min_side"], cfg["max_side"] + 1, (64, 2))
    areas = [np.asarray(_nocopy._random_resized_windows(1, 0, 64, int(h), int(w), 0.08, 1.0,
                                                         3 / 4, 4 / 3))[:, 2:4].prod(1).mean()
             for h, w in sides]
    return float(np.mean(areas)) * 3, cfg["crop"] * cfg["crop"] * 3 * 4


def _bound(cfg: dict) -> dict:
    streams = harness.Streams(cfg["threads"])
    s = streams.sample(cfg["bound_passes"])
    streams.close()
    rd, wr = traffic(cfg)
    return {"method": "bound", **s, "img_per_s": 1.0 / max(rd / s["read_bw"], wr / s["write_bw"]),
            "read_bytes": rd, "write_bytes": wr, "rates": [0.0], "extra_rss": 0}


def _worker(method: str, cfg: dict) -> dict:
    if method == "bound":
        return _bound(cfg)
    import torch  # noqa: F401  (import cost outside the measured RSS delta)

    images = make_images(cfg)
    factory = {"nocopy": _nocopy, "opencv": _opencv, "dali": _dali,
               "torch-dataloader-0": lambda im, c: _torch(im, c, 0),
               "torch-dataloader-2": lambda im, c: _torch(im, c, 2)}[method]
    base = harness.rss_bytes()
    rates = harness.time_batches(factory(images, cfg), cfg)
    return harness.measured(method, rates, base)


NEEDS = {"opencv": "cv2", "dali": "nvidia.dali", "nocopy": "torch",
         "torch-dataloader-0": "torch", "torch-dataloader-2": "torch"}
HINTS = {"opencv": " (pip install opencv-python-headless)",
         "dali": " (pip install nvidia-dali-cuda120)"}


def _run(method: str, cfg: dict) -> dict:
    reason = harness.unavailable(NEEDS.get(method), HINTS.get(method, ""))
    if reason:
        return {"method": method, "skipped": reason}
    return harness.run_worker("nocopy._cli.bench_imagenet", method, cfg, timeout=3600)


HEADER = ["method", "img/s", "img/s/core", "vs torch-0", "vs DALI", "vs OpenCV", "of bound",
          "extra RSS MB"]


def table(results: list[dict], cfg: dict) -> list[list[str]]:
    by = {r["method"]: r.get("img_per_s") for r in results if "skipped" not in r}
    rows = []
    for r in results:
        label = LABELS.get(r["method"], r["method"])
        if "skipped" in r:
            rows.append([label] + ["-"] * (len(HEADER) - 2) + ["skipped"])
            continue
        rate = r["img_per_s"]

        def vs(m):
            return f"{rate / by[m]:.1f}x" if by.get(m) else "-"

        rss = "-" if r["method"] == "bound" else f"{r['extra_rss'] / 2**20:.0f}"
        if r["method"] == "torch-dataloader-2":
            rss += f" +{r['children_peak_rss'] / 2**20:.0f}"
        rows.append([label, f"{rate:,.0f}", f"{rate / cfg['threads']:,.0f}", vs("torch-dataloader-0"),
                     vs("dali"), vs("opencv"),
                     f"{100 * rate / by['bound']:.0f}%" if by.get("bound") else "-", rss])
    return rows


def notes(results: list[dict], cfg: dict) -> list[str]:
    out = [f"N={cfg['n']} uint8 RGB images, sides {cfg['min_side']}-{cfg['max_side']} px -> "
           f"RandomResizedCrop {cfg['crop']}, flip, normalize, float32 CHW, batch {cfg['batch']}, "
           f"{cfg['threads']} threads;",
           f"  median of {cfg['repeats']} x {cfg['batches']} batches, each method in its own "
           "process; img/s/core = img/s / threads"]
    b = next((r for r in results if r["method"] == "bound" and "skipped" not in r), None)
    if b:
        out.append(f"bound: max({b['read_bytes']:,.0f} B read / {b['read_bw'] / 1e9:.1f} GB/s, "
                   f"{b['write_bytes']:,} B written / {b['write_bw'] / 1e9:.1f} GB/s) per image")
    out += [f"{LABELS.get(r['method'], r['method'])}: {r['skipped']}"
            for r in results if "skipped" in r]
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m nocopy bench --workload imagenet",
                                description=__doc__.split("\n")[0])
    p.add_argument("--workload", choices=("imagenet",), default="imagenet")
    p.add_argument("--n", type=int, default=512, help="images in the dataset (512)")
    p.add_argument("--min-side", type=int, default=300)
    p.add_argument("--max-side", type=int, default=500)
    p.add_argument("--crop", type=int, default=224)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--threads", type=int, default=0, help="threads (0: usable cores)")
    p.add_argument("--batches", type=int, default=6, help="batches per repeat (6)")
    p.add_argument("--repeats", type=int, default=5, help="timed repeats; the median is shown")
    harness.add_report_arguments(p, METHODS)
    a = p.parse_args(argv)
    if a.worker:
        print(json.dumps(_worker(a.worker, json.loads(a.config))))
        return 0
    if a.quick:
        a.n, a.batches, a.repeats = min(a.n, 128), min(a.batches, 3), min(a.repeats, 3)
    if not 1 <= a.min_side <= a.max_side or min(a.n, a.crop, a.batch, a.batches, a.repeats) < 1:
        p.error("sizes and counts must be positive, with --min-side <= --max-side")
    threads = a.threads or len(os.sched_getaffinity(0))
    cfg = dict(n=a.n, min_side=a.min_side, max_side=a.max_side, crop=a.crop, batch=a.batch,
               threads=threads, batches=a.batches, repeats=a.repeats, warmup=2,
               bound_passes=2 if a.quick else 3)
    methods = harness.chosen_methods(p, a.only, METHODS)

    def run_all(step):
        results = []
        for m in methods:
            step(m)
            results.append(_run(m, cfg))
        return results

    results = harness.with_progress(run_all, LABELS, len(methods))
    harness.print_report(a, cfg, results, HEADER, table(results, cfg), notes(results, cfg))
    if a.png:
        note = harness.bar_chart(results, a.png, LABELS, "imagenet workload: RandomResizedCrop "
                                 f"{cfg['crop']}, flip, normalize, float32 CHW")
        print(note or f"chart written to {a.png}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
