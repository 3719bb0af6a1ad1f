"""bench/bench_remote.py keeps running: its quick form (96 small JPEGs, 1 MB shards, 400k
tokens, one round, 0 ms) against a real nginx, a row per reader this environment has (litdata
and WebDataset are optional peers), every nocopy row read the whole epoch, the JSON and the
Markdown table."""

import importlib.util
import json
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__)))))

if shutil.which("nginx") is None and not os.access("/usr/sbin/nginx", os.X_OK):
    pytest.skip("nginx is not installed (make system-deps)", allow_module_level=True)
pytest.importorskip("torch")
pytest.importorskip("PIL")

PEERS = [p for p in ("litdata", "webdataset") if importlib.util.find_spec(p)]


def test_bench_remote_quick_form_reads_every_epoch(tmp_path):
    out = subprocess.run(
        [sys.executable, os.path.join(ROOT, "bench", "bench_remote.py"), "--quick",
         "--peers", ",".join(PEERS), "--workdir", str(tmp_path), "--json",
         str(tmp_path / "out.json")],
        capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads((tmp_path / "out.json").read_text())
    images, tokens = result["images"]["0ms"], result["tokens"]["0ms"]

    want = ["nocopy local", "nocopy warm", "nocopy cold"]
    if importlib.util.find_spec("moto"):
        want.append("nocopy-s3 cold")
    for name in want:  # nocopy reads the whole epoch, every way
        assert images[name]["samples"] == 96, (name, images[name])
        assert images[name]["ttfb_s"] > 0 and images[name]["img_s"] > 0
    assert images["nocopy local"]["vs_local"] == 1.0
    if "webdataset" in PEERS:
        assert images["webdataset http"]["samples"] == 96
    if "litdata" in PEERS:
        assert images["litdata local"]["samples"] == 96
    for name in ("tokens warm", "tokens cold", "tokens cold whole"):  # the same windows as local
        assert tokens[name]["samples"] == tokens["tokens local"]["samples"] > 0
        assert tokens[name]["tokens_s"] > 0

    assert "0ms images round 1/1 nocopy cold" in out.stderr  # progress
    assert "| nocopy warm |" in out.stderr  # the table
    table = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "bench_remote.py"),
                            "--table", str(tmp_path / "out.json")],
                           capture_output=True, text=True, timeout=60)
    assert "| tokens cold |" in table.stdout
    assert not [n for n in os.listdir(tmp_path) if n.startswith("bench_remote-")]  # cleaned


def test_bench_remote_quick_form_through_the_delay_proxy(tmp_path):
    """--rtt-mode proxy: the round goes through DelayProxy, is labelled as such, and the
    measured request round trip is about the added one."""
    out = subprocess.run(
        [sys.executable, os.path.join(ROOT, "bench", "bench_remote.py"), "--quick", "--peers",
         "", "--no-s3", "--rtt", "20", "--rtt-mode", "proxy", "--workdir", str(tmp_path),
         "--json", str(tmp_path / "out.json")],
        capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads((tmp_path / "out.json").read_text())
    assert result["rtt_emulation"]["20ms"]["mode"] == "proxy"
    assert "emulated by a userspace delay proxy" in result["rtt_emulation"]["20ms"]["label"]
    assert result["images"]["20ms"]["nocopy cold"]["samples"] == 96
    assert 19 <= result["measured"]["20ms"]["request_ms"] <= 40
    assert 39 <= result["measured"]["20ms"]["new_connection_request_ms"] <= 80
    assert "20ms added RTT, emulated by a userspace delay proxy" in out.stderr
