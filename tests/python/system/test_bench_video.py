"""bench/bench_video.py keeps running: its smallest form (4 tiny videos per set, 2 batches), a
row per method this environment has (torchcodec, PyAV and DALI are optional: a missing one is
named under "not run"), the goal table and the JSON of every rate."""

import importlib.util
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__)))))

pytest.importorskip("av", reason="the benchmark makes its videos with PyAV")
pytest.importorskip("torch")


def test_bench_video_smallest_form_prints_every_row(tmp_path):
    out = subprocess.run(
        [sys.executable, os.path.join(ROOT, "bench", "bench_video.py"), "--videos", "4",
         "--width", "64", "--height", "48", "--frames", "40", "--batch", "2", "--batches", "1",
         "--rounds", "1", "--cache", str(tmp_path / "cache"), "--json",
         str(tmp_path / "out.json")],
        capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    rows = ["| bare-1t |", "| bare-2t |", "| nocopy-2t |", "| nocopy-1t |", "| pyav-0 |", "| pyav-2 |"]
    if importlib.util.find_spec("torchcodec"):
        rows += ["| torchcodec-0 |", "| torchcodec-2 |"]
    else:
        assert "not run: torchcodec" in out.stdout
    for row in rows:
        assert row in out.stdout
    assert "| GOP 12 |" in out.stdout and "| GOP 250 |" in out.stdout  # the goal table
    assert "| dali-cpu |" in out.stdout or "not run: dali-cpu" in out.stdout
    assert "GOP 250, round 1/1: nocopy-2t" in out.stderr  # progress
    result = json.loads((tmp_path / "out.json").read_text())
    assert [s["gop"] for s in result["sets"]] == [12, 250]
    for s in result["sets"]:
        assert s["clips_timed"] == 2
        assert all(len(v) == 1 and v[0] > 0 for v in s["rates"].values())
