"""Benchmark: what callbacks cost in fit. The guide's MLP (Dense 784-64-64-10, relu, relu, softmax;
RMSprop, sparse categorical crossentropy, accuracy, batch 64) on 50k Fashion-MNIST rows, validated
on the other 10k each epoch, trained three ways:

  none         no callbacks
  built-ins    EarlyStopping + CSVLogger + TensorBoard (per epoch), and ModelCheckpoint when
               keras.callbacks has it (it comes with saving): all epoch-level, so the batches still
               run in C++ between the progress returns
  batch hook   a user callback overriding on_train_batch_end: fit returns to Python every batch

Each run trains a fresh model for --epochs epochs and scores the median of its epochs after the first
(which includes compiling); rounds alternate the three ways, and the table shows the medians over
rounds. The first two should be within 10% of each other.

Run:  PYTHONPATH=python python bench/callbacks.py [--epochs 4] [--rounds 5]
"""
import argparse
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))

import fastfit as keras  # noqa: E402
from fastfit import layers  # noqa: E402
from epoch_timer import epoch_timer  # noqa: E402


def load():
    (x, y), _ = keras.datasets.fashion_mnist.load_data()
    x = x.reshape(-1, 784).astype("float32") / 255
    return (x[:50000], y[:50000]), (x[50000:], y[50000:])


def model():
    inputs = keras.Input(shape=(784,), name="digits")
    x = layers.Dense(64, activation="relu", name="dense_1")(inputs)
    x = layers.Dense(64, activation="relu", name="dense_2")(x)
    outputs = layers.Dense(10, activation="softmax", name="predictions")(x)
    m = keras.Model(inputs=inputs, outputs=outputs)
    m.compile(optimizer=keras.optimizers.RMSprop(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return m


class BatchHook(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.batches = 0

    def on_train_batch_end(self, batch, logs=None):
        self.batches += 1


def builtins(workdir):
    cbs = keras.callbacks
    made = [cbs.EarlyStopping(monitor="val_loss", patience=100), cbs.CSVLogger(os.path.join(workdir, "log.csv")),
            cbs.TensorBoard(os.path.join(workdir, "logs"))]
    if hasattr(cbs, "ModelCheckpoint"):  # with the saving package
        made.append(cbs.ModelCheckpoint(os.path.join(workdir, "ckpt.weights.h5"), save_weights_only=True))
    return made


def seconds_per_epoch(data, epochs, callbacks):
    (x, y), val = data
    times = []
    model().fit(x, y, batch_size=64, epochs=epochs, validation_data=val, verbose=0,
                callbacks=callbacks + [epoch_timer(keras, times)])
    return statistics.median(times[1:])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    data = load()
    ways = {"none": lambda d: [], "built-ins": builtins, "batch hook": lambda d: [BatchHook()]}
    results = {name: [] for name in ways}
    with tempfile.TemporaryDirectory() as workdir:
        for _ in range(args.rounds):
            for name, make in ways.items():
                callbacks = make(workdir)  # made outside the timing (TensorBoard imports tensorboardX)
                results[name].append(seconds_per_epoch(data, args.epochs, callbacks))
    base = statistics.median(results["none"])
    checkpoint = " + ModelCheckpoint" if hasattr(keras.callbacks, "ModelCheckpoint") else ""
    print(f"fit of the guide's MLP, 50k rows, batch 64, validation each epoch; medians of {args.rounds} rounds "
          f"(each the median of epochs 2..{args.epochs})")
    print(f"{'callbacks':<52} {'s/epoch':>8} {'vs none':>8}")
    labels = {"none": "none", "built-ins": f"EarlyStopping + CSVLogger + TensorBoard{checkpoint}",
              "batch hook": "user on_train_batch_end (Python every batch)"}
    for name, times in results.items():
        t = statistics.median(times)
        print(f"{labels[name]:<52} {t:8.3f} {t / base:7.2f}x")


if __name__ == "__main__":
    main()
