"""A short PyTorch training run fed by nocopy.Loader on synthetic data (runs in seconds).

The loader crops, mirrors, normalizes and converts each uint8 image in one C++ pass on worker
threads, and hands each batch to torch without a copy. Prints what was shared and the loss.
"""

import numpy as np
import torch

import nocopy as nc


def main(steps: int = 20) -> float:
    rng = np.random.default_rng(0)
    n, classes = 512, 4
    labels = rng.integers(0, classes, n)
    # Synthetic images whose brightness encodes the class, so the model can learn something.
    images = (rng.integers(0, 64, (n, 40, 40, 3)) + labels[:, None, None, None] * 48).astype(
        np.uint8)
    loader = nc.Loader(images, labels, batch_size=32, crop=(32, 32), mirror=0.5,
                       mean=[0.5, 0.5, 0.5], std=[0.25, 0.25, 0.25], output="torch", seed=0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, stride=2), torch.nn.ReLU(),
                                torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
                                torch.nn.Linear(8, classes))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    step, loss = 0, None
    while step < steps:
        for x, y in loader:  # x: (32, 3, 32, 32) float32, y: (32,) int64, both zero-copy
            if step == 0:
                print(f"batch {tuple(x.shape)} {x.dtype}, 64-byte aligned: "
                      f"{x.data_ptr() % 64 == 0}, shares the loader's buffer (no collate copy)")
            loss = torch.nn.functional.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            if step == steps:
                break
    print(f"{steps} steps, epoch {loader.epoch}, final loss {loss.item():.3f}")
    return loss.item()


if __name__ == "__main__":
    main()
