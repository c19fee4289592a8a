"""Benchmark: the Keras guide's custom training loop (GradientTape), eager and under `tf.function`, in
fastfit, TensorFlow 2 (Keras 3) and PyTorch eager (1 and 2 threads; the faster counts).

The loop, as the guide writes it: Input(784) -> Dense(64, relu) -> Dense(64, relu) -> Dense(10) logits,
SGD(learning_rate=1e-3), SparseCategoricalCrossentropy(from_logits=True), SparseCategoricalAccuracy for
training and validation; `Dataset.from_tensor_slices((x, y)).shuffle(1024).batch(64)` over the first
50,000 Fashion-MNIST training images, validation on the last 10,000 (batch 64). An epoch: the training
steps (the loss read as a float every 200 steps, as the guide logs it), the training accuracy's result
and reset, the validation steps, their accuracy's result and reset. PyTorch runs the same model, loss,
optimizer and accuracies the idiomatic way: a randperm per epoch, indexed batches, no DataLoader.

Each run trains in its own subprocess; rounds run every row once, in turn, so load from outside falls
on all alike. The table shows medians over rounds of the median epoch after the first (epoch 1 traces
and warms up), and each row's time over fastfit's (tf.function and eager). Targets: fastfit under
tf.function at least 2x faster than PyTorch eager; fastfit eager at least 3x faster than TF eager.

Run:  cd /work/main && PYTHONPATH=python python bench/custom_loop.py [--epochs 3] [--repeats 3]
      [--rows fastfit-function,fastfit-eager,tf-function,tf-eager,torch-1,torch-2]
"""
import argparse
import json
import os
import statistics
import tempfile
import time

import numpy as np

import bench_common

BATCH = 64
LOG_EVERY = 200  # the guide prints the loss every 200 steps
ROWS = {  # worker name: label
    "fastfit-function": "fastfit, tf.function",
    "fastfit-eager": "fastfit, eager",
    "tf-function": "TensorFlow, tf.function",
    "tf-eager": "TensorFlow, eager",
    "torch-1": "PyTorch eager, 1 thread",
    "torch-2": "PyTorch eager, 2 threads",
}


# ---------------------------------------------------------------- worker side

def run_guide(tf, keras, layers, data, epochs, compiled):
    """The guide's loop in fastfit or TensorFlow (`tf`, `keras`, `layers` from either); seconds per epoch."""
    (x_train, y_train), (x_val, y_val) = data
    inputs = keras.Input(shape=(784,), name="digits")
    x = layers.Dense(64, activation="relu", name="dense_1")(inputs)
    x = layers.Dense(64, activation="relu", name="dense_2")(x)
    outputs = layers.Dense(10, name="predictions")(x)
    model = keras.Model(inputs=inputs, outputs=outputs)
    optimizer = keras.optimizers.SGD(learning_rate=1e-3)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    train_acc_metric = keras.metrics.SparseCategoricalAccuracy()
    val_acc_metric = keras.metrics.SparseCategoricalAccuracy()
    train_dataset = tf.data.Dataset.from_tensor_slices((x_train, y_train)).shuffle(buffer_size=1024).batch(BATCH)
    val_dataset = tf.data.Dataset.from_tensor_slices((x_val, y_val)).batch(BATCH)

    def train_step(x, y):
        with tf.GradientTape() as tape:
            logits = model(x, training=True)
            loss_value = loss_fn(y, logits)
        grads = tape.gradient(loss_value, model.trainable_weights)
        optimizer.apply_gradients(zip(grads, model.trainable_weights))
        train_acc_metric.update_state(y, logits)
        return loss_value

    def test_step(x, y):
        val_logits = model(x, training=False)
        val_acc_metric.update_state(y, val_logits)

    if compiled:
        train_step, test_step = tf.function(train_step), tf.function(test_step)
    times, losses = [], []
    for _ in range(epochs):
        t0 = time.perf_counter()
        for step, (x_batch_train, y_batch_train) in enumerate(train_dataset):
            loss_value = train_step(x_batch_train, y_batch_train)
            if step % LOG_EVERY == 0:
                losses.append(float(loss_value))
        train_acc = float(train_acc_metric.result())
        train_acc_metric.reset_state()
        for x_batch_val, y_batch_val in val_dataset:
            test_step(x_batch_val, y_batch_val)
        val_acc = float(val_acc_metric.result())
        val_acc_metric.reset_state()
        times.append(time.perf_counter() - t0)
    return {"epoch_times": times, "train_acc": train_acc, "val_acc": val_acc, "loss": losses[-1]}


