"""Benchmark: the Keras training-guide MLP on Fashion-MNIST, fastfit vs PyTorch eager and Keras 3 (TF, JAX).

Model: Dense 784-64-64-10 (relu, relu, softmax), RMSprop(1e-3), sparse categorical crossentropy and accuracy,
batch 64, trained on the first 50k training images and validated each epoch on the last 10k.

Each framework trains in its own subprocess (`--worker NAME`), which prints one JSON line:
  s/epoch     median wall time of the epochs after the first (train + validation; epoch 1 includes
              warm-up/compile)
  predict     median of 5 predictions of the 10k test images, after a warm-up call: at the default batch
              size (32) and as one batch of 10k (PyTorch: one forward pass of all 10k under no_grad)
  peak MB     ru_maxrss of the training subprocess (it includes the ~220 MB float32 dataset)
  val         validation loss / accuracy after the last epoch, as a sanity check
Import time is the median of 3 fresh `python -c "import X"` runs. Ratios are peer / fastfit (above 1: fastfit
is faster). PyTorch runs at 1 and 2 threads; the faster counts as "PyTorch eager".

Two more fastfit rows: "fastfit + Dropout" trains the same model with Dropout(0.2) after each hidden
layer (ratio: its epoch against plain fastfit's), and with --baseline REF, "fastfit @REF" is the same
benchmark on another commit of fastfit, built into a temporary git worktree (ratio against this
checkout: above 1, this checkout is faster).

Run:  cd /work/main && PYTHONPATH=python python bench/seed_mlp.py [--epochs 3] [--repeats 1] [--baseline REF]
--repeats N reruns each training subprocess N times, the frameworks alternated within each round, and
reports the medians over the runs.
"""
import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

from bench_common import torch_fit
from epoch_timer import epoch_timer

BATCH = 64
PREDICT_REPEATS = 5
FRAMEWORKS = {  # worker name: (label, module whose import is timed, extra environment)
    "fastfit": ("fastfit", "fastfit", {}),
    "fastfit-dropout": ("fastfit + Dropout(0.2)", "fastfit", {}),
    "torch-1": ("PyTorch eager, 1 thread", "torch", {}),
    "torch-2": ("PyTorch eager, 2 threads", "torch", {}),
    "keras-tensorflow": ("Keras 3 / TensorFlow", "keras", {"KERAS_BACKEND": "tensorflow"}),
    "keras-jax": ("Keras 3 / JAX", "keras", {"KERAS_BACKEND": "jax"}),
}


# ---------------------------------------------------------------- worker side

def load_data(path):
    """(x_train, y_train), (x_val, y_val), x_test as (N, 784) float32 in [0, 1] and uint8 labels."""
    d = np.load(path)
    x = d["x"].reshape(-1, 784).astype("float32") / 255
    x_test = d["x_test"].reshape(-1, 784).astype("float32") / 255
    return (x[:-10000], d["y"][:-10000]), (x[-10000:], d["y"][-10000:]), x_test


def median_time(fn):
    """Median seconds of PREDICT_REPEATS calls of fn, after one warm-up call."""
    fn()
    times = []
    for _ in range(PREDICT_REPEATS):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def run_keras(keras, layers, data, epochs, dropout=False):
    (x_train, y_train), (x_val, y_val), x_test = data
    inputs = keras.Input(shape=(784,), name='digits')
    x = layers.Dense(64, activation='relu', name='dense_1')(inputs)
    if dropout:
        x = layers.Dropout(0.2)(x)
    x = layers.Dense(64, activation='relu', name='dense_2')(x)
    if dropout:
        x = layers.Dropout(0.2)(x)
    outputs = layers.Dense(10, activation='softmax', name='predictions')(x)
    model = keras.Model(inputs=inputs, outputs=outputs)
    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(),
                  metrics=[keras.metrics.SparseCategoricalAccuracy()])

    epoch_times = []

    history = model.fit(x_train, y_train, batch_size=BATCH, epochs=epochs, validation_data=(x_val, y_val),
                        verbose=0, callbacks=[epoch_timer(keras, epoch_times)])
    return {
        "epoch_times": epoch_times,
        "predict_b32": median_time(lambda: model.predict(x_test, verbose=0)),
        "predict_full": median_time(lambda: model.predict(x_test, batch_size=len(x_test), verbose=0)),
        "val_loss": history.history["val_loss"][-1],
        "val_acc": history.history["val_sparse_categorical_accuracy"][-1],
    }


