"""Benchmark: the guide's MLP (784-64-64-10, RMSprop, batch 64) trained on Fashion-MNIST fed five ways
in fastfit (numpy arrays, an in-memory tf.data-style Dataset, the same Dataset with a Python `map`,
a Python generator, a PyDataset) and two ways in Keras 3 on TensorFlow (numpy arrays, the same
tf.data pipeline).

Each row trains in its own subprocess; rounds run every row once, in turn, and the table shows medians
over rounds of the epochs after the first (s/epoch), and the ratio to fastfit on numpy arrays. Target:
the in-memory Dataset costs at most 10% more than arrays.

Run:  cd /work/main && PYTHONPATH=python python bench/data.py [--epochs 3] [--repeats 3]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

import numpy as np

from epoch_timer import epoch_timer

BATCH = 64
ROWS = {  # worker: (label, backend)
    "arrays": ("fastfit, numpy arrays", "fastfit"),
    "dataset": ("fastfit, Dataset shuffle(1024).batch(64)", "fastfit"),
    "dataset-map": ("fastfit, Dataset + Python map", "fastfit"),
    "generator": ("fastfit, Python generator", "fastfit"),
    "pydataset": ("fastfit, PyDataset", "fastfit"),
    "keras-arrays": ("Keras 3/TF, numpy arrays", "keras"),
    "keras-dataset": ("Keras 3/TF, tf.data shuffle+batch", "keras"),
}


def train(name, x, y, epochs):
    """Seconds of each epoch."""
    if ROWS[name][1] == "keras":
        os.environ["KERAS_BACKEND"] = "tensorflow"
        import keras
        import tensorflow as tf
    else:
        import fastfit as keras
        import fastfit as tf
    layers = keras.layers
    inputs = keras.Input(shape=(784,))
    h = layers.Dense(64, activation="relu")(inputs)
    h = layers.Dense(64, activation="relu")(h)
    model = keras.Model(inputs, layers.Dense(10, activation="softmax")(h))
    model.compile(keras.optimizers.RMSprop(1e-3), keras.losses.SparseCategoricalCrossentropy(),
                  metrics=[keras.metrics.SparseCategoricalAccuracy()])
    times = []

    steps = len(x) // BATCH + (len(x) % BATCH > 0)
    kw = dict(epochs=epochs, verbose=0, callbacks=[epoch_timer(keras, times)])
    if name in ("arrays", "keras-arrays"):
        model.fit(x, y, batch_size=BATCH, **kw)
    elif name in ("dataset", "keras-dataset"):
        model.fit(tf.data.Dataset.from_tensor_slices((x, y)).shuffle(1024).batch(BATCH).prefetch(-1), **kw)
    elif name == "dataset-map":
        ds = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(1024).batch(BATCH).map(lambda a, b: (a, b))
        model.fit(ds, **kw)
    elif name == "generator":
        def batches():
            while True:
                order = np.random.permutation(len(x))
                for i in range(0, len(x), BATCH):
                    idx = order[i:i + BATCH]
                    yield x[idx], y[idx]
        model.fit(batches(), steps_per_epoch=steps, **kw)
    elif name == "pydataset":
        class Batches(keras.utils.PyDataset):
            def __len__(self):
                return steps

            def __getitem__(self, i):
                return x[i * BATCH:(i + 1) * BATCH], y[i * BATCH:(i + 1) * BATCH]
        model.fit(Batches(), **kw)
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--worker", choices=ROWS, help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        d = np.load(args.data)
        try:
            print(json.dumps(train(args.worker, d["x"], d["y"], args.epochs)))
        except ImportError as e:
            print(json.dumps({"missing": str(e)}))
        return
    from fastfit.datasets import fashion_mnist
    (x, y), _ = fashion_mnist.load_data()
    x = x[:50000].reshape(-1, 784).astype("float32") / 255
    y = y[:50000]
    medians = {name: [] for name in ROWS}
    failed = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "data.npz")
        np.savez(path, x=x, y=y)
        for _ in range(args.repeats):
            for name in ROWS:
                if name in failed:
                    continue
                env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
                proc = subprocess.run([sys.executable, __file__, "--worker", name, "--data", path, "--epochs",
                                       str(args.epochs)], capture_output=True, text=True, env=env)
                lines = [l for l in proc.stdout.splitlines() if l.startswith(("[", "{"))]
                result = json.loads(lines[-1]) if lines else {"error": proc.stderr.strip().splitlines()[-5:]}
                if isinstance(result, dict):
                    failed[name] = result
                else:
                    medians[name].append(statistics.median(result[1:]))
    base = statistics.median(medians["arrays"]) if medians["arrays"] else None
    print(f"MLP 784-64-64-10 on Fashion-MNIST (50k), batch {BATCH}, {args.epochs} epochs, {args.repeats} rounds; "
          "medians of the epochs after the first.\n")
    print(f"{'feed':<42}{'s/epoch':>9}{'vs fastfit arrays':>19}")
    for name, (label, _) in ROWS.items():
        if name in failed:
            print(f"{label:<42}{'not installed' if 'missing' in failed[name] else 'FAILED: ' + str(failed[name])}")
            continue
        t = statistics.median(medians[name])
        print(f"{label:<42}{t:>9.3f}{t / base:>18.2f}x")


if __name__ == "__main__":
    main()
