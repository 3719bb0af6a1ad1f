"""``python -m nocopy bench``: the loader against the seed recipes and peers, side by side.

The workload is the seeds' training input: N uint8 images of size x size x 3, random crop x
crop crops, /255, HWC -> CHW float32, batches of `batch`. Each method runs in its own
subprocess (so peak RSS is its own) on the same synthetic data: the nocopy Loader; the seed's
torch Dataset + DataLoader recipe with num_workers 0 and 2; the seed's tf.data from_generator
recipe; NVIDIA DALI on the CPU when it is installed; and the bandwidth bound (output bytes per
image / multithreaded memcpy bandwidth measured in the same run). Reports median images/s over
repeats, the ratio to the seed torch recipe, and the extra peak RSS over the dataset itself.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

METHODS = ("bandwidth", "nocopy", "torch-dataloader-0", "torch-dataloader-2", "tf.data", "dali")


def _rss_bytes() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def _peak_rss_bytes() -> tuple[int, int]:
    import resource

    self_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    child_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    return self_peak, child_peak


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


def _bandwidth(images, cfg):
    # memcpy of buffers the size of one output batch, split over the same number of threads,
    # into destinations that rotate like the loader's batch pool (prefetch + 2 buffers), so the
    # working set leaves the cache as the loader's does and the bound is DRAM bandwidth, not a
    # cache-resident copy that comes and goes between runs.
    import concurrent.futures
    import itertools

    import numpy as np

    nbytes = cfg["batch"] * 3 * cfg["crop"] * cfg["crop"] * 4
    src = np.ones(nbytes, np.uint8)
    dsts = [np.ones_like(src) for _ in range(4)]
    threads = max(1, cfg["threads"])
    chunks = [slice(i * nbytes // threads, (i + 1) * nbytes // threads) for i in range(threads)]
    pool = concurrent.futures.ThreadPoolExecutor(threads)
    rotation = itertools.cycle(dsts)

    def next_batch():
        dst = next(rotation)
        list(pool.map(lambda s: np.copyto(dst[s], src[s]), chunks))
        return dst

    return next_batch


def _worker(method: str, cfg: dict) -> dict:
    import numpy as np

    if method in ("torch-dataloader-0", "torch-dataloader-2", "nocopy"):
        import torch  # noqa: F401  (import cost outside the measured RSS delta)
    if method == "tf.data":
        import tensorflow  # noqa: F401
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (cfg["n"], cfg["size"], cfg["size"], 3), dtype=np.uint8)
    factory = {
        "bandwidth": _bandwidth, "nocopy": _nocopy_loader, "tf.data": _tf, "dali": _dali,
        "torch-dataloader-0": lambda im, c: _torch(im, c, 0),
        "torch-dataloader-2": lambda im, c: _torch(im, c, 2),
    }[method]
    base = _rss_bytes()
    next_batch = factory(images, cfg)
    for _ in range(cfg["warmup"]):
        next_batch()
    rates = []
    for _ in range(cfg["repeats"]):
        t0 = time.perf_counter()
        for _ in range(cfg["batches"]):
            next_batch()
        rates.append(cfg["batches"] * cfg["batch"] / (time.perf_counter() - t0))
    self_peak, child_peak = _peak_rss_bytes()
    return {"method": method, "img_per_s": statistics.median(rates), "rates": rates,
            "extra_rss": max(0, self_peak - base), "children_peak_rss": child_peak}


# --- driver ----------------------------------------------------------------------------------

def _available(method: str) -> str | None:
    """None when the method can run here, else the reason it cannot."""
    import importlib.util

    need = {"torch-dataloader-0": "torch", "torch-dataloader-2": "torch",
            "tf.data": "tensorflow", "dali": "nvidia.dali", "nocopy": "torch"}.get(method)
    if need is None:
        return None
    try:
        found = importlib.util.find_spec(need) is not None
    except ModuleNotFoundError:
        found = False
    if not found:
        hint = " (pip install nvidia-dali-cuda120)" if method == "dali" else ""
        return f"{need} is not installed{hint}"
    return None


def _run(method: str, cfg: dict) -> dict:
    reason = _available(method)
    if reason:
        return {"method": method, "skipped": reason}
    cmd = [sys.executable, "-m", "nocopy._cli.bench", "--worker", method, "--config", json.dumps(cfg)]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        err = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"method": method, "skipped": f"failed: {err[:200]}"}
    return json.loads(lines[-1])


def _table(results: list[dict], cfg: dict) -> list[list[str]]:
    by = {r["method"]: r for r in results}
    ref = by.get("torch-dataloader-0", {}).get("img_per_s")
    bound = by.get("bandwidth", {}).get("img_per_s")
    rows = []
    for r in results:
        if "skipped" in r:
            rows.append([r["method"], "-", "-", "-", "-", r["skipped"]])
            continue
        rate = r["img_per_s"]
        label = "bandwidth bound" if r["method"] == "bandwidth" else r["method"]
        rss = "-" if r["method"] == "bandwidth" else f"{r['extra_rss'] / 2**20:.0f}"
        if r["method"] == "torch-dataloader-2":  # its worker processes hold memory too
            rss += f" (+workers {r['children_peak_rss'] / 2**20:.0f})"
        rows.append([label, f"{rate:,.0f}", f"{rate / ref:.1f}x" if ref else "-",
                     f"{100 * rate / bound:.0f}%" if bound else "-", rss,
                     f"min {min(r['rates']):,.0f} max {max(r['rates']):,.0f}"])
    return rows


HEADER = ["method", "img/s (median)", "vs seed torch", "of bound", "extra peak RSS MB", "spread"]


def _print_table(rows: list[list[str]], cfg: dict) -> None:
    title = (f"N={cfg['n']} {cfg['size']}x{cfg['size']}x3 uint8, crop {cfg['crop']}, batch "
             f"{cfg['batch']}, {cfg['threads']} threads, {cfg['repeats']} x {cfg['batches']} "
             "batches")
    try:
        from rich.console import Console
        from rich.table import Table

        t = Table(title=title)
        for h in HEADER:
            t.add_column(h, justify="left" if h in ("method", "spread") else "right")
        for r in rows:
            t.add_row(*r)
        Console().print(t)
    except ImportError:
        print(title)
        for r in [HEADER, *rows]:
            print(" | ".join(r))


def markdown(rows: list[list[str]]) -> str:
    """The table as Markdown (for docs/BENCHMARKS.md and the README)."""
    out = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def _png(results: list[dict], path: str) -> str | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed; no chart"
    done = [r for r in results if "skipped" not in r]
    fig, ax = plt.subplots(figsize=(8, 3.5))
    names = ["bandwidth bound" if r["method"] == "bandwidth" else r["method"] for r in done]
    ax.barh(names, [r["img_per_s"] for r in done],
            color=["#888" if r["method"] == "bandwidth" else
                   "#2a7" if r["method"] == "nocopy" else "#48c" for r in done])
    ax.invert_yaxis()
    ax.set_xlabel("images / s (median)")
    ax.set_title("seed workload: random crop, /255, HWC->CHW float32")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m nocopy bench", description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=1000, help="images in the dataset (1000)")
    p.add_argument("--size", type=int, default=512, help="image height and width (512)")
    p.add_argument("--crop", type=int, default=256, help="crop height and width (256)")
    p.add_argument("--batch", type=int, default=32, help="batch size (32)")
    p.add_argument("--threads", type=int, default=0, help="threads (0: usable cores)")
    p.add_argument("--batches", type=int, default=10, help="batches per repeat (10)")
    p.add_argument("--repeats", type=int, default=5, help="timed repeats; the median is shown")
    p.add_argument("--quick", action="store_true", help="small and short (for make demo)")
    p.add_argument("--only", default=None, help="comma-separated subset of " + ",".join(METHODS))
    p.add_argument("--png", default=None, help="write a bar chart here (needs matplotlib)")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    p.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    p.add_argument("--config", default=None, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.worker:
        print(json.dumps(_worker(a.worker, json.loads(a.config))))
        return 0
    if a.quick:
        a.n, a.batches, a.repeats = min(a.n, 256), min(a.batches, 6), min(a.repeats, 3)
    if a.crop > a.size:
        p.error(f"--crop {a.crop} is larger than --size {a.size}")
    from .._nocopy import _Loader  # noqa: F401  (fail early if the extension is missing)

    threads = a.threads or len(os.sched_getaffinity(0))
    cfg = dict(n=a.n, size=a.size, crop=a.crop, batch=a.batch, threads=threads,
               batches=a.batches, repeats=a.repeats, warmup=6)
    methods = METHODS if a.only is None else tuple(m.strip() for m in a.only.split(","))
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        p.error(f"unknown method(s) {unknown}; choose from {', '.join(METHODS)}")
    results = []
    try:
        from rich.progress import Progress

        with Progress(transient=True) as progress:
            task = progress.add_task("benchmarking", total=len(methods))
            for m in methods:
                progress.update(task, description=f"running {m}")
                results.append(_run(m, cfg))
                progress.advance(task)
    except ImportError:
        for m in methods:
            print(f"running {m} ...", file=sys.stderr)
            results.append(_run(m, cfg))
    rows = _table(results, cfg)
    if a.json:
        print(json.dumps({"config": cfg, "results": results}, indent=1))
    elif a.markdown:
        print(markdown(rows))
    else:
        _print_table(rows, cfg)
    if a.png:
        note = _png(results, a.png)
        print(note or f"chart written to {a.png}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