def run_torch(torch, threads, data, epochs):
    from torch import nn
    torch.set_num_threads(threads)
    (x_train, y_train), (x_val, y_val), x_test = data
    x_train, x_val, x_test = (torch.from_numpy(a) for a in (x_train, x_val, x_test))
    y_train, y_val = (torch.from_numpy(a.astype(np.int64)) for a in (y_train, y_val))
    model = nn.Sequential(nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    for layer in model[::2]:  # Keras' default initialisation
        nn.init.xavier_uniform_(layer.weight)
        nn.init.zeros_(layer.bias)
    opt = torch.optim.RMSprop(model.parameters(), lr=1e-3, alpha=0.9, eps=1e-7)
    epoch_times, val_loss, val_acc = torch_fit(torch, model, opt, (x_train, y_train), (x_val, y_val), epochs, BATCH)

    def predict():
        with torch.no_grad():
            return model(x_test)

    return {"epoch_times": epoch_times, "predict_b32": None, "predict_full": median_time(predict),
            "val_loss": val_loss, "val_acc": val_acc}


def worker(name, data_path, epochs):
    """Trains one framework and prints its results as one JSON line ({"missing": ...} if it can't import)."""
    try:
        if name.startswith("fastfit"):
            import fastfit as keras
            from fastfit import layers
        elif name.startswith("keras-"):
            import keras
            from keras import layers
        else:
            import torch
    except ImportError as e:
        print(json.dumps({"missing": str(e)}))
        return
    data = load_data(data_path)
    if name.startswith("torch-"):
        result = run_torch(torch, int(name.split("-")[1]), data, epochs)
    else:
        result = run_keras(keras, layers, data, epochs, dropout=name == "fastfit-dropout")
    result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


# ---------------------------------------------------------------- parent side

def spawn(args, extra_env):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", **extra_env)
    return subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True)


def run_worker(name, data_path, epochs):
    """One training subprocess: a dict of results, {"missing": ...} or {"error": ...}."""
    worker = "fastfit" if name == "fastfit-baseline" else name
    proc = spawn([__file__, "--worker", worker, "--data", data_path, "--epochs", str(epochs)], FRAMEWORKS[name][2])
    lines = [l for l in proc.stdout.splitlines() if l.startswith("{")]
    if proc.returncode or not lines:
        return {"error": (proc.stderr or proc.stdout).strip().splitlines()[-20:]}
    return json.loads(lines[-1])


def import_time(module, extra_env):
    code = f"import time; t=time.perf_counter(); import {module}; print(time.perf_counter()-t)"
    return statistics.median(float(spawn(["-c", code], extra_env).stdout.split()[-1]) for _ in range(3))


def measure_all(data_path, args):
    """Medians over --repeats rounds; each round runs every framework once, in turn, so load from
    outside the benchmark falls on all of them alike. Plus each one's import time."""
    runs = {name: [] for name in FRAMEWORKS}
    failed = {}
    for _ in range(args.repeats):
        for name in FRAMEWORKS:
            if name in failed:
                continue
            run = run_worker(name, data_path, args.epochs)
            if "missing" in run or "error" in run:
                failed[name] = run
                continue
            run["epoch"] = statistics.median(run.pop("epoch_times")[1:])
            runs[name].append(run)
    results = {}
    for name in FRAMEWORKS:
        if name in failed:
            results[name] = failed[name]
            continue
        rs = runs[name]
        results[name] = {k: None if rs[0][k] is None else statistics.median(r[k] for r in rs) for k in rs[0]}
        results[name]["import"] = import_time(*FRAMEWORKS[name][1:])
    return results


