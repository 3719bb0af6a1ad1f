"""``python -m nocopy bench``: the loader against the seed recipes and peers, side by side.

The workload is the seeds' training input: N uint8 images of size x size x 3, random crop x
crop crops, /255, HWC -> CHW float32, batches of `batch`. Each method runs in its own
subprocess (so peak RSS is its own) on the same synthetic data: the nocopy Loader; the seed's
torch Dataset + DataLoader recipe with num_workers 0 and 2; the seed's tf.data from_generator
recipe; NVIDIA DALI on the CPU when it is installed; and the memory bound (each image's crop
bytes read and output bytes written at the streaming read and write rates measured in the same
run, with the same thread count). Reports median images/s over repeats, the ratio to the seed
torch recipe, the share of the bound, and the extra peak RSS over the dataset itself.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from . import bench_harness as harness
from .bench_harness import BUFFER_BYTES, Streams  # noqa: F401  (the bound's rates, used here)

METHODS = ("bound", "nocopy", "torch-dataloader-0", "torch-dataloader-2", "tf.data", "dali")


# --- the methods: each returns a function producing the next batch --------------------------

def _nocopy_loader(images, cfg):
    import nocopy as nc

    loader = nc.Loader(images, batch_size=cfg["batch"], crop=(cfg["crop"], cfg["crop"]),
                       mirror=0.0, num_threads=cfg["threads"], output="torch")
    return loader.next_batch


def _torch(images, cfg, workers):
    # The seed's recipe (001): per-sample random crop of a shared uint8 array, permute to CHW,
    # .float() / 255, batched by DataLoader. (The seed's torch.frombuffer(memoryview slice)
    # raises on a non-contiguous crop, so the crop is taken with NumPy slicing instead.)
    import numpy as np
    import torch
    from torch.utils.data import DataLoader, Dataset

    crop = cfg["crop"]
    span = images.shape[1] - crop + 1

    class SeedDataset(Dataset):
        def __init__(self, array):
            self.array = array

        def __len__(self):
            return self.array.shape[0]

        def __getitem__(self, idx):
            h = np.random.randint(0, span)
            w = np.random.randint(0, span)
            x = torch.from_numpy(self.array[idx, h:h + crop, w:w + crop, :])
            return x.permute(2, 0, 1).float() / 255.0

    loader = DataLoader(SeedDataset(images), batch_size=cfg["batch"], num_workers=workers)
    state = {"it": iter(loader)}

    def next_batch():
        try:
            return next(state["it"])
        except StopIteration:  # an epoch boundary: a new pass, as a training loop does
            state["it"] = iter(loader)
            return next(state["it"])

    return next_batch


def _tf(images, cfg):
    # The seed's recipe (003): from_generator yielding per-sample crops / 255, batch, prefetch.
    import numpy as np
    import tensorflow as tf

    crop = cfg["crop"]
    span = images.shape[1] - crop + 1

    def generator():
        while True:
            for i in range(images.shape[0]):
                h = np.random.randint(0, span)
                w = np.random.randint(0, span)
                c = images[i, h:h + crop, w:w + crop, :]
                yield tf.convert_to_tensor(c, dtype=tf.float32) / 255.0

    ds = tf.data.Dataset.from_generator(
        generator, output_signature=tf.TensorSpec(shape=(crop, crop, 3), dtype=tf.float32))
    it = iter(ds.batch(cfg["batch"]).prefetch(tf.data.AUTOTUNE))
    return lambda: next(it)


def _dali(images, cfg):
    # DALI on the CPU: external_source feeds the uint8 images of each batch, and
    # crop_mirror_normalize crops at a random position, scales by 1/255 and makes CHW float32.
    import numpy as np
    from nvidia.dali import fn, pipeline_def, types

    n, batch, crop = images.shape[0], cfg["batch"], cfg["crop"]
    state = {"pos": 0}

    def source():
        idx = [(state["pos"] + k) % n for k in range(batch)]
        state["pos"] = (state["pos"] + batch) % n
        return [images[i] for i in idx]

    @pipeline_def(batch_size=batch, num_threads=cfg["threads"], device_id=None,
                  prefetch_queue_depth=2)
    def pipe():
        x = fn.external_source(source=source, dtype=types.UINT8, layout="HWC")
        return fn.crop_mirror_normalize(
            x, device="cpu", crop=(crop, crop), crop_pos_x=fn.random.uniform(range=(0.0, 1.0)),
            crop_pos_y=fn.random.uniform(range=(0.0, 1.0)), dtype=types.FLOAT,
            output_layout="CHW", mean=[0.0, 0.0, 0.0], std=[255.0, 255.0, 255.0])

    p = pipe()
    p.build()
    del np
    return lambda: p.run()


# --- the memory bound ------------------------------------------------------------------------
# Every method must read the crop of each image (READ bytes) and write its float32 output
# (WRITE bytes). The bound uses the streaming read and write rates of bench_harness.Streams,
# measured with the loader's thread count.
# Reads and writes overlap on this kind of machine (the loader's read time plus write time at
# those rates exceeds its measured time; docs/BENCHMARKS.md), so an image needs at least
# max(READ / read_bw, WRITE / write_bw): the slower stream alone, the only model that is a bound.
# The rates are sampled between the methods and between every timed repeat inside each method's
# process; the bound uses the best of the whole run, so a quiet moment for a method is a quiet
# moment for the bound.

def image_traffic(cfg: dict) -> tuple[int, int]:
    """(bytes read, bytes written) per image: its uint8 crop in, its float32 CHW output out."""
    pixels = cfg["crop"] * cfg["crop"] * 3
    return pixels, pixels * 4


def bound_images_per_s(read_bw: float, write_bw: float, cfg: dict) -> dict:
    """The memory bound in images/s from the rates (bytes/s): the slower stream alone."""
    rd, wr = image_traffic(cfg)
    return {"img_per_s": 1.0 / max(rd / read_bw, wr / write_bw), "read_bytes": rd,
            "write_bytes": wr, "additive_img_per_s": 1.0 / (rd / read_bw + wr / write_bw)}


def _bound_worker(cfg: dict) -> dict:
    streams = Streams(cfg["threads"])
    s = streams.sample(cfg["bound_passes"])
    streams.close()
    return {"method": "bound", **s}


def _worker(method: str, cfg: dict) -> dict:
    if method == "bound":
        return _bound_worker(cfg)
    import numpy as np

    if method in ("torch-dataloader-0", "torch-dataloader-2", "nocopy"):
        import torch  # noqa: F401  (import cost outside the measured RSS delta)
    if method == "tf.data":
        import tensorflow  # noqa: F401
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (cfg["n"], cfg["size"], cfg["size"], 3), dtype=np.uint8)
    factory = {
        "nocopy": _nocopy_loader, "tf.data": _tf, "dali": _dali,
        "torch-dataloader-0": lambda im, c: _torch(im, c, 0),
        "torch-dataloader-2": lambda im, c: _torch(im, c, 2),
    }[method]
    # the bound's buffers are resident before the baseline: not counted as extra RSS
    streams = Streams(cfg["threads"]) if cfg.get("with_bound", True) else None
    samples: list[dict] = []

    def sample():
        if streams:
            samples.append(streams.sample(cfg["bound_passes"]))

    base = harness.rss_bytes()
    rates = harness.time_batches(factory(images, cfg), cfg, between=sample)
    return harness.measured(method, rates, base, bound_samples=samples)


# --- driver ----------------------------------------------------------------------------------

NEEDS = {"torch-dataloader-0": "torch", "torch-dataloader-2": "torch", "tf.data": "tensorflow",
         "dali": "nvidia.dali", "nocopy": "torch"}


def _run(method: str, cfg: dict) -> dict:
    hint = " (pip install nvidia-dali-cuda120)" if method == "dali" else ""
    reason = harness.unavailable(NEEDS.get(method), hint)
    if reason:
        return {"method": method, "skipped": reason}
    return harness.run_worker("nocopy._cli.bench", method, cfg, timeout=1800)


def combine_bounds(samples: list[dict], results: list[dict], cfg: dict) -> dict:
    """One bound for the run: the best read and write rates sampled anywhere in it (the bound's
    own runs and the samples between every method's repeats)."""
    done = [s for s in samples if "skipped" not in s]
    if not done:
        return samples[0] if samples else {"method": "bound", "skipped": "not run"}
    every = done + [s for r in results for s in r.get("bound_samples", [])]
    read_bw = max(s["read_bw"] for s in every)
    write_bw = max(s["write_bw"] for s in every)
    each = [bound_images_per_s(s["read_bw"], s["write_bw"], cfg)["img_per_s"] for s in every]
    return {"method": "bound", "read_bw": read_bw, "write_bw": write_bw,
            **bound_images_per_s(read_bw, write_bw, cfg), "rates": each, "samples": len(every)}


def _si(x: float) -> str:
    for scale, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if x >= scale:
            return f"{x / scale:.1f}{unit}"
    return f"{x:.0f}"


LABELS = {"bound": "memory bound", "torch-dataloader-0": "seed torch, 0 workers",
          "torch-dataloader-2": "seed torch, 2 workers", "tf.data": "seed tf.data",
          "dali": "DALI (CPU)", "nocopy": "nocopy"}
HEADER = ["method", "img/s", "vs seed", "of bound", "extra RSS MB", "range img/s"]


def table(results: list[dict]) -> list[list[str]]:
    """Rows of the results table: median img/s, ratio to the seed torch recipe, % of the bound."""
    by = {r["method"]: r for r in results}
    ref = by.get("torch-dataloader-0", {}).get("img_per_s")
    bound = by.get("bound", {}).get("img_per_s")
    rows = []
    for r in results:
        label = LABELS.get(r["method"], r["method"])
        if "skipped" in r:
            rows.append([label, "-", "-", "-", "-", "skipped"])
            continue
        rate = r["img_per_s"]
        rss = "-" if r["method"] == "bound" else f"{r['extra_rss'] / 2**20:.0f}"
        if r["method"] == "torch-dataloader-2":  # its worker processes hold memory too
            rss += f" +{r['children_peak_rss'] / 2**20:.0f}"
        rows.append([label, f"{rate:,.0f}", f"{rate / ref:.1f}x" if ref else "-",
                     f"{100 * rate / bound:.0f}%" if bound else "-", rss,
                     f"{_si(min(r['rates']))}-{_si(max(r['rates']))}"])
    return rows


def format_table(rows: list[list[str]]) -> str:
    """The table as plain text, columns sized to their contents (fits 80 columns)."""
    return harness.format_table(HEADER, rows)


def notes(results: list[dict], cfg: dict) -> list[str]:
    """The lines under the table: workload, the bound's measured rates, skipped methods."""
    out = [f"N={cfg['n']} {cfg['size']}x{cfg['size']}x3 uint8 -> {cfg['crop']}x{cfg['crop']} "
           f"crops, float32 CHW, batch {cfg['batch']}, {cfg['threads']} threads;",
           f"  median of {cfg['repeats']} x {cfg['batches']} batches, each method in its own "
           "process"]
    b = next((r for r in results if r["method"] == "bound"), None)
    if b and "skipped" not in b:
        out += [f"bound: max({b['read_bytes']:,} B read / {b['read_bw'] / 1e9:.1f} GB/s, "
                f"{b['write_bytes']:,} B written / {b['write_bw'] / 1e9:.1f} GB/s)",
                f"  per image; best rates of {b['samples']} samples in this run "
                f"({BUFFER_BYTES >> 20} MiB buffers, {cfg['threads']} threads)",
                f"  (reads, then writes: {b['additive_img_per_s']:,.0f} img/s; not a bound, as "
                "the two overlap)"]
    out += [f"{LABELS.get(r['method'], r['method'])}: {r['skipped']}"
            for r in results if "skipped" in r]
    out.append("extra RSS: peak RSS beyond the dataset (+ the worker processes' peak)")
    return out


def run_methods(methods: tuple[str, ...], cfg: dict, step=lambda name: None) -> list[dict]:
    """Each method in its own process; the bound (when asked for) before and after each one."""
    others = [m for m in methods if m != "bound"]
    with_bound = "bound" in methods
    samples, results = [], []
    for m in others:
        if with_bound:
            step("bound")
            samples.append(_run("bound", cfg))
        step(m)
        results.append(_run(m, cfg))
    if with_bound:
        step("bound")
        samples.append(_run("bound", cfg))
        results.insert(0, combine_bounds(samples, results, cfg))
    return results


def main(argv: list[str] | None = None) -> int:
    if any(x.startswith("--workload") for x in (sys.argv[1:] if argv is None else argv)):
        return __import__("nocopy._cli.bench_imagenet", fromlist=["main"]).main(argv)
    p = argparse.ArgumentParser(prog="python -m nocopy bench", description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=1000, help="images in the dataset (1000)")
    p.add_argument("--size", type=int, default=512, help="image height and width (512)")
    p.add_argument("--crop", type=int, default=256, help="crop height and width (256)")
    p.add_argument("--batch", type=int, default=32, help="batch size (32)")
    p.add_argument("--threads", type=int, default=0, help="threads (0: usable cores)")
    p.add_argument("--batches", type=int, default=10, help="batches per repeat (10)")
    p.add_argument("--repeats", type=int, default=5, help="timed repeats; the median is shown")
    harness.add_report_arguments(p, METHODS)
    a = p.parse_args(argv)
    if a.worker:
        print(json.dumps(_worker(a.worker, json.loads(a.config))))
        return 0
    if a.quick:
        a.n, a.batches, a.repeats = min(a.n, 256), min(a.batches, 6), min(a.repeats, 3)
    for name in ("n", "size", "crop", "batch", "batches", "repeats"):
        if getattr(a, name) < 1:
            p.error(f"--{name} must be at least 1, got {getattr(a, name)}")
    if a.crop > a.size:
        p.error(f"--crop {a.crop} is larger than --size {a.size}")
    from .._nocopy import _Loader  # noqa: F401  (fail early if the extension is missing)

    threads = a.threads or len(os.sched_getaffinity(0))
    cfg = dict(n=a.n, size=a.size, crop=a.crop, batch=a.batch, threads=threads,
               batches=a.batches, repeats=a.repeats, warmup=6, bound_passes=2 if a.quick else 3)
    methods = harness.chosen_methods(p, a.only, METHODS)
    cfg["with_bound"] = "bound" in methods
    results = harness.with_progress(lambda step: run_methods(methods, cfg, step), LABELS, None)
    harness.print_report(a, cfg, results, HEADER, table(results), notes(results, cfg))
    if a.png:
        note = harness.bar_chart(results, a.png, LABELS,
                                 "seed workload: random crop, /255, HWC->CHW float32")
        print(note or f"chart written to {a.png}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
