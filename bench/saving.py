"""Benchmark: model.save / load_model of a .keras file and save_weights, fastfit vs Keras 3 on TensorFlow.

Model: the guide's MLP widened (784 -> 512 relu -> 512 relu -> 10 softmax, 0.67 M parameters) compiled with
Adam and trained one step, so the file holds the weights and the optimizer state (about 8 MB). Each
framework runs in its own subprocess, repeating save, load and save_weights in turn; the subprocesses
alternate over several rounds. The medians over all rounds are printed, and the ratio Keras / fastfit
(above 1: fastfit is faster). fastfit's writes include the fsyncs that make them crash-safe.

Run:  PYTHONPATH=python python bench/saving.py [--repeats 7] [--rounds 3]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

SCRIPT = r"""
import json, os, sys, tempfile, time
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np
if sys.argv[1] == "fastfit":
    import fastfit as keras
else:
    import keras
layers = keras.layers
model = keras.Sequential([keras.Input(shape=(784,)), layers.Dense(512, activation="relu"),
                          layers.Dense(512, activation="relu"), layers.Dense(10, activation="softmax")])
model.compile(keras.optimizers.Adam(), "sparse_categorical_crossentropy")
model.fit(np.zeros((64, 784), "float32"), np.zeros(64, "int32"), batch_size=64, verbose=0)
folder = tempfile.mkdtemp()
path, weights = os.path.join(folder, "m.keras"), os.path.join(folder, "m.weights.h5")
times = {"save": [], "load_model": [], "save_weights": []}
for _ in range(int(sys.argv[2])):
    for name, run in (("save", lambda: model.save(path)), ("load_model", lambda: keras.models.load_model(path)),
                      ("save_weights", lambda: model.save_weights(weights))):
        t0 = time.perf_counter()
        run()
        times[name].append(time.perf_counter() - t0)
print(json.dumps(times | {"bytes": os.path.getsize(path)}))
"""


def run(framework, repeats):
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="")
    out = subprocess.run([sys.executable, "-c", SCRIPT, framework, str(repeats)], capture_output=True, text=True,
                         env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    times = {"fastfit": {}, "keras": {}}
    for _ in range(args.rounds):
        for framework, collected in times.items():
            for key, value in run(framework, args.repeats).items():
                collected.setdefault(key, []).extend(value if isinstance(value, list) else [value])
    ours, theirs = ({k: statistics.median(v) for k, v in t.items()} for t in (times["fastfit"], times["keras"]))
    print(f".keras file: fastfit {ours['bytes'] / 1e6:.1f} MB, Keras {theirs['bytes'] / 1e6:.1f} MB "
          f"({args.rounds} alternated rounds of {args.repeats})")
    for key in ("save", "load_model", "save_weights"):
        print(f"{key:13s} fastfit {ours[key] * 1e3:7.1f} ms   Keras 3 {theirs[key] * 1e3:7.1f} ms   "
              f"ratio {theirs[key] / ours[key]:5.2f}")


if __name__ == "__main__":
    main()
