"""Raw or JPEG: size, per-image decode speed and end-to-end loader speed of the two ImageSet
storage formats, side by side in one run, on synthetic ImageNet-like photos (sides drawn from 300
to 500 px, smooth content plus sensor-like noise, JPEG quality 90, 4:2:0).

Per image, one thread, in this process (medians of --repeats passes):
  - raw:          ds[i] copied out of a raw ImageSet (np.array(ds[i])): the memory-read bound;
  - nocopy jpeg:  ds[i] of a JPEG ImageSet, a full libjpeg-turbo decode in C++;
  - Pillow:       Image.open(BytesIO(bytes)).convert("RGB") of the same bytes;
  - nocopy window / window 1/2: a RandomResizedCrop-like window (half the area) decoded alone
    (jpeg_crop_scanline + jpeg_skip_scanlines), at full size and with DCT scaling 1/2;
  - Pillow + crop: the full decode then the same crop.
End to end, RandomResizedCrop 224 (area 0.08-1, ratio 3/4-4/3) + flip + ImageNet normalize to
float32 CHW, batch --batch, each method in its own process, the methods interleaved round by
round (--rounds) so the noise of a shared machine hits all alike:
  - nocopy Loader over the JPEG set and over the raw set (num_threads = --threads);
  - DALI on the CPU: external source of the same JPEG bytes, fn.decoders.image_random_crop
    (libjpeg-turbo, decodes only the window) + fn.resize + fn.crop_mirror_normalize;
  - a torch Dataset + DataLoader, num_workers 0 and 2: Pillow decode, then torchvision's
    RandomResizedCrop as it runs on PIL images (Image.resize(bilinear, box=window)), flip,
    ToTensor + Normalize, per sample.
Reports median img/s, img/s per core (img/s / the cores the method uses), images per CPU-second
(the process's and its workers' CPU time: the per-core rate a loaded machine does not dilute)
and the ratios to DALI.
Usage: python bench/bench_jpeg.py [--images 512] [--rounds 5] [--markdown]"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import tempfile
import time

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import nocopy as nc  # noqa: E402
from common import machine  # noqa: E402
from nocopy import _nocopy  # noqa: E402
from nocopy._cli import bench_harness as harness  # noqa: E402
from nocopy._cli.bench_imagenet import (MEAN, STD, cycling, dali_cpu, rrc_params,  # noqa: E402
                                        torch_batches)

METHODS = ("nocopy-jpeg", "nocopy-raw", "dali-cpu", "torch-pillow-0", "torch-pillow-2")
LABELS = {"nocopy-jpeg": "nocopy Loader, JPEG ImageSet", "nocopy-raw": "nocopy Loader, raw ImageSet",
          "dali-cpu": "DALI CPU (image_random_crop)",
          "torch-pillow-0": "torch DataLoader + Pillow, 0 workers",
          "torch-pillow-2": "torch DataLoader + Pillow, 2 workers"}
NEEDS = {"dali-cpu": "nvidia.dali", "torch-pillow-0": "torch", "torch-pillow-2": "torch",
         "nocopy-jpeg": "torch", "nocopy-raw": "torch"}


def photos(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    for _ in range(n):
        h, w = (int(v) for v in rng.integers(300, 501, 2))
        y, x = np.mgrid[0:h, 0:w].astype(np.float32)
        img = np.zeros((h, w, 3), np.float32)
        for _ in range(6):
            fx, fy, ph = rng.uniform(0.002, 0.05), rng.uniform(0.002, 0.05), rng.uniform(0, 6)
            img += rng.uniform(10, 40, 3) * np.sin(x * fx + y * fy + ph)[..., None]
        img += 128 + rng.normal(0, 4, img.shape)
        yield img.clip(0, 255).astype(np.uint8)


def rate(fn, items, repeats: int) -> float:
    """Median images per second of fn over items."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for it in items:
            fn(it)
        times.append(time.perf_counter() - t0)
    return len(items) / statistics.median(times)


