"""The examples run end to end with --small; those rewriting the seed recipes with nocopy
(views_shared_memory_and_c.py, torch_crop_dataset.py, tf_data_crops.py) report, measured,
that the views they promise share memory and that the copies they name copy."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

import nocopy as nc

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def run_example(name: str) -> str:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    out = subprocess.run([sys.executable, str(EXAMPLES / name), "--small"], capture_output=True,
                         text=True, timeout=180, env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Traceback" not in out.stderr
    return out.stdout


def require(module: str) -> None:
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed")


def test_views_shared_memory_and_c_interop():
    out = run_example("views_shared_memory_and_c.py")
    assert "RAISES  memoryview(arr)[20:80, 30:70]" in out
    assert "SHARED  nc.view(arr)[20:80, 30:70] -> shape (60, 40), strides (100, 1)" in out
    assert "COPIED  crop.copy()" in out
    assert "SHARED  nc.center_crop(images, 32) -> (4, 32, 32, 3)" in out
    assert "SHARED  crops.permute(0, 3, 1, 2) -> (4, 3, 32, 32)" in out
    assert "SHARED  libc memset" in out and "SHARED  (ctypes.c_uint8 * n).from_buffer" in out
    if hasattr(nc, "SharedArray"):
        assert "SHARED  the child's writes are visible in the parent" in out
    else:
        assert "no nc.SharedArray: skipped" in out


def test_torch_crop_dataset_and_loader():
    require("torch")
    out = run_example("torch_crop_dataset.py")
    assert "SHARED  crop view -> torch (3, 32, 32) uint8" in out
    assert "COPIED  sample.float() / 255 -> (3, 32, 32) float32" in out
    assert "DataLoader batch (16, 3, 32, 32)" in out
    assert "model(batch) -> (16, 8, 30, 30)" in out
    if hasattr(nc, "Loader"):
        assert "nc.Loader batch (16, 3, 32, 32)" in out


def test_tf_data_crops_pipeline():
    require("tensorflow")
    out = run_example("tf_data_crops.py")
    assert "RAISES  tf.convert_to_tensor(memoryview(images)[i, h:h+c, w:w+c])" in out
    assert "SHARED  nc.view(images).to_tf() -> (64, 64, 64, 3) uint8" in out
    assert "RAISES  nc.center_crop(images, c).to_tf(): BufferError" in out
    assert "COPIED  nc.center_crop(images, c).to_tf(copy=True)" in out
    assert "tf.data batch (16, 32, 32, 3) float32" in out
    if hasattr(nc, "Loader"):
        assert "loader batch (16, 32, 32, 3) float32" in out


def test_gpt_tokens_train_on_a_token_file():
    require("torch")
    out = run_example("gpt_tokens_train.py")
    assert "64-byte aligned: True; y is x shifted by one: True" in out
    first, last = (float(v) for v in out.split("loss ")[-1].split(" -> "))
    assert last < first  # the tiny model learns the repeated token stream


def test_forecast_train_in_jax():
    require("jax")
    out = run_example("forecast_train.py")
    assert "x (64, 32, 4) float32, y (64, 8, 4); 64-byte aligned: True" in out
    first, last = (float(v) for v in out.split("mse ")[-1].split(" -> "))
    assert last < first


def test_pack_with_ray_matches_a_single_process_pack():
    require("ray")
    out = run_example("pack_with_ray.py")
    assert "merged 24 images from 3 Ray tasks into" in out
    assert "same as a single-process pack: len True, labels True, pixels True" in out
