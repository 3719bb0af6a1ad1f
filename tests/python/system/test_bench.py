"""The loader benchmark (`python -m nocopy bench`): the memory bound's model, the table's width,
and a tiny end-to-end run of the command as `make demo` runs it."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from nocopy._cli import bench

CFG = dict(n=1000, size=512, crop=256, batch=32, threads=2, batches=10, repeats=5)


def test_image_traffic_is_the_crop_in_and_the_float32_output_out():
    assert bench.image_traffic(CFG) == (256 * 256 * 3, 256 * 256 * 3 * 4)


def test_bound_is_the_slower_stream_alone():
    rd, wr = bench.image_traffic(CFG)
    for r, w in ((20e9, 50e9), (1e9, 50e9), (20e9, 20e9)):
        b = bench.bound_images_per_s(r, w, CFG)
        assert b["img_per_s"] == pytest.approx(1 / max(rd / r, wr / w))
        assert b["additive_img_per_s"] == pytest.approx(1 / (rd / r + wr / w))
        assert b["additive_img_per_s"] < b["img_per_s"]
        assert (b["read_bytes"], b["write_bytes"]) == (rd, wr)


def test_combined_bound_takes_each_streams_best_rate_of_the_run():
    samples = [{"method": "bound", "read_bw": 10e9, "write_bw": 60e9},
               {"method": "bound", "read_bw": 20e9, "write_bw": 30e9},
               {"method": "bound", "skipped": "failed: x"}]
    results = [{"method": "nocopy", "bound_samples": [{"read_bw": 25e9, "write_bw": 1e9}]}]
    b = bench.combine_bounds(samples, results, CFG)
    assert (b["read_bw"], b["write_bw"], b["samples"]) == (25e9, 60e9, 3)
    assert b["img_per_s"] == bench.bound_images_per_s(25e9, 60e9, CFG)["img_per_s"]
    assert max(b["rates"]) <= b["img_per_s"]
    assert bench.combine_bounds(samples[2:], [], CFG)["skipped"] == "failed: x"


def _results(rate: float) -> list[dict]:
    b = bench.combine_bounds([{"method": "bound", "read_bw": 99.9e9, "write_bw": 99.9e9}], [],
                             CFG)
    out = [b]
    for m in bench.METHODS[1:-1]:
        out.append({"method": m, "img_per_s": rate, "rates": [rate * 0.9, rate * 1.1],
                    "extra_rss": 99_999 * 2**20, "children_peak_rss": 99_999 * 2**20})
    out.append({"method": "dali", "skipped": "nvidia.dali is not installed"})
    return out


@pytest.mark.parametrize("rate", [3.0, 123_456.7, 9_876_543.0])
def test_table_and_notes_fit_80_columns_with_every_method_named_in_full(rate):
    results = _results(rate)
    text = bench.format_table(bench.table(results))
    lines = text.splitlines() + bench.notes(results, dict(CFG, n=100_000, size=4096))
    assert max(len(ln) for ln in lines) <= 80, "\n".join(lines)
    for m in bench.METHODS:
        assert bench.LABELS[m] in text


def test_table_ratios_are_against_the_seed_recipe_and_the_bound():
    results = [
        {"method": "bound", "img_per_s": 1000.0, "rates": [900.0, 1000.0]},
        {"method": "nocopy", "img_per_s": 850.0, "rates": [800.0, 900.0], "extra_rss": 2**20,
         "children_peak_rss": 0},
        {"method": "torch-dataloader-0", "img_per_s": 100.0, "rates": [100.0], "extra_rss": 0,
         "children_peak_rss": 0},
    ]
    rows = {r[0]: r for r in bench.table(results)}
    assert rows["nocopy"][1:5] == ["850", "8.5x", "85%", "1"]
    assert rows["memory bound"][3] == "100%"
    assert rows["seed torch, 0 workers"][2] == "1.0x"


def test_streams_measure_positive_rates():
    streams = bench.Streams(threads=2)
    rates = streams.sample(passes=1)
    streams.close()
    assert set(rates) == {"read_bw", "write_bw"}
    assert all(v > 0 for v in rates.values())


def test_quick_run_end_to_end_json():
    pytest.importorskip("torch")
    cmd = [sys.executable, "-m", "nocopy", "bench", "--quick", "--only", "bound,nocopy",
           "--n", "8", "--size", "64", "--crop", "32", "--batch", "4", "--batches", "2",
           "--repeats", "2", "--json"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=True).stdout
    data = json.loads(out[out.index("{"):])
    by = {r["method"]: r for r in data["results"]}
    # two bound runs (before and after nocopy) + one sample before and after each repeat
    assert by["bound"]["samples"] == 2 + 3 and by["bound"]["img_per_s"] > 0
    assert by["nocopy"]["img_per_s"] > 0 and len(by["nocopy"]["rates"]) == 2


def test_bad_arguments_are_usage_errors():
    for args in (["--crop", "600"], ["--only", "nope"], ["--batch", "0"]):
        proc = subprocess.run([sys.executable, "-m", "nocopy", "bench", *args],
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 2 and "error" in proc.stderr


def test_gpu_check_says_why_and_exits_cleanly_without_a_cuda_gpu():
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("a CUDA GPU is present: run bench/gpu_check.py itself")
    script = Path(__file__).resolve().parents[3] / "bench" / "gpu_check.py"
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "no CUDA GPU is available here" in proc.stdout
    assert "unverified" in proc.stdout and "python bench/gpu_check.py" in proc.stdout


def test_bench_jpeg_quick_run_measures_every_chosen_method():
    # The JPEG benchmark end to end on a few images: each method in its own process, interleaved
    # rounds, wall-clock and CPU-time rates (the numbers themselves are not asserted).
    script = Path(__file__).resolve().parents[3] / "bench" / "bench_jpeg.py"
    proc = subprocess.run([sys.executable, str(script), "--quick", "--images", "16", "--batch", "4",
                           "--no-decode", "--only", "nocopy-jpeg,torch-pillow-0", "--json"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout)
    assert [r["method"] for r in out["results"]] == ["nocopy-jpeg", "torch-pillow-0"]
    for r in out["results"]:
        assert "skipped" not in r, r
        assert len(r["rates"]) == 2 and r["img_per_s"] > 0 and r["cpu_rate"] > 0
    assert out["results"][0]["cores"] == out["config"]["threads"]
    assert out["results"][1]["cores"] == 1
