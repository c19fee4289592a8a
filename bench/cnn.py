"""Benchmark: a small CNN on Fashion-MNIST, fastfit vs PyTorch eager and Keras 3 on TensorFlow.

Model: Conv2D 32 3x3 relu, MaxPooling2D 2, Conv2D 64 3x3 relu, MaxPooling2D 2, Flatten, Dense 10 softmax;
Adam(1e-3), sparse categorical crossentropy and accuracy, batch 64, trained on the first 50k training images
(28x28x1, channels last; PyTorch channels first, as it is usually written) and validated each epoch on the
last 10k. Each framework trains in its own subprocess and reports the median wall time of the epochs after
the first (train + validation). PyTorch runs at 1 and 2 threads; the faster counts. Ratios: peer / fastfit.

Run:  PYTHONPATH=python python bench/cnn.py [--epochs 3] [--only fastfit,torch-2]
"""
import argparse
import json
import os
import statistics
import tempfile
import time

import numpy as np

import bench_common
from bench_common import torch_fit

BATCH = 64
FRAMEWORKS = {"fastfit": "fastfit", "torch-1": "PyTorch eager, 1 thread", "torch-2": "PyTorch eager, 2 threads",
              "keras-tensorflow": "Keras 3 / TensorFlow"}


def load_data(path):
    d = np.load(path)
    x = d["x"].reshape(-1, 28, 28, 1).astype("float32") / 255
    return (x[:-10000], d["y"][:-10000]), (x[-10000:], d["y"][-10000:])


def flatten(layers):
    if hasattr(layers, "Flatten"):
        return layers.Flatten()
    from fastfit import _core  # until fastfit's Flatten lands: the reshape op it runs

    class Flatten(layers.Layer):
        def call(self, x):
            return _core.apply("reshape", [x], shape=[-1], keep_batch=True)

        def compute_output_shape(self, shape):
            return (shape[0], int(np.prod(shape[1:])))
    return Flatten()


def cnn(keras, layers):
    return keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(2),
        flatten(layers), layers.Dense(10, activation="softmax")])


def run_keras(keras, layers, data, epochs):
    (x_train, y_train), (x_val, y_val) = data
    keras.utils.set_random_seed(0)
    model = cnn(keras, layers)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    times = []

    class EpochTimer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.t0)

    h = model.fit(x_train, y_train, batch_size=BATCH, epochs=epochs, validation_data=(x_val, y_val), verbose=0,
                  callbacks=[EpochTimer()]).history
    return {"epoch_times": times, "val_loss": h["val_loss"][-1], "val_acc": h["val_accuracy"][-1]}


def run_torch(torch, threads, data, epochs):
    from torch import nn
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    (x_train, y_train), (x_val, y_val) = data
    x_train, x_val = (torch.from_numpy(a.transpose(0, 3, 1, 2).copy()) for a in (x_train, x_val))
    y_train, y_val = (torch.from_numpy(a.astype(np.int64)) for a in (y_train, y_val))
    model = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Linear(1600, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    times, val_loss, val_acc = torch_fit(torch, model, opt, (x_train, y_train), (x_val, y_val), epochs, BATCH)
    return {"epoch_times": times, "val_loss": val_loss, "val_acc": val_acc}


def worker(name, data_path, epochs):
    data = load_data(data_path)
    if name == "fastfit":
        import fastfit as keras
        from fastfit import layers
        result = run_keras(keras, layers, data, epochs)
    elif name.startswith("keras-"):
        import keras
        from keras import layers
        result = run_keras(keras, layers, data, epochs)
    else:
        import torch
        result = run_torch(torch, int(name.split("-")[1]), data, epochs)
    print(json.dumps(result))


def run_worker(name, data_path, epochs):
    return bench_common.run_worker(__file__, name, data_path, epochs, tail=10)

def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=3, help="epochs per run (at least 2; the first is warm-up)")
    parser.add_argument("--only", help="comma-separated subset of: " + ", ".join(FRAMEWORKS))
    parser.add_argument("--worker", choices=FRAMEWORKS, help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker, args.data, args.epochs)
    if args.epochs < 2:
        parser.error("need --epochs >= 2")
    names = args.only.split(",") if args.only else list(FRAMEWORKS)

    from fastfit.datasets import fashion_mnist
    (x_train, y_train), _ = fashion_mnist.load_data()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        data_path = os.path.join(tmp, "fashion_mnist.npz")
        np.savez(data_path, x=x_train, y=y_train)
        for name in names:
            results[name] = run_worker(name, data_path, args.epochs)
    print(f"CNN on Fashion-MNIST, batch {BATCH}, {args.epochs} epochs; s/epoch = median of epochs 2+. "
          f"Ratio: peer / fastfit.\n")
    base = results.get("fastfit", {})
    for name, r in results.items():
        if "error" in r:
            print(f"{FRAMEWORKS[name]:<28}FAILED:\n    " + "\n    ".join(r["error"]))
            continue
        epoch = statistics.median(r["epoch_times"][1:])
        ratio = f"{epoch / statistics.median(base['epoch_times'][1:]):.2f}x" if "epoch_times" in base else "-"
        print(f"{FRAMEWORKS[name]:<28}{epoch:8.3f} s/epoch {ratio:>7}   first epoch {r['epoch_times'][0]:7.3f} s"
              f"   val {r['val_loss']:.4f}/{r['val_acc']:.4f}")


if __name__ == "__main__":
    main()