def decode_table(raw, jpg, blobs, repeats: int) -> list[tuple[str, float]]:
    """(name, img/s) of the per-image decodes, one thread."""
    n = len(raw)
    rng = np.random.default_rng(1)
    windows = []
    for i in range(n):  # half the area, aspect 1, at a random place
        h, w = (int(v) for v in raw.shapes[i, :2])
        s = min(int(np.sqrt(h * w / 2)), h, w)
        windows.append((int(rng.integers(0, h - s + 1)), int(rng.integers(0, w - s + 1)), s))

    def window(i, scale=1):
        t, l, s = windows[i]
        return _nocopy.jpeg_decode(blobs[i], scale=scale,
                                   window=(t // scale, l // scale, s // scale, s // scale))

    def pillow_crop(i):
        t, l, s = windows[i]
        return Image.open(io.BytesIO(blobs[i])).convert("RGB").crop((l, t, l + s, t + s)).load()

    return [
        ("raw ImageSet: np.array(ds[i])", rate(lambda i: np.array(raw[i]), range(n), repeats)),
        ("JPEG ImageSet: ds[i] (nocopy decode)", rate(lambda i: jpg[i], range(n), repeats)),
        ("Pillow decode of the same bytes", rate(
            lambda i: Image.open(io.BytesIO(blobs[i])).convert("RGB").load(), range(n), repeats)),
        ("nocopy window (half the area)", rate(window, range(n), repeats)),
        ("nocopy window, DCT scale 1/2", rate(lambda i: window(i, 2), range(n), repeats)),
        ("Pillow decode + crop", rate(pillow_crop, range(n), repeats)),
    ]


# --- end to end: one method per process ------------------------------------------------------

def cpu_seconds() -> float:
    """CPU time (user + system) of this process's threads and of its live child processes."""
    total = time.process_time()
    tick = os.sysconf("SC_CLK_TCK")
    children = set()
    for task in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{task}/children") as f:
                children.update(f.read().split())
        except OSError:
            pass
    for pid in children:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
        except (OSError, IndexError, ValueError):
            pass
    return total


def _torch_pillow(blobs, cfg, workers):
    import torch

    crop = cfg["crop"]
    mean = torch.tensor(MEAN).view(3, 1, 1)
    std = torch.tensor(STD).view(3, 1, 1)
    torch.set_num_threads(1)

    def sample(i):
        rng = np.random.default_rng()
        im = Image.open(io.BytesIO(blobs[i])).convert("RGB")
        top, left, h, w = rrc_params(rng, im.height, im.width)
        # torchvision's F.resized_crop on a PIL image: crop + resize in one Pillow call.
        im = im.resize((crop, crop), Image.BILINEAR, box=(left, top, left + w, top + h))
        if rng.random() < 0.5:
            im = im.transpose(Image.FLIP_LEFT_RIGHT)
        x = torch.from_numpy(np.array(im)).permute(2, 0, 1).float().div_(255.0)  # ToTensor
        return (x - mean) / std  # Normalize

    return torch_batches(sample, len(blobs), cfg, workers)


def _worker(method: str, cfg: dict) -> dict:
    import torch  # noqa: F401  (import cost outside the measured part)

    folder = cfg["folder"]
    if method in ("nocopy-jpeg", "nocopy-raw"):
        ds = nc.ImageSet.open(os.path.join(folder, "jpeg.nc" if method == "nocopy-jpeg"
                                           else "raw.nc"))
        loader = nc.Loader(ds, batch_size=cfg["batch"], crop=cfg["crop"],
                           crop_mode="random_resized", mirror=0.5, mean=MEAN, std=STD,
                           num_threads=cfg["threads"], output="torch")
        next_batch, cores = loader.next_batch, cfg["threads"]
    else:
        jpg = nc.ImageSet.open(os.path.join(folder, "jpeg.nc"))
        blobs = [bytes(np.asarray(jpg.encoded(i))) for i in range(len(jpg))]
        if method == "dali-cpu":
            arrays = [np.frombuffer(b, np.uint8) for b in blobs]
            next_batch = dali_cpu(cycling(arrays, cfg["batch"]), cfg, encoded=True)
            cores = cfg["threads"]
        else:
            workers = int(method.rsplit("-", 1)[1])
            next_batch = _torch_pillow(blobs, cfg, workers)
            cores = max(1, workers)
    cpu = {}

    def between():  # CPU time around each timed run
        cpu.setdefault("marks", []).append(cpu_seconds())

    base = harness.rss_bytes()
    rates = harness.time_batches(next_batch, cfg, between)
    marks = cpu["marks"]
    images = cfg["batches"] * cfg["batch"]
    per_cpu = [images / max(b - a, 1e-9) for a, b in zip(marks, marks[1:])]
    return harness.measured(method, rates, base, cores=cores, img_per_cpu_s=per_cpu)


def run_rounds(methods, cfg: dict, rounds: int, step) -> list[dict]:
    """Every method once per round (interleaved), each in its own process; per method, the
    rates of all rounds together."""
    merged: dict[str, dict] = {}
    for r in range(rounds):
        for m in methods:
            step(f"{m} (round {r + 1}/{rounds})")
            reason = harness.unavailable(NEEDS.get(m), " (pip install nvidia-dali-cuda120)"
                                         if m == "dali-cpu" else "")
            res = {"method": m, "skipped": reason} if reason else harness.run_worker(
                os.path.abspath(__file__), m, cfg, timeout=1800)
            if "skipped" in res:
                merged[m] = res
                continue
            prev = merged.setdefault(m, {**res, "rates": [], "img_per_cpu_s": []})
            if "skipped" in prev:
                continue
            prev["rates"] += res["rates"]
            prev["img_per_cpu_s"] += res["img_per_cpu_s"]
    results = []
    for m in methods:
        res = merged[m]
        if "skipped" not in res:
            res["img_per_s"] = statistics.median(res["rates"])
            res["cpu_rate"] = statistics.median(res["img_per_cpu_s"])
        results.append(res)
    return results


HEADER = ["method", "img/s", "img/s per core", "img per CPU-s", "vs DALI CPU",
          "vs DALI (CPU-s)"]


def table(results: list[dict]) -> list[list[str]]:
    dali = next((r for r in results if r["method"] == "dali-cpu" and "skipped" not in r), None)
    rows = []
    for r in results:
        label = LABELS.get(r["method"], r["method"])
        if "skipped" in r:
            rows.append([label, "-", "-", "-", "-", r["skipped"]])
            continue
        rows.append([label, f"{r['img_per_s']:,.0f}", f"{r['img_per_s'] / r['cores']:,.0f}",
                     f"{r['cpu_rate']:,.0f}",
                     f"{r['img_per_s'] / dali['img_per_s']:.2f}x" if dali else "-",
                     f"{r['cpu_rate'] / dali['cpu_rate']:.2f}x" if dali else "-"])
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=512)
    ap.add_argument("--repeats", type=int, default=3, help="passes of the per-image decodes")
    ap.add_argument("--rounds", type=int, default=5, help="interleaved rounds of the loaders")
    ap.add_argument("--batches", type=int, default=8, help="timed batches per round")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=0, help="loader threads (0: usable cores)")
    ap.add_argument("--no-decode", action="store_true", help="skip the per-image decode table")
    harness.add_report_arguments(ap, METHODS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(_worker(args.worker, json.loads(args.config))))
        return
    if args.quick:
        args.images = min(args.images, 128)
        args.rounds, args.batches, args.repeats = 2, 2, 1
    methods = harness.chosen_methods(ap, args.only, METHODS)
    threads = args.threads or len(os.sched_getaffinity(0))
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "src", "all")
        os.makedirs(src)
        for i, a in enumerate(photos(args.images)):
            Image.fromarray(a).save(os.path.join(src, f"{i:05d}.png"))
        nc.pack_images(os.path.dirname(src), os.path.join(tmp, "raw.nc"))
        nc.pack_images(os.path.dirname(src), os.path.join(tmp, "jpeg.nc"), format="jpeg",
                       quality=90)
        raw, jpg = (nc.ImageSet.open(os.path.join(tmp, f)) for f in ("raw.nc", "jpeg.nc"))
        blobs = [bytes(np.asarray(jpg.encoded(i))) for i in range(len(jpg))]
        decodes = [] if args.no_decode else decode_table(raw, jpg, blobs, args.repeats)
        raw_bytes, jpeg_bytes = raw.nbytes, jpg.nbytes
        del raw, jpg
        cfg = dict(folder=tmp, crop=224, batch=args.batch, threads=threads,
                   batches=args.batches, repeats=1, warmup=2)
        results = harness.with_progress(
            lambda step: run_rounds(methods, cfg, args.rounds, step), {}, None)
    if args.json:
        print(json.dumps({"config": cfg, "decodes": decodes, "results": results}, indent=1))
        return
    print(f"{machine()}; load average {os.getloadavg()[0]:.1f} at the end")
    print(f"{args.images} images, sides 300-500 px, JPEG quality 90 (4:2:0); "
          f"size: raw {raw_bytes / 2**20:.1f} MiB, JPEG {jpeg_bytes / 2**20:.1f} MiB "
          f"({raw_bytes / jpeg_bytes:.1f}x smaller)\n")
    if decodes:
        pillow = decodes[2][1]
        print(harness.markdown(["per image, one thread", "img/s", "vs Pillow"],
                               [[n, f"{r:,.0f}", f"{r / pillow:.2f}x"] for n, r in decodes]))
        print(f"(median of {args.repeats} passes)\n")
    show = harness.markdown if args.markdown else harness.format_table
    print(show(HEADER, table(results)))
    print(f"\nRandomResizedCrop 224 + flip + normalize, float32 CHW, batch {args.batch}, "
          f"{threads} threads (nocopy, DALI); median of {args.rounds} interleaved rounds x "
          f"{args.batches} batches, each method in its own process; img/s per core = img/s / "
          "cores used (threads; torch: workers, or 1); img per CPU-s = images / CPU time of "
          "the process and its workers")


if __name__ == "__main__":
    main()