def build_baseline(ref, tmp):
    """A checkout of `ref` built in place (tools/build_inplace.sh); returns its python/ folder."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    tree = os.path.join(tmp, "baseline")
    subprocess.run(["git", "-C", root, "worktree", "add", "--detach", tree, ref], check=True, capture_output=True)
    script = os.path.join(tree, "tools", "build_inplace.sh")
    if not os.path.exists(script):  # older commits: use this checkout's script on their sources
        os.makedirs(os.path.dirname(script), exist_ok=True)
        shutil.copy(os.path.join(root, "tools", "build_inplace.sh"), script)
    subprocess.run([script], check=True, capture_output=True)
    return os.path.join(tree, "python")


def remove_baseline(tmp):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    subprocess.run(["git", "-C", root, "worktree", "remove", "--force", os.path.join(tmp, "baseline")],
                   capture_output=True)


def print_table(results):
    base = results["fastfit"]
    ok = "error" not in base and "missing" not in base

    def cell(r, key, fmt="{:.3f}", ratio=False):
        if r[key] is None:
            return "-"
        if not ratio:
            return fmt.format(r[key])
        return "{:.2f}x".format(r[key] / base[key]) if ok and base[key] else "-"

    header = f"{'framework':<26}{'s/epoch':>9}{'ratio':>8}{'pred b32':>10}{'ratio':>8}{'pred 10k':>10}{'ratio':>8}" \
             f"{'import s':>10}{'peak MB':>9}{'val loss/acc':>15}"
    print(header)
    print("-" * len(header))
    for name, r in results.items():
        label = FRAMEWORKS[name][0]
        if "missing" in r:
            print(f"{label:<26}not installed ({r['missing']})")
        elif "error" in r:
            print(f"{label:<26}FAILED:")
            print("\n".join("    " + l for l in r["error"]))
        else:
            print(f"{label:<26}{cell(r, 'epoch'):>9}{cell(r, 'epoch', ratio=True):>8}"
                  f"{cell(r, 'predict_b32', '{:.4f}'):>10}{cell(r, 'predict_b32', ratio=True):>8}"
                  f"{cell(r, 'predict_full', '{:.4f}'):>10}{cell(r, 'predict_full', ratio=True):>8}"
                  f"{cell(r, 'import', '{:.2f}'):>10}{cell(r, 'peak_mb', '{:.0f}'):>9}"
                  f"{r['val_loss']:>9.4f}/{r['val_acc']:.4f}")
    drop = results.get("fastfit-dropout", {})
    if ok and "epoch" in drop:
        print(f"\nfastfit + Dropout(0.2): {drop['epoch'] / base['epoch']:.3f}x the plain model's epoch time")
    if "fastfit-baseline" in results and ok and "epoch" in results["fastfit-baseline"]:
        old = results["fastfit-baseline"]
        print(f"this checkout vs {FRAMEWORKS['fastfit-baseline'][0]}: epoch {old['epoch'] / base['epoch']:.3f}x, "
              f"predict 10k {old['predict_full'] / base['predict_full']:.3f}x (above 1: this checkout is faster)")
    torch_runs = [(results[n]["epoch"], n) for n in ("torch-1", "torch-2") if "epoch" in results[n]]
    if torch_runs:
        name = min(torch_runs)[1]
        best = results[name]
        print(f"\nPyTorch eager (best of 1 and 2 threads) = {FRAMEWORKS[name][0]}: {best['epoch']:.3f} s/epoch, "
              f"{cell(best, 'epoch', ratio=True)} fastfit per epoch, {cell(best, 'predict_full', ratio=True)} predict")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=3, help="epochs per run (at least 2; the first is warm-up)")
    parser.add_argument("--repeats", type=int, default=1, help="training subprocesses per framework")
    parser.add_argument("--baseline", metavar="REF", help="also benchmark this git commit of fastfit")
    parser.add_argument("--worker", choices=FRAMEWORKS, help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker, args.data, args.epochs)
    if args.epochs < 2 or args.repeats < 1:
        parser.error("need --epochs >= 2 and --repeats >= 1")

    from fastfit.datasets import fashion_mnist
    (x_train, y_train), (x_test, _) = fashion_mnist.load_data()
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        data_path = os.path.join(tmp, "fashion_mnist.npz")
        np.savez(data_path, x=x_train, y=y_train, x_test=x_test)
        if args.baseline:
            path = build_baseline(args.baseline, tmp)
            FRAMEWORKS["fastfit-baseline"] = (f"fastfit @{args.baseline}", "fastfit", {"PYTHONPATH": path})
        try:
            results = measure_all(data_path, args)
        finally:
            if args.baseline:
                remove_baseline(tmp)
    print(f"MLP 784-64-64-10 on Fashion-MNIST, batch {BATCH}, {args.epochs} epochs, {args.repeats} run(s) each; "
          f"medians. Ratios: peer / fastfit.\n")
    print_table(results)
    print(f"\nbenchmark took {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
