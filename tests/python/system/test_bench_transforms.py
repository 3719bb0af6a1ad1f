"""bench/bench_transforms.py keeps running: its smallest form, every method this environment
has (DALI and SPDL are optional), a table with a row per method."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__)))))


def test_bench_transforms_smallest_form_prints_every_row(tmp_path):
    png = tmp_path / "chart.png"
    out = subprocess.run(
        [sys.executable, os.path.join(ROOT, "bench", "bench_transforms.py"), "--images", "8",
         "--rounds", "1", "--batches", "1", "--batch", "4", "--png", str(png)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    for row in ("| nocopy-recipe |", "| nocopy-simple |", "| torch-0 |", "| torch-2 |",
                "| fused RandomInvert |", "| Lambda (NumPy) |"):
        assert row in out.stdout
    assert png.stat().st_size > 1000
    assert "round 1/1" in out.stderr  # progress
