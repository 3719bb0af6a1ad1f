"""A short Keras training run fed by nocopy.Loader through tf.data on synthetic data.

`loader.as_tf_dataset()` gives a tf.data.Dataset (channels-last float32 batches); Keras' fit
consumes it like any other dataset.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

import nocopy as nc  # noqa: E402


def main(epochs: int = 2) -> float:
    import keras

    rng = np.random.default_rng(0)
    n, classes = 256, 4
    labels = rng.integers(0, classes, n).astype(np.int32)
    images = (rng.integers(0, 64, (n, 40, 40, 3)) + labels[:, None, None, None] * 48).astype(
        np.uint8)
    loader = nc.Loader(images, labels, batch_size=32, crop=(32, 32), layout="HWC",
                       output="numpy", seed=0)
    model = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Conv2D(8, 3, strides=2),
                              keras.layers.ReLU(), keras.layers.GlobalAveragePooling2D(),
                              keras.layers.Dense(classes)])
    model.compile(optimizer=keras.optimizers.SGD(0.1),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = model.fit(loader.as_tf_dataset(), epochs=epochs, shuffle=False, verbose=0)
    loss = float(history.history["loss"][-1])
    print(f"{epochs} epochs of {len(loader)} batches, final loss {loss:.3f}")
    return loss


if __name__ == "__main__":
    main()
