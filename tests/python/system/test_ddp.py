"""examples/ddp_train.py under torchrun (2 processes, gloo on the CPU): equal batch counts on
both ranks, a checkpoint with each rank's loader.state_dict(), a SIGKILL, a restart, and a
continuation identical, batch for batch and loss for loss, to an uninterrupted run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
if not (torch.distributed.is_available() and torch.distributed.is_gloo_available()):
    pytest.skip("torch.distributed with the gloo backend is not available",
                allow_module_level=True)

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "ddp_train.py"


def torchrun(out: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node",
           "2", str(EXAMPLE), "--out", str(out), *args]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)


def steps(log: str) -> dict[int, str]:
    return {int(ln.split()[1]): ln for ln in log.splitlines() if ln.startswith("step ")}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("reference")
    proc = torchrun(out)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out, proc


def test_ranks_get_equal_batch_counts_and_distinct_shards(reference):
    out, proc = reference
    assert "rank 0/2: 6 batches per epoch" in proc.stdout
    assert "rank 1/2: 6 batches per epoch" in proc.stdout
    logs = [steps((out / f"log_rank{r}.txt").read_text()) for r in (0, 1)]
    assert sorted(logs[0]) == sorted(logs[1]) == list(range(1, 19))  # 3 epochs x 6 batches
    # the two ranks see different samples in every step
    assert all(logs[0][s].split()[5] != logs[1][s].split()[5] for s in logs[0])
    finals = [(out / f"log_rank{r}.txt").read_text().splitlines()[-1] for r in (0, 1)]
    assert finals[0] == finals[1]  # DDP kept the replicas identical


def test_kill_restart_continues_identically(reference, tmp_path):
    ref_out, _ = reference
    killed = torchrun(tmp_path, "--kill-after", "10")
    assert killed.returncode != 0  # SIGKILL: torchrun reports the failure
    assert (tmp_path / "checkpoints" / "latest").read_text() == "8"
    resumed = torchrun(tmp_path, "--resume")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "starting at step 8 (epoch 1, resumed)" in resumed.stdout
    for r in (0, 1):
        ref_log = (ref_out / f"log_rank{r}.txt").read_text()
        before, after = (tmp_path / f"log_rank{r}.txt").read_text().split("resumed at step 8\n")
        ref = steps(ref_log)
        first, second = steps(before), steps(after)
        assert sorted(first) == list(range(1, 11)) and sorted(second) == list(range(9, 19))
        # same batches (image and label digests) and bit-identical losses, before the kill
        # and after the restart (steps 9 and 10 are replayed from the checkpoint)
        assert all(first[s] == ref[s] for s in first)
        assert all(second[s] == ref[s] for s in second)
        assert after.splitlines()[-1] == ref_log.splitlines()[-1]  # the same final weights
