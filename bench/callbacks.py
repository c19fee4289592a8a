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
rounds. The first two should be within 10% of each other. On a shared machine the epochs' times
swing by more than that, so the table also shows the time spent inside the callbacks' hooks per
epoch (their own cost, which the machine's load hardly changes; on_train_begin/end, once per fit and
outside the epochs, not counted), and its share of the epoch.

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


class TimedCallbackList(keras.callbacks.CallbackList):
    """A CallbackList that adds up the time its hooks take (fit uses a CallbackList as it is given)."""
    spent = 0.0


def _timed(hook):
    def call(self, *args):
        t0 = time.perf_counter()
        hook(self, *args)
        self.spent += time.perf_counter() - t0
    return call


for _name in [n for n in vars(keras.callbacks.Callback) if n.startswith("on_")]:
    if _name not in ("on_train_begin", "on_train_end"):  # once per fit, outside the epochs
        setattr(TimedCallbackList, _name, _timed(getattr(keras.callbacks.CallbackList, _name)))


def seconds_per_epoch(data, epochs, callbacks):
    """(median seconds of the epochs after the first, seconds per epoch inside the callbacks' hooks)."""
    (x, y), val = data
    times = []
    m = model()
    cbs = TimedCallbackList(callbacks, add_history=True, model=m, verbose=0, epochs=epochs, steps=-(-len(x) // 64))
    cbs.append(epoch_timer(keras, times))
    cbs.append(epoch_timer(keras, []))  # the timer's own cost, once more, to be taken off
    m.fit(x, y, batch_size=64, epochs=epochs, validation_data=val, verbose=0, callbacks=cbs)
    return statistics.median(times[1:]), cbs.spent / epochs


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    data = load()
    ways = {"none": lambda d: [], "built-ins": builtins, "batch hook": lambda d: [BatchHook()]}
    results = {name: [] for name in ways}
    hook_time = {name: [] for name in ways}
    with tempfile.TemporaryDirectory() as workdir:
        for _ in range(args.rounds):
            for name, make in ways.items():
                callbacks = make(workdir)  # made outside the timing (TensorBoard imports tensorboardX)
                epoch, hooks = seconds_per_epoch(data, args.epochs, callbacks)
                results[name].append(epoch)
                hook_time[name].append(hooks)
    base = statistics.median(results["none"])
    base_hooks = statistics.median(hook_time["none"])  # History and the epoch timers themselves
    checkpoint = " + ModelCheckpoint" if hasattr(keras.callbacks, "ModelCheckpoint") else ""
    print(f"fit of the guide's MLP, 50k rows, batch 64, validation each epoch; medians of {args.rounds} rounds "
          f"(each the median of epochs 2..{args.epochs})")
    print(f"{'callbacks':<52} {'s/epoch':>8} {'vs none':>8} {'in hooks':>10} {'share':>7}")
    labels = {"none": "none", "built-ins": f"EarlyStopping + CSVLogger + TensorBoard{checkpoint}",
              "batch hook": "user on_train_batch_end (Python every batch)"}
    for name, times in results.items():
        t = statistics.median(times)
        hooks = statistics.median(hook_time[name]) - base_hooks
        print(f"{labels[name]:<52} {t:8.3f} {t / base:7.2f}x {hooks * 1e3:7.2f} ms {hooks / t:6.1%}")


if __name__ == "__main__":
    main()
