"""Benchmark: fit's epoch time on the guide's MLP (784-64-64-10, batch 64) with and without Keras'
regularization: an L2 kernel regularizer on each Dense, an L1 activity regularizer on the hidden
layers and a MaxNorm constraint on each kernel, in fastfit and (when installed) in Keras 3 on TensorFlow.

Run against any checkout:  PYTHONPATH=python python bench/regularization.py
Prints the median epoch seconds over alternated runs (the first epoch of each fit, which compiles, left out)."""
import importlib.util
import os
import statistics
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from epoch_timer import epoch_timer  # noqa: E402

ROWS, EPOCHS, RUNS = 20000, 3, 3


def model(keras, regularized):
    options = {}
    if regularized:
        options = {"kernel_regularizer": keras.regularizers.L2(1e-4), "kernel_constraint": keras.constraints.MaxNorm(3)}
    hidden = {"activity_regularizer": keras.regularizers.L1(1e-5)} if regularized else {}
    inputs = keras.Input(shape=(784,))
    x = keras.layers.Dense(64, activation="relu", **options, **hidden)(inputs)
    x = keras.layers.Dense(64, activation="relu", **options, **hidden)(x)
    return keras.Model(inputs, keras.layers.Dense(10, activation="softmax", **options)(x))


def epoch_seconds(keras, regularized, x, y):
    m = model(keras, regularized)
    m.compile(optimizer=keras.optimizers.SGD(0.01), loss="sparse_categorical_crossentropy")
    times = []
    m.fit(x, y, batch_size=64, epochs=EPOCHS, verbose=0, callbacks=[epoch_timer(keras, times)])
    return times[1:]


def main():
    rng = np.random.default_rng(0)
    x = rng.random((ROWS, 784), dtype=np.float32)
    y = rng.integers(0, 10, ROWS).astype("float32")
    import fastfit
    peers = {"fastfit": fastfit}
    if importlib.util.find_spec("tensorflow") is not None:
        os.environ.setdefault("KERAS_BACKEND", "tensorflow")
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        import keras
        peers["keras"] = keras
    results = {(name, reg): [] for name in peers for reg in (False, True)}
    for _ in range(RUNS):  # alternated, so drifting machine load hits every configuration alike
        for (name, reg), times in results.items():
            times += epoch_seconds(peers[name], reg, x, y)
    median = {key: statistics.median(times) for key, times in results.items()}
    print(f"{'':10s} {'plain s/epoch':>14s} {'regularized':>12s} {'overhead':>9s}")
    for name in peers:
        plain, reg = median[(name, False)], median[(name, True)]
        print(f"{name:10s} {plain:14.3f} {reg:12.3f} {reg / plain - 1:8.0%}")
    if "keras" in peers:
        print(f"keras / fastfit, regularized: {median[('keras', True)] / median[('fastfit', True)]:.1f}x")


if __name__ == "__main__":
    main()
