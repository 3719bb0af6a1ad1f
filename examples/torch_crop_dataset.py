"""A PyTorch Dataset/DataLoader of random crops from a uint8 image array (seed 001, with nocopy).

The seed builds each sample with torch.frombuffer(memoryview(images)[idx, h:h+256, w:w+256]),
which fails (memoryview cannot slice N-d, frombuffer refuses non-contiguous buffers and drops
the shape). Here each crop is a nocopy view handed to torch without a copy; the one copy per
sample is the float conversion (new values, so it must be new memory). When this nocopy build
has nc.Loader, the script also runs it: crop, scale, layout and dtype fused into one pass
straight into pooled batch buffers, one copy per batch.

Run: python examples/torch_crop_dataset.py [--small]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

import nocopy as nc


class NocopyCropDataset(Dataset):
    """Random crops of (N, H, W, C) uint8 images as (C, crop, crop) float32 tensors in [0, 1]."""

    def __init__(self, images: np.ndarray, crop: int, seed: int = 0):
        self.images = nc.view(images)   # zero-copy; keeps `images` alive
        self.crop = crop
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return self.images.shape[0]

    def crop_view(self, idx: int) -> torch.Tensor:
        """The sample's crop as a uint8 CHW tensor over the dataset's own memory (no copy)."""
        _, h, w, _ = self.images.shape
        top = int(self.rng.integers(0, h - self.crop + 1))
        left = int(self.rng.integers(0, w - self.crop + 1))
        window = self.images[idx, top:top + self.crop, left:left + self.crop, :]
        return window.permute(2, 0, 1).to_torch()

    def __getitem__(self, idx: int) -> torch.Tensor:
        return self.crop_view(idx).float() / 255.0   # the one copy: new float32 values


def report(what: str, result, source) -> None:
    verdict = "SHARED" if nc.shares_memory(result, source) else "COPIED"
    print(f"  {verdict:6}  {what}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="tiny sizes (a smoke test)")
    parser.add_argument("--workers", type=int, default=0, help="DataLoader num_workers")
    args = parser.parse_args()
    n, size, crop, batch = (64, 64, 32, 16) if args.small else (1000, 512, 256, 32)
    images = np.random.default_rng(0).integers(0, 256, (n, size, size, 3), dtype=np.uint8)
    print(f"dataset: {images.shape} uint8, {images.nbytes / 2**20:.0f} MiB; crop {crop}, batch {batch}")

    print("\nper sample (NocopyCropDataset):")
    ds = NocopyCropDataset(images, crop)
    t = ds.crop_view(3)
    report(f"crop view -> torch {tuple(t.shape)} uint8, strides {t.stride()}", t, images)
    before = images[3].copy()
    t[0, 0, 0] += 1                    # a write through the tensor lands in the NumPy array
    assert (images[3] != before).sum() == 1
    t[0, 0, 0] -= 1
    sample = ds[3]
    report(f"sample.float() / 255 -> {tuple(sample.shape)} float32", sample, images)

    print("\nbatches (torch DataLoader):")
    loader = DataLoader(ds, batch_size=batch, num_workers=args.workers)
    start, seen = time.perf_counter(), 0
    for x in loader:
        seen += x.shape[0]
    rate = seen / (time.perf_counter() - start)
    report(f"DataLoader batch {tuple(x.shape)}: collate stacks samples ({rate:,.0f} img/s)", x,
           images)

    model = torch.nn.Conv2d(3, 8, kernel_size=3)
    with torch.no_grad():
        print(f"  model(batch) -> {tuple(model(x).shape)}")

    if not hasattr(nc, "Loader"):
        print("\n(this nocopy build has no nc.Loader: skipped the fused loader)")
        return
    print("\nbatches (nc.Loader: crop + /255 + HWC->CHW + float32 in one C++ pass):")
    fused = nc.Loader(images, batch_size=batch, crop=(crop, crop), mirror=0.0, scale=1 / 255,
                      layout="CHW", dtype="float32", shuffle=True, seed=0, output="torch")
    start, seen = time.perf_counter(), 0
    for y in fused:
        seen += y.shape[0]
    rate = seen / (time.perf_counter() - start)
    report(f"nc.Loader batch {tuple(y.shape)}: one fused copy per batch ({rate:,.0f} img/s)", y,
           images)
    with torch.no_grad():
        print(f"  model(batch) -> {tuple(model(y).shape)}")


if __name__ == "__main__":
    main()
