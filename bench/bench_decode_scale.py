"""decode_scale="auto" or "exact": the error and the speed of DCT-scaled JPEG decoding in the
loader, on synthetic photos of 300-500 px a side (JPEG quality 90, 4:2:0), half smooth
photo-like content with sensor noise, half sharp-edged shapes with texture (the hard case for a
reduced IDCT).

Error: each (crop mode, crop) runs one epoch of nc.Loader over the JPEG ImageSet with
decode_scale "auto" and "exact", and over the raw ImageSet of the same images decoded whole
(the reference: a full decode, then the loader's antialiased bilinear resize), with the same
plan; the output is float32 levels (scale=1, no normalization), so a difference is in levels of
255. Reported: the mean and the max of |JPEG - reference| over every value (auto: the smooth
and the sharp-edged photos apart), and the share of samples "auto" decoded DCT-scaled.

Speed: CPU microseconds per image of one loader thread (process CPU time, so other jobs on the
machine do not inflate it), auto and exact alternated round by round, medians.

Usage: python bench/bench_decode_scale.py [--images 64] [--rounds 5] [--markdown]"""

from __future__ import annotations

import argparse
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

MODES = ("random_resized", "resize_center")
CROPS = (28, 32, 48, 64, 96, 112, 160, 224)


def photos(n: int, seed: int = 0):
    """n synthetic photos, sides 300-500 px: the odd ones smooth waves plus noise, the even ones
    also carrying flat-coloured ellipses and rectangles with sharp edges and patchy texture."""
    rng = np.random.default_rng(seed)
    for k in range(n):
        h, w = (int(v) for v in rng.integers(300, 501, 2))
        y, x = np.mgrid[0:h, 0:w].astype(np.float32)
        img = np.zeros((h, w, 3), np.float32)
        for _ in range(6):
            fx, fy, ph = rng.uniform(0.002, 0.05), rng.uniform(0.002, 0.05), rng.uniform(0, 6)
            img += rng.uniform(10, 40, 3) * np.sin(x * fx + y * fy + ph)[..., None]
        if k % 2 == 0:
            for _ in range(25):
                cy, cx = rng.uniform(0, h), rng.uniform(0, w)
                ry, rx = rng.uniform(5, 80), rng.uniform(5, 80)
                if rng.random() < 0.5:
                    inside = ((y - cy) / ry) ** 2 + ((x - cx) / rx) ** 2 < 1
                else:
                    inside = (abs(y - cy) < ry) & (abs(x - cx) < rx)
                img[inside] = rng.uniform(-100, 100, 3)
            img += rng.normal(0, 12, (h, w, 1)) * (rng.random((h, w, 1)) < 0.3)
        img += 128 + rng.normal(0, 4, img.shape)
        yield img.clip(0, 255).astype(np.uint8)


def make_sets(folder: str, n: int, seed: int = 0):
    """The JPEG ImageSet of n photos (Pillow, quality 90) and the raw set of its full decodes."""
    src = os.path.join(folder, "src", "all")
    os.makedirs(src)
    for k, img in enumerate(photos(n, seed)):
        Image.fromarray(img).save(os.path.join(src, f"{k:04d}.png"))
    out = os.path.join(folder, "photos.nc")
    nc.pack_images(os.path.dirname(src), out, format="jpeg", quality=90)
    jpeg = nc.ImageSet.open(out)
    return jpeg, nc.ImageSet.from_arrays([np.asarray(jpeg[i]) for i in range(len(jpeg))])


def epoch(ds, **kw) -> np.ndarray:
    """One epoch of (N, h, w, 3) float32 levels, in dataset order."""
    ld = nc.Loader(ds, batch_size=32, shuffle=False, mirror=0.0, scale=1.0, layout="HWC",
                   num_threads=1, output="numpy", **kw)
    return np.concatenate([np.asarray(b[0] if isinstance(b, tuple) else b) for b in ld])


