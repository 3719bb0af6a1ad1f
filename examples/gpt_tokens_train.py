"""A tiny GPT-style next-token training loop in torch, fed by nocopy.SequenceLoader from a token
file written here (like nanoGPT's train.bin: raw uint16 tokens, no header). Runs in seconds.

nc.open_raw maps the file (nothing is read up front); the loader gathers 64 random windows per
batch in C++ threads, converting uint16 -> int64 in the same pass, and hands torch the batch
buffer itself (x and y = x shifted by one token), so there is no np.memmap per batch, no
per-window astype and no torch.stack.
"""

import argparse
import os
import tempfile

import numpy as np
import torch
from torch import nn

import nocopy as nc


class TinyGPT(nn.Module):
    def __init__(self, vocab: int, width: int, seq_len: int):
        super().__init__()
        self.tok = nn.Embedding(vocab, width)
        self.pos = nn.Parameter(torch.zeros(seq_len, width))
        self.block = nn.TransformerEncoderLayer(width, nhead=4, dim_feedforward=4 * width,
                                                batch_first=True, norm_first=True)
        self.head = nn.Linear(width, vocab)
        self.register_buffer("mask", nn.Transformer.generate_square_subsequent_mask(seq_len))

    def forward(self, x):
        h = self.tok(x) + self.pos[: x.shape[1]]
        h = self.block(h, src_mask=self.mask[: x.shape[1], : x.shape[1]], is_causal=True)
        return self.head(h)


def write_tokens(path: str, n: int, vocab: int) -> None:
    """A learnable stream: a fixed 'sentence' of 31 tokens repeated with a random offset noise."""
    rng = np.random.default_rng(0)
    sentence = rng.integers(0, vocab, 31)
    stream = np.tile(sentence, n // 31 + 1)[:n]
    noise = rng.random(n) < 0.05
    stream[noise] = rng.integers(0, vocab, noise.sum())
    stream.astype(np.uint16).tofile(path)


def main(steps: int = 60, small: bool = False) -> float:
    vocab, seq_len, batch = 256, 64, 16 if small else 64
    steps = 15 if small else steps
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "train.bin")
        write_tokens(path, 200_000, vocab)
        tokens = nc.open_raw(path, np.uint16)  # a zero-copy view of the mapped file
        loader = nc.SequenceLoader(tokens, seq_len=seq_len, batch_size=batch, targets="next",
                                   dtype="int64", seed=0, output="torch")
        model = TinyGPT(vocab, 64, seq_len)
        opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
        first = last = None
        step = 0
        while step < steps:
            for x, y in loader:  # (batch, seq_len) int64 tensors over the pooled batch buffer
                if step == 0:
                    print(f"batch x {tuple(x.shape)} {x.dtype}, y {tuple(y.shape)}; 64-byte "
                          f"aligned: {x.data_ptr() % 64 == 0}; y is x shifted by one: "
                          f"{bool(torch.equal(x[:, 1:], y[:, :-1]))}")
                logits = model(x)
                loss = nn.functional.cross_entropy(logits.reshape(-1, vocab), y.reshape(-1))
                opt.zero_grad()
                loss.backward()
                opt.step()
                first = loss.item() if first is None else first
                last = loss.item()
                step += 1
                if step == steps:
                    break
        print(f"{steps} steps over {loader.windows_per_epoch} windows per epoch: loss "
              f"{first:.3f} -> {last:.3f}")
        return last


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="fewer steps (smoke test)")
    main(small=parser.parse_args().small)
