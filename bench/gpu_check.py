"""Host-to-device throughput of loader batches, and its overlap with GPU compute (needs CUDA).

    python bench/gpu_check.py [--batches 50] [--batch 32] [--crop 224]

Measures, for float32 CHW batches from nc.Loader (the seeds' workload: uint8 images, random
crop, /255):
  pageable      x.to("cuda") from the loader's pageable batch buffer (synchronous copy)
  torch pinned  x.pin_memory().to("cuda", non_blocking=True): what torch's DataLoader does with
                pin_memory=True (one extra host copy per batch into pinned memory)
  nocopy pinned nc.Loader(..., pin_memory=True): batches written straight into torch's pinned
                host memory, then .to(non_blocking=True) (no extra host copy); the script
                checks that those batches really are pinned (x.is_pinned())
and the raw copy bandwidth of pageable and pinned buffers of one batch, then how well a copy
from pinned memory on a side stream overlaps a matmul loop on the default stream.
Without a CUDA GPU it says so (the CUDA path, pin_memory=True included, is then unverified) and
exits with status 0. Results go to docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import collections
import statistics
import sys
import time


def _gbps(nbytes: int, seconds: float) -> str:
    return f"{nbytes / seconds / 1e9:6.2f} GB/s"


def _time(fn, repeats: int) -> float:
    """Median seconds of fn() (which must synchronize what it measures)."""
    fn()  # warm-up
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return statistics.median(out)


def raw_copies(torch, nbytes: int, repeats: int) -> None:
    dev = torch.empty(nbytes, dtype=torch.uint8, device="cuda")
    pageable = torch.ones(nbytes, dtype=torch.uint8)
    pinned = torch.ones(nbytes, dtype=torch.uint8, pin_memory=True)

    def copy(src, non_blocking):
        dev.copy_(src, non_blocking=non_blocking)
        torch.cuda.synchronize()

    print(f"raw host-to-device copy of {nbytes / 2**20:.1f} MiB (median of {repeats})")
    for name, src, non_blocking in (("pageable", pageable, False),
                                    ("pinned, non_blocking", pinned, True)):
        print(f"  {name:26s} {_gbps(nbytes, _time(lambda: copy(src, non_blocking), repeats))}")


def loader_paths(torch, nc, np, a) -> None:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (a.n, a.size, a.size, 3), dtype=np.uint8)
    common = dict(batch_size=a.batch, crop=(a.crop, a.crop), mirror=0.5, output="torch")
    nbytes = a.batch * 3 * a.crop * a.crop * 4

    def run(loader, to_device) -> float:
        # A host batch is held until its copy has completed: a non_blocking copy still reads
        # it, and the loader reuses a buffer as soon as nothing holds it.
        inflight: collections.deque = collections.deque()

        def step():
            x = loader.next_batch()
            to_device(x)
            event = torch.cuda.Event()
            event.record()
            inflight.append((x, event))
            while inflight and inflight[0][1].query():
                inflight.popleft()

        for _ in range(3):
            step()
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(a.batches):
            step()
        torch.cuda.synchronize()
        inflight.clear()
        return (time.perf_counter() - t0) / a.batches

    paths = [
        ("pageable: x.to('cuda')", {}, lambda x: x.to("cuda")),
        ("torch pinned: x.pin_memory().to(non_blocking)", {},
         lambda x: x.pin_memory().to("cuda", non_blocking=True)),
        ("nocopy pinned: .to(non_blocking)", {"pin_memory": True},
         lambda x: x.to("cuda", non_blocking=True)),
    ]
    print(f"\nloader batch -> GPU ({a.batch} x 3 x {a.crop} x {a.crop} float32, "
          f"{nbytes / 2**20:.1f} MiB), {a.batches} batches")
    for name, extra, to_device in paths:
        with nc.Loader(images, **common, **extra) as loader:
            if extra.get("pin_memory"):
                x = loader.next_batch()
                if not x.is_pinned():
                    raise SystemExit("gpu_check: a pin_memory=True batch is not in pinned memory")
                del x
            s = run(loader, to_device)
        print(f"  {name:46s} {a.batch / s:9,.0f} img/s  {_gbps(nbytes, s)}")


def overlap(torch, nbytes: int, repeats: int) -> None:
    n = 4096
    x = torch.randn(n, n, device="cuda")
    dev = torch.empty(nbytes, dtype=torch.uint8, device="cuda")
    pinned = torch.ones(nbytes, dtype=torch.uint8, pin_memory=True)
    side = torch.cuda.Stream()

    def compute():
        y = x
        for _ in range(8):
            y = y @ x
        return y

    def copy():
        with torch.cuda.stream(side):
            dev.copy_(pinned, non_blocking=True)

    def only_compute():
        compute()
        torch.cuda.synchronize()

    def only_copy():
        copy()
        torch.cuda.synchronize()

    def both():
        copy()
        compute()
        torch.cuda.synchronize()

    tc, tx, tb = (_time(f, repeats) for f in (only_compute, only_copy, both))
    hidden = (tc + tx - tb) / min(tc, tx)
    print(f"\noverlap of a {nbytes / 2**20:.1f} MiB pinned copy (side stream) with 8 matmuls "
          f"{n}x{n}:")
    print(f"  compute {tc * 1e3:.2f} ms, copy {tx * 1e3:.2f} ms, both {tb * 1e3:.2f} ms: "
          f"{100 * max(0.0, min(1.0, hidden)):.0f}% of the shorter one hidden")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=256, help="images in the dataset")
    p.add_argument("--size", type=int, default=256, help="image height and width")
    p.add_argument("--crop", type=int, default=224, help="crop height and width")
    p.add_argument("--batch", type=int, default=32, help="batch size")
    p.add_argument("--batches", type=int, default=50, help="timed batches per path")
    p.add_argument("--repeats", type=int, default=20, help="repeats of the raw measurements")
    a = p.parse_args(argv)
    try:
        import torch
    except ImportError:
        print("gpu_check: torch is not installed; nothing to measure")
        return 0
    if not torch.cuda.is_available():
        print("gpu_check: no CUDA GPU is available here (torch.cuda.is_available() is False); "
              "nothing to measure, so the CUDA path (pin_memory=True, non_blocking copies) stays "
              "unverified: run `python bench/gpu_check.py` on a machine with a CUDA GPU")
        return 0
    import numpy as np

    import nocopy as nc

    print(f"device: {torch.cuda.get_device_name(0)}, torch {torch.__version__}, "
          f"CUDA {torch.version.cuda}")
    nbytes = a.batch * 3 * a.crop * a.crop * 4
    raw_copies(torch, nbytes, a.repeats)
    loader_paths(torch, nc, np, a)
    overlap(torch, nbytes, a.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