def scaled_share(ds, mode: str, crop: int) -> float:
    """The share of samples whose window "auto" decodes DCT-scaled (choose_jpeg_scale's rule:
    the window at least 4x the resized size on both axes)."""
    ld = nc.Loader(ds, batch_size=len(ds), shuffle=False, crop=crop, crop_mode=mode,
                   output="numpy")
    p = ld.plan(0)
    if mode == "resize_center":
        resize = crop * 8 // 7
        short = np.minimum(p.height, p.width)
        rh, rw = p.height * resize // short, p.width * resize // short
    else:
        rh = rw = crop
    return float(np.mean((p.height // 2 >= 2 * rh) & (p.width // 2 >= 2 * rw)))


def errors(jpeg, raw, mode: str, crop: int) -> dict:
    """(mean, max) of |JPEG - reference| in levels: "auto" on the smooth photos (odd indices)
    and on the sharp-edged ones (even), "exact" on all."""
    kw = dict(crop=crop, crop_mode=mode, seed=3)
    ref = epoch(raw, **kw)
    auto = np.abs(epoch(jpeg, decode_scale="auto", **kw) - ref)
    exact = np.abs(epoch(jpeg, decode_scale="exact", **kw) - ref)
    return {"smooth": (float(auto[1::2].mean()), float(auto[1::2].max())),
            "edges": (float(auto[0::2].mean()), float(auto[0::2].max())),
            "exact": (float(exact.mean()), float(exact.max()))}


def cpu_us_per_image(ds, rounds: int, **kw) -> dict:
    """Median CPU microseconds per image of one loader thread, auto and exact alternated."""
    loaders = {s: nc.Loader(ds, batch_size=32, num_threads=1, output="numpy", decode_scale=s,
                            **kw) for s in ("auto", "exact")}
    times = {s: [] for s in loaders}
    for s, ld in loaders.items():
        for _ in ld:  # warm up: each worker's scratch grows to its largest sample once
            pass
    for _ in range(rounds):
        for s, ld in loaders.items():
            c0 = time.process_time()
            for _ in ld:
                pass
            times[s].append((time.process_time() - c0) / len(ds) * 1e6)
    for ld in loaders.values():
        ld.close()
    return {s: statistics.median(t) for s, t in times.items()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=5, help="alternated timing rounds")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args(argv)
    print(machine())
    rows = []
    worst = {k: (0.0, 0.0) for k in ("smooth", "edges", "exact")}
    with tempfile.TemporaryDirectory() as folder:
        jpeg, raw = make_sets(folder, args.images, args.seed)
        for mode in MODES:
            for crop in CROPS:
                err = errors(jpeg, raw, mode, crop)
                us = cpu_us_per_image(jpeg, args.rounds, crop=crop, crop_mode=mode)
                for k in worst:
                    worst[k] = tuple(max(a, b) for a, b in zip(worst[k], err[k]))
                rows.append((mode, crop, scaled_share(jpeg, mode, crop), err, us))
                if not args.markdown:
                    print(f"{mode:15s} {crop:4d}  scaled {rows[-1][2]:4.0%}  auto smooth "
                          f"{err['smooth'][0]:.2f}/{err['smooth'][1]:4.1f} edges "
                          f"{err['edges'][0]:.2f}/{err['edges'][1]:4.1f}  exact max "
                          f"{err['exact'][1]:.1f}  CPU us/img auto {us['auto']:.0f} exact "
                          f"{us['exact']:.0f}", flush=True)
    if args.markdown:
        print("| crop mode | crop | DCT-scaled | auto error, smooth: mean / max "
              "| auto error, sharp edges: mean / max | exact: max error "
              "| CPU us/img auto / exact |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for mode, crop, share, err, us in rows:
            print(f"| {mode} | {crop} | {share:.0%} "
                  f"| {err['smooth'][0]:.2f} / {err['smooth'][1]:.1f} "
                  f"| {err['edges'][0]:.2f} / {err['edges'][1]:.1f} | {err['exact'][1]:.1f} "
                  f"| {us['auto']:.0f} / {us['exact']:.0f} |")
    print("worst row: auto smooth mean {:.2f} max {:.1f}; auto sharp edges mean {:.2f} max "
          "{:.1f}; exact mean {:.2f} max {:.1f} (levels of 255)".format(
              *worst["smooth"], *worst["edges"], *worst["exact"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
