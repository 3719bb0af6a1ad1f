"""One copy of a dataset per machine: N processes that map the same SharedArray or .npy file
(and touch every page of it) share its pages, so their summed PSS (proportional set size, from
/proc/<pid>/smaps_rollup) grows by about one dataset, not N; so do ImageSets, opened from one
folder or shared with ImageSet.to_shared() and pickled by reference. A control where every
process makes a private copy grows by N datasets, which shows that the measurement tells them
apart.
The processes are started with subprocess (no fork)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import nocopy as nc

if not Path("/proc/self/smaps_rollup").exists():
    pytest.skip("/proc/<pid>/smaps_rollup is not available (Linux >= 4.14)",
                allow_module_level=True)

PROCS = 4
MIB = 48
NBYTES = MIB << 20

CHILD = r"""
import sys
import numpy as np
import nocopy as nc

def mem():
    out = {}
    with open("/proc/self/smaps_rollup") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("Rss", "Pss"):
                out[key] = int(rest.split()[0])
    return out["Pss"], out["Rss"]

kind, where = sys.argv[1], sys.argv[2]
print("base", *mem(), flush=True)
sys.stdin.readline()
if kind == "shm":
    handle = nc.SharedArray.attach(where, readonly=True)
    data = np.asarray(handle.view)
elif kind == "npy":
    data = np.asarray(nc.open_npy(where))
elif kind == "imageset":
    ds = nc.ImageSet.open(where)
    data = np.asarray(ds.pixels)
elif kind == "shared-imageset":
    import pickle
    ds = pickle.loads(bytes.fromhex(where))
    data = np.asarray(ds.pixels)
else:  # the control: a private copy in every process
    data = np.array(np.load(where, mmap_mode="r"))
flat = np.ascontiguousarray(data).reshape(-1)
total = int(flat[::4096].sum(dtype=np.int64))  # touches every page
print("done", total, flush=True)
sys.stdin.readline()
"""


def pss_rss_kb(pid: int) -> tuple[int, int]:
    vals = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("Rss", "Pss"):
                vals[key] = int(rest.split()[0])
    return vals["Pss"], vals["Rss"]


def run_children(kind: str, where: str) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Starts PROCS children, lets each map and touch the dataset, and returns, per child, its
    (PSS, RSS) in KiB before mapping and once all of them hold it."""
    procs = [subprocess.Popen([sys.executable, "-c", CHILD, kind, where], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True) for _ in range(PROCS)]
    try:
        base = []
        for p in procs:
            tag, pss, rss = p.stdout.readline().split()
            assert tag == "base"
            base.append((int(pss), int(rss)))
        for p in procs:  # every baseline is taken before any child maps the dataset
            p.stdin.write("go\n")
            p.stdin.flush()
        for p in procs:
            assert p.stdout.readline().split()[0] == "done"
        end = [pss_rss_kb(p.pid) for p in procs]
        for p in procs:
            p.stdin.write("exit\n")
            p.stdin.flush()
        for p in procs:
            assert p.wait(timeout=60) == 0
        return base, end
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()


def check_shared(base, end) -> None:
    dataset_kb = NBYTES // 1024
    # each process really holds the whole dataset in its address space...
    for (_, rss0), (_, rss1) in zip(base, end):
        assert rss1 - rss0 > 0.9 * dataset_kb
    # ...but together they pay for it about once, not PROCS times
    extra_pss = sum(p1 - p0 for (p0, _), (p1, _) in zip(base, end))
    assert extra_pss < 1.5 * dataset_kb, (extra_pss, dataset_kb)


def dataset() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (MIB, 1024, 1024), dtype=np.uint8)


def test_processes_share_one_shared_array():
    with nc.SharedArray.create((MIB, 1024, 1024), "uint8") as sa:
        np.asarray(sa.view)[...] = dataset()
        check_shared(*run_children("shm", sa.name))


def test_processes_share_one_npy_file(tmp_path):
    path = tmp_path / "images.npy"
    np.save(path, dataset())
    check_shared(*run_children("npy", str(path)))


def test_private_copies_cost_one_dataset_per_process(tmp_path):
    path = tmp_path / "images.npy"
    np.save(path, dataset())
    base, end = run_children("copy", str(path))
    extra_pss = sum(p1 - p0 for (p0, _), (p1, _) in zip(base, end))
    assert extra_pss > 0.9 * PROCS * NBYTES // 1024



def image_folder(tmp_path) -> Path:
    """An ImageFolder tree of 16 incompressible 1024x1024 RGB images (48 MiB of pixels)."""
    image = pytest.importorskip("PIL.Image")
    rng = np.random.default_rng(0)
    for i in range(16):
        d = tmp_path / "src" / f"class{i % 2}"
        d.mkdir(parents=True, exist_ok=True)
        pixels = rng.integers(0, 256, (1024, 1024, 3), dtype=np.uint8)
        image.fromarray(pixels).save(d / f"{i}.png", compress_level=0)
    return tmp_path / "src"


@pytest.mark.skipif(not hasattr(nc, "ImageSet"), reason="nc.ImageSet is not available")
def test_processes_share_one_imageset_folder(tmp_path):
    nc.pack_images(image_folder(tmp_path), tmp_path / "train.nc")
    assert nc.ImageSet.open(tmp_path / "train.nc").pixels.nbytes >= NBYTES
    check_shared(*run_children("imageset", str(tmp_path / "train.nc")))


@pytest.mark.skipif(not hasattr(nc, "ImageSet"), reason="nc.ImageSet is not available")
def test_processes_share_one_shared_imageset(tmp_path):
    import pickle

    nc.pack_images(image_folder(tmp_path), tmp_path / "train.nc")
    shared = nc.ImageSet.open(tmp_path / "train.nc").to_shared()
    try:
        check_shared(*run_children("shared-imageset", pickle.dumps(shared).hex()))
    finally:
        del shared  # its segments are removed with it