def run_torch(threads, data, epochs):
    import torch
    from torch import nn
    torch.set_num_threads(threads)
    (x_train, y_train), (x_val, y_val) = data
    x_train, x_val = torch.from_numpy(x_train), torch.from_numpy(x_val)
    y_train, y_val = torch.from_numpy(y_train.astype(np.int64)), torch.from_numpy(y_val.astype(np.int64))
    model = nn.Sequential(nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    for layer in model[::2]:  # Keras' default initialisation
        nn.init.xavier_uniform_(layer.weight)
        nn.init.zeros_(layer.bias)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    times, losses = [], []
    for _ in range(epochs):
        t0 = time.perf_counter()
        perm = torch.randperm(len(x_train))
        correct = torch.zeros((), dtype=torch.int64)
        for step, i in enumerate(range(0, len(x_train), BATCH)):
            idx = perm[i:i + BATCH]
            x, y = x_train[idx], y_train[idx]
            logits = model(x)
            loss = loss_fn(logits, y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            correct += (logits.argmax(1) == y).sum()
            if step % LOG_EVERY == 0:
                losses.append(loss.item())
        train_acc = correct.item() / len(x_train)
        correct = 0
        with torch.no_grad():
            for i in range(0, len(x_val), BATCH):
                correct += (model(x_val[i:i + BATCH]).argmax(1) == y_val[i:i + BATCH]).sum().item()
        val_acc = correct / len(x_val)
        times.append(time.perf_counter() - t0)
    return {"epoch_times": times, "train_acc": train_acc, "val_acc": val_acc, "loss": losses[-1]}


def worker(name, data_path, epochs):
    """Trains one row and prints its results as one JSON line ({"missing": ...} if it can't import)."""
    d = np.load(data_path)
    data = (d["x_train"], d["y_train"]), (d["x_val"], d["y_val"])
    try:
        if name.startswith("torch-"):
            result = run_torch(int(name.split("-")[1]), data, epochs)
        else:
            if name.startswith("fastfit-"):
                import fastfit as tf
                import fastfit as keras
                from fastfit import layers
            else:
                import keras
                import tensorflow as tf
                from keras import layers
            result = run_guide(tf, keras, layers, data, epochs, compiled=name.endswith("-function"))
    except ImportError as e:
        result = {"missing": str(e)}
    print(json.dumps(result))


# ---------------------------------------------------------------- parent side

def run_worker(name, data_path, epochs):
    return bench_common.run_worker(__file__, name, data_path, epochs)

def measure(rows, data_path, epochs, repeats):
    """Per row: the median over rounds of each run's median epoch after the first, and the last run's
    accuracies; or the run's {"missing"/"error": ...}."""
    runs, failed = {name: [] for name in rows}, {}
    for _ in range(repeats):
        for name in rows:
            if name in failed:
                continue
            run = run_worker(name, data_path, epochs)
            if "missing" in run or "error" in run:
                failed[name] = run
                continue
            run["epoch"] = statistics.median(run.pop("epoch_times")[1:])
            runs[name].append(run)
    results = dict(failed)
    for name in rows:
        if runs[name]:
            results[name] = {**runs[name][-1], "epoch": statistics.median(r["epoch"] for r in runs[name])}
    return results


def print_table(rows, results):
    def seconds(name):
        r = results.get(name, {})
        return r.get("epoch")

    fn, eager = seconds("fastfit-function"), seconds("fastfit-eager")
    print(f"{'':<28}{'s/epoch':>9}{'/ ff fn':>9}{'/ ff eager':>11}{'train acc':>11}{'val acc':>9}")
    for name in rows:
        r = results[name]
        label = ROWS[name]
        if "missing" in r:
            print(f"{label:<28}not installed ({r['missing']})")
            continue
        if "error" in r:
            print(f"{label:<28}FAILED:\n" + "\n".join("    " + line for line in r["error"]))
            continue
        ratio_fn = f"{r['epoch'] / fn:.2f}x" if fn else "-"
        ratio_eager = f"{r['epoch'] / eager:.2f}x" if eager else "-"
        print(f"{label:<28}{r['epoch']:>9.3f}{ratio_fn:>9}{ratio_eager:>11}{r['train_acc']:>11.4f}{r['val_acc']:>9.4f}")
    torch = [seconds(n) for n in ("torch-1", "torch-2") if seconds(n)]
    print()
    if fn and torch:
        print(f"PyTorch eager (best of 1 and 2 threads) / fastfit tf.function: {min(torch) / fn:.2f}x (target: >= 2)")
    if eager and seconds("tf-eager"):
        print(f"TensorFlow eager / fastfit eager: {seconds('tf-eager') / eager:.2f}x (target: >= 3)")
    if fn and seconds("tf-function"):
        print(f"TensorFlow tf.function / fastfit tf.function: {seconds('tf-function') / fn:.2f}x")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=3, help="epochs per run (at least 2; the first is warm-up)")
    parser.add_argument("--repeats", type=int, default=3, help="rounds: runs of every row")
    parser.add_argument("--rows", default=",".join(ROWS), help="comma-separated rows to run (default: all)")
    parser.add_argument("--worker", choices=ROWS, help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker, args.data, args.epochs)
    rows = args.rows.split(",")
    unknown = [r for r in rows if r not in ROWS]
    if unknown or args.epochs < 2 or args.repeats < 1:
        parser.error(f"need --epochs >= 2, --repeats >= 1 and rows among {list(ROWS)} (unknown: {unknown})")

    from fastfit.datasets import fashion_mnist
    (x, y), _ = fashion_mnist.load_data()
    x = x.reshape(-1, 784).astype("float32") / 255
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        data_path = os.path.join(tmp, "fashion_mnist.npz")
        np.savez(data_path, x_train=x[:-10000], y_train=y[:-10000], x_val=x[-10000:], y_val=y[-10000:])
        results = measure(rows, data_path, args.epochs, args.repeats)
    print(f"The guide's custom loop (MLP 784-64-64-10, SGD, batch 64) on Fashion-MNIST: {args.epochs} epochs, "
          f"{args.repeats} round(s); medians of the epochs after the first.\n")
    print_table(rows, results)
    print(f"\nbenchmark took {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
