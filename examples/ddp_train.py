"""DistributedDataParallel training fed by nocopy.Loader, with checkpoint and exact resume.

    python -m torch.distributed.run --nproc-per-node 2 examples/ddp_train.py

torchrun starts one process per rank and sets RANK, WORLD_SIZE, LOCAL_RANK and the rendezvous
address in the environment; the script reads them (no argument needed), joins a gloo process
group on the CPU and trains a small model under DDP. What it shows:

- one copy of the dataset per machine: local rank 0 writes it once as a .npy file, every rank
  maps it with nc.open_npy, so all processes share the same page-cache pages;
- each rank's Loader takes its shard (rank, world_size) and gets the same number of batches
  per epoch (checked with an all_reduce: DDP hangs when ranks disagree); set_epoch reshuffles;
- a checkpoint holds the model, the optimizer and every rank's loader.state_dict(); after a
  kill (--kill-after STEP simulates one with SIGKILL), the same command with --resume
  continues with byte-identical batches, hence the same losses as an uninterrupted run.

Options: --out DIR (dataset, checkpoints and per-rank logs; default ./ddp_run), --epochs,
--checkpoint-every STEPS, --kill-after STEP, --resume.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist

import nocopy as nc

N, SIZE, CROP, CLASSES, BATCH = 96, 36, 32, 4, 8


def env_rank() -> tuple[int, int, int]:
    """(rank, world_size, local_rank) as torchrun sets them; a plain run is rank 0 of 1."""
    return (int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)),
            int(os.environ.get("LOCAL_RANK", 0)))


def dataset(out: Path, local_rank: int) -> tuple[nc.View, np.ndarray]:
    """The images as one .npy file per machine (written once, atomically, by local rank 0) and
    mapped by every rank; labels are small and recomputed by each rank."""
    rng = np.random.default_rng(0)
    labels = rng.integers(0, CLASSES, N)
    path = out / "images.npy"
    if local_rank == 0 and not path.exists():
        tmp = out / f"images.{os.getpid()}.tmp.npy"
        images = nc.create_npy(tmp, (N, SIZE, SIZE, 3), "uint8")
        noise = rng.integers(0, 64, (N, SIZE, SIZE, 3))
        np.asarray(images)[...] = noise + labels[:, None, None, None] * 48  # class = brightness
        del images  # unmapped: the data is in the file
        os.replace(tmp, path)
    dist.barrier()  # the file exists before any rank maps it
    return nc.open_npy(path), labels


def digest(t: torch.Tensor) -> str:
    return hashlib.sha256(t.detach().contiguous().numpy().tobytes()).hexdigest()[:16]


def save_checkpoint(ckpt: Path, rank: int, step: int, model, opt, loader) -> None:
    """Every rank writes its loader state, rank 0 the model and optimizer, each file atomically;
    `latest` names the step only once all ranks have written theirs."""
    step_dir = ckpt / f"step{step}"
    step_dir.mkdir(parents=True, exist_ok=True)
    tmp = step_dir / f"loader_rank{rank}.json.tmp"
    tmp.write_text(json.dumps(loader.state_dict()))
    os.replace(tmp, step_dir / f"loader_rank{rank}.json")
    if rank == 0:
        torch.save({"model": model.module.state_dict(), "opt": opt.state_dict(), "step": step},
                   step_dir / "model.pt.tmp")
        os.replace(step_dir / "model.pt.tmp", step_dir / "model.pt")
    dist.barrier()
    if rank == 0:
        (ckpt / "latest.tmp").write_text(str(step))
        os.replace(ckpt / "latest.tmp", ckpt / "latest")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", default="ddp_run", help="dataset, checkpoints, logs (./ddp_run)")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--checkpoint-every", type=int, default=4, help="steps between checkpoints")
    p.add_argument("--kill-after", type=int, default=0, help="SIGKILL this rank after STEP")
    p.add_argument("--resume", action="store_true", help="continue from the latest checkpoint")
    a = p.parse_args(argv)

    rank, world, local_rank = env_rank()
    torch.set_num_threads(1)  # one process per core here; the loader has its own thread
    dist.init_process_group("gloo", rank=rank, world_size=world)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    ckpt = out / "checkpoints"
    images, labels = dataset(out, local_rank)

    loader = nc.Loader(images, labels, batch_size=BATCH, crop=CROP, mirror=0.5,
                       mean=[0.5] * 3, std=[0.25] * 3, seed=1234, rank=rank, world_size=world,
                       num_threads=1, output="torch")
    torch.manual_seed(0)  # the same initial weights on every rank (DDP also broadcasts them)
    model = torch.nn.parallel.DistributedDataParallel(torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, stride=2), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.Flatten(), torch.nn.Linear(8, CLASSES)))
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)

    # Equal batch counts on every rank, or DDP's gradient all_reduce would wait forever.
    counts = torch.tensor([len(loader), -len(loader)])
    dist.all_reduce(counts, op=dist.ReduceOp.MAX)
    assert counts[0] == -counts[1] == len(loader), f"ranks disagree on batches: {counts}"

    step, start_epoch, resumed = 0, 0, False
    if a.resume and (ckpt / "latest").exists():
        step = int((ckpt / "latest").read_text())
        state = torch.load(ckpt / f"step{step}" / "model.pt")
        model.module.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        loader.load_state_dict(json.loads(
            (ckpt / f"step{step}" / f"loader_rank{rank}.json").read_text()))
        start_epoch, resumed = loader.epoch, True

    log = (out / f"log_rank{rank}.txt").open("a")
    if resumed:
        log.write(f"resumed at step {step}\n")
    print(f"rank {rank}/{world}: {len(loader)} batches per epoch, starting at step {step} "
          f"(epoch {start_epoch}{', resumed' if resumed else ''})", flush=True)
    for epoch in range(start_epoch, a.epochs):
        if not (resumed and epoch == start_epoch):
            loader.set_epoch(epoch)  # a new shuffle (and crops) for this epoch, on every rank
        for x, y in loader:
            loss = torch.nn.functional.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            log.write(f"step {step} epoch {epoch} batch {digest(x)} labels {digest(y)} "
                      f"loss {loss.item()!r}\n")
            log.flush()
            if step % a.checkpoint_every == 0:
                save_checkpoint(ckpt, rank, step, model, opt, loader)
            if step == a.kill_after:
                os.kill(os.getpid(), signal.SIGKILL)  # a crash: no cleanup, no goodbye
    params = torch.cat([q.detach().reshape(-1) for q in model.module.parameters()])
    log.write(f"final step {step} params {digest(params)}\n")
    log.close()
    if rank == 0:
        print(f"done: {step} steps, params {digest(params)}")
    loader.close()  # its worker threads joined now, not at interpreter exit
    # Every rank reaches the end before any tears its connections down: a rank that destroys
    # the group while another still has gloo work in flight can abort the other's process.
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
