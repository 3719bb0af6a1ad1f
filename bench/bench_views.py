"""Benchmarks of views (side by side in one run, medians):
1. slicing a nocopy View vs NumPy basic slicing (time per op; goal <= 1.5x NumPy);
2. handing an array to torch / numpy through nocopy vs torch.from_numpy (goal: O(1), <= 2x).

Run: python bench/bench_views.py  (prints Markdown tables for docs/BENCHMARKS.md)
"""

from __future__ import annotations

import sys

import numpy as np

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from common import compare, machine, table  # noqa: E402

import nocopy as nc  # noqa: E402


def bench_slicing() -> str:
    a = np.zeros((64, 512, 512, 3), np.uint8)
    v = nc.view(a)
    cases = {
        "a[3]": lambda x: x[3],
        "a[1:5, ::2]": lambda x: x[1:5, ::2],
        "a[:, 128:384, 128:384, :]": lambda x: x[:, 128:384, 128:384, :],
        "a[..., None, -1]": lambda x: x[..., None, -1],
        "a[2, 10:-10:3, ::-1, 1]": lambda x: x[2, 10:-10:3, ::-1, 1],
    }
    rows = []
    for name, fn in cases.items():
        r = compare({"numpy": lambda: fn(a), "nocopy": lambda: fn(v)}, repeats=21, number=5000)
        (t_np, _), (t_nc, ratio) = r["numpy"], r["nocopy"]
        rows.append([f"`{name}`", f"{t_np * 1e9:.0f}", f"{t_nc * 1e9:.0f}", f"{ratio:.2f}x"])
    return table(["index", "NumPy ns/op", "nocopy ns/op", "nocopy / NumPy"], rows)


def bench_export() -> str:
    import torch

    rows = []
    for mb in (1, 64, 512):
        a = np.ones(mb * 2**20, np.uint8)
        v = nc.view(a)
        paths = {
            "torch.from_numpy(a)": lambda: torch.from_numpy(a),
            "nc.view(a)": lambda: nc.view(a),
            "v.to_torch()": lambda: v.to_torch(),
            "nc.view(a).to_torch()": lambda: nc.view(a).to_torch(),
            "torch.from_dlpack(v)": lambda: torch.from_dlpack(v),
            "np.asarray(v)": lambda: np.asarray(v),
            "v.to_numpy()": lambda: v.to_numpy(),
        }
        for name, (t, ratio) in compare(paths, repeats=15, number=1000).items():
            rows.append([f"{mb} MB", f"`{name}`", f"{t * 1e6:.2f}", f"{ratio:.2f}x"])
    return table(["size", "path", "us/op", "vs torch.from_numpy"], rows)


def main() -> None:
    print(f"Machine: {machine()}; numpy {np.__version__}\n")
    print("### Slicing: nocopy View vs NumPy basic slicing\n")
    print(bench_slicing())
    print("\n### Export to torch / numpy vs torch.from_numpy\n")
    print(bench_export())


if __name__ == "__main__":
    main()
