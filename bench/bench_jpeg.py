"""Raw or JPEG: size and per-image decode speed of the two ImageSet storage formats, side by side
in one run (medians of --repeats passes), on synthetic ImageNet-like photos (sides drawn from
300 to 500 px, smooth content plus sensor-like noise, JPEG quality 90, 4:2:0):
  - raw:          ds[i] copied out of a raw ImageSet (np.array(ds[i])): the memory-read bound;
  - nocopy jpeg:  ds[i] of a JPEG ImageSet, a full libjpeg-turbo decode in C++;
  - Pillow:       Image.open(BytesIO(bytes)).convert("RGB") of the same bytes;
  - nocopy window / window 1/2: the RandomResizedCrop-like window (half the area) decoded alone
    (jpeg_crop_scanline + jpeg_skip_scanlines), at full size and with DCT scaling 1/2;
  - Pillow + crop: the full decode then the same crop.
and end to end, RandomResizedCrop 224 + flip + normalize to float32 CHW, batch 32:
  - nocopy Loader over the raw and over the JPEG ImageSet (num_threads=1);
  - a torch Dataset + DataLoader (num_workers=0) doing Pillow decode + the same crop with
    torch interpolate(antialias=True) + flip + normalize per sample.
One thread each (img/s per core). Usage: python bench/bench_jpeg.py [--images 200] [--repeats 5]"""

from __future__ import annotations

import argparse
import io
import os
import platform
import statistics
import tempfile
import time

import numpy as np
from PIL import Image

import nocopy as nc
from nocopy import _nocopy


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


MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def epoch_rate(make_iter, n: int, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _batch in make_iter():
            pass
        times.append(time.perf_counter() - t0)
    return n / statistics.median(times)


def pipelines(raw, jpg, blobs, repeats: int):
    import torch
    from torch.utils.data import DataLoader, Dataset

    from nocopy._cli.bench_imagenet import rrc_params

    kw = dict(batch_size=32, crop=224, crop_mode="random_resized", mirror=0.5, mean=MEAN,
              std=STD, num_threads=1, output="torch")
    out = []
    for name, ds in (("nocopy Loader, raw ImageSet (RRC 224)", raw),
                     ("nocopy Loader, JPEG ImageSet (RRC 224)", jpg)):
        ld = nc.Loader(ds, **kw)
        out.append((name, epoch_rate(lambda ld=ld: ld, len(ds), repeats)))
    mean, std = torch.tensor(MEAN).view(3, 1, 1), torch.tensor(STD).view(3, 1, 1)

    class Jpegs(Dataset):
        def __len__(self):
            return len(blobs)

        def __getitem__(self, i):
            rng = np.random.default_rng()
            a = np.asarray(Image.open(io.BytesIO(blobs[i])).convert("RGB"))
            top, left, h, w = rrc_params(rng, a.shape[0], a.shape[1])
            window = np.array(a[top:top + h, left:left + w])  # Pillow's array is read-only
            x = torch.from_numpy(window).permute(2, 0, 1).float()[None]
            x = torch.nn.functional.interpolate(x, size=(224, 224), mode="bilinear",
                                                antialias=True, align_corners=False)[0]
            if rng.random() < 0.5:
                x = x.flip(-1)
            return (x / 255.0 - mean) / std

    torch.set_num_threads(1)
    dl = DataLoader(Jpegs(), batch_size=32, shuffle=True, num_workers=0)
    out.append(("torch DataLoader + Pillow decode (RRC 224)", epoch_rate(lambda: dl, len(blobs),
                                                                         repeats)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "src", "all")
        os.makedirs(src)
        for i, a in enumerate(photos(args.images)):
            Image.fromarray(a).save(os.path.join(src, f"{i:05d}.png"))
        nc.pack_images(os.path.dirname(src), os.path.join(tmp, "raw.nc"))
        nc.pack_images(os.path.dirname(src), os.path.join(tmp, "jpeg.nc"), format="jpeg",
                       quality=90)
        raw, jpg = nc.ImageSet.open(os.path.join(tmp, "raw.nc")), nc.ImageSet.open(
            os.path.join(tmp, "jpeg.nc"))
        n = len(raw)
        blobs = [bytes(np.asarray(jpg.encoded(i))) for i in range(n)]
        rng = np.random.default_rng(1)
        windows = []
        for i in range(n):  # half the area, aspect 1, at a random place
            h, w = (int(v) for v in raw.shapes[i, :2])
            s = int(np.sqrt(h * w / 2))
            s = min(s, h, w)
            windows.append((int(rng.integers(0, h - s + 1)), int(rng.integers(0, w - s + 1)), s))

        def window_half(i):
            t, l, s = windows[i]
            return _nocopy.jpeg_decode(blobs[i], scale=2, window=(t // 2, l // 2, s // 2, s // 2))

        results = [
            ("raw ImageSet: np.array(ds[i])", rate(lambda i: np.array(raw[i]), range(n),
                                                    args.repeats)),
            ("JPEG ImageSet: ds[i] (nocopy decode)", rate(lambda i: jpg[i], range(n),
                                                          args.repeats)),
            ("Pillow decode of the same bytes", rate(
                lambda i: Image.open(io.BytesIO(blobs[i])).convert("RGB").load(), range(n),
                args.repeats)),
            ("nocopy window (half the area)", rate(
                lambda i: _nocopy.jpeg_decode(blobs[i], window=(windows[i][0], windows[i][1],
                                                                windows[i][2], windows[i][2])),
                range(n), args.repeats)),
            ("nocopy window, DCT scale 1/2", rate(window_half, range(n), args.repeats)),
            ("Pillow decode + crop", rate(
                lambda i: Image.open(io.BytesIO(blobs[i])).convert("RGB").crop(
                    (windows[i][1], windows[i][0], windows[i][1] + windows[i][2],
                     windows[i][0] + windows[i][2])).load(), range(n), args.repeats)),
        ]
        results += pipelines(raw, jpg, blobs, args.repeats)
        raw_bytes, jpeg_bytes = raw.nbytes, jpg.nbytes
    print(f"{n} images, sides 300-500 px, JPEG quality 90; {platform.processor() or 'cpu'}, "
          f"{os.cpu_count()} cores; one thread per method; median of {args.repeats}")
    print(f"size: raw {raw_bytes / 2**20:.1f} MiB, JPEG {jpeg_bytes / 2**20:.1f} MiB "
          f"({raw_bytes / jpeg_bytes:.1f}x smaller)\n")
    print("| method | img/s (1 thread) | vs Pillow |")
    print("|---|---:|---:|")
    pillow = results[2][1]
    for name, r in results:
        print(f"| {name} | {r:,.0f} | {r / pillow:.2f}x |")


if __name__ == "__main__":
    main()
