"""A forecasting loop in JAX fed by nocopy.SequenceLoader: predict the next 8 steps of a
4-channel series from the previous 32 (a linear model trained by gradient descent).

targets="horizon" pairs each window x (batch, 32, 4) with the 8 steps after it, y (batch, 8,
4); with output="jax" both reach JAX as jax.Arrays over the loader's aligned batch buffer.
"""

import argparse

import jax
import jax.numpy as jnp
import numpy as np

import nocopy as nc


def make_series(steps: int) -> np.ndarray:
    t = np.arange(steps, dtype=np.float64)
    periods = np.array([24.0, 50.0, 7.0, 120.0])
    rng = np.random.default_rng(0)
    series = np.sin(2 * np.pi * t[:, None] / periods) + 0.05 * rng.standard_normal((steps, 4))
    return series.astype(np.float32)  # (T, 4)


def main(steps: int = 200, small: bool = False) -> float:
    steps = 60 if small else steps
    seq_len, horizon = 32, 8
    series = make_series(20_000)
    loader = nc.SequenceLoader(series, seq_len=seq_len, batch_size=64, targets="horizon",
                               horizon=horizon, dtype="float32", seed=0, output="jax")
    params = {"w": jnp.zeros((seq_len * 4, horizon * 4)), "b": jnp.zeros(horizon * 4)}

    def loss_fn(p, x, y):
        pred = x.reshape(x.shape[0], -1) @ p["w"] + p["b"]
        return jnp.mean((pred - y.reshape(y.shape[0], -1)) ** 2)

    grad_step = jax.jit(jax.value_and_grad(loss_fn))
    step, first, loss = 0, None, None
    while step < steps:
        for x, y in loader:
            if step == 0:
                print(f"x {x.shape} {x.dtype}, y {y.shape}; 64-byte aligned: "
                      f"{x.unsafe_buffer_pointer() % 64 == 0}")
            loss, grads = grad_step(params, x, y)
            params = jax.tree_util.tree_map(lambda p, g: p - 0.02 * g, params, grads)
            first = float(loss) if first is None else first
            step += 1
            if step == steps:
                break
    print(f"{steps} steps: mse {first:.3f} -> {float(loss):.3f}")
    return float(loss)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="fewer steps (smoke test)")
    main(small=parser.parse_args().small)
