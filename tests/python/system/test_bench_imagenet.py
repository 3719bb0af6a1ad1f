"""`python -m nocopy bench --workload imagenet` runs end to end at a tiny size (speed is never
asserted), and the recipes it compares draw torchvision's RandomResizedCrop windows."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np

from nocopy._cli import bench_imagenet


def test_tiny_run_reports_every_method_it_can_run():
    cmd = [sys.executable, "-m", "nocopy", "bench", "--workload", "imagenet", "--n", "8",
           "--min-side", "40", "--max-side", "60", "--crop", "32", "--batch", "4",
           "--batches", "1", "--repeats", "1", "--only", "nocopy,torch-dataloader-0,opencv",
           "--json"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    results = json.loads(r.stdout)["results"]
    assert [x["method"] for x in results] == ["nocopy", "torch-dataloader-0", "opencv"]
    for x in results:
        assert "skipped" in x and "not installed" in x["skipped"] or x["img_per_s"] > 0, x


def test_recipe_windows_are_inside_and_in_range():
    rng = np.random.default_rng(0)
    for h, w in [(300, 500), (2, 900), (1, 1)]:
        for _ in range(200):
            top, left, ch, cw = bench_imagenet.rrc_params(rng, h, w)
            assert 0 <= top and top + ch <= h and 0 <= left and left + cw <= w
            assert ch >= 1 and cw >= 1
