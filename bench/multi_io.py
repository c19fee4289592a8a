"""Benchmark: the guide's multi-input, multi-output model and a small CNN, in fastfit, PyTorch eager
(1 and 2 threads; its best counts) and Keras 3 on TensorFlow.

- multi-io: img_input (32, 32, 3) -> Conv2D(3, 3) -> GlobalMaxPooling2D, ts_input (20, 10) ->
  Conv1D(3, 3) -> GlobalMaxPooling1D, concatenated -> Dense(1) "score_output" (MSE) and Dense(5)
  "class_output" (crossentropy), RMSprop(1e-3); 1,000 random samples, batch 32.
- cnn: Fashion-MNIST (50k), Conv2D 32 3x3 relu -> MaxPool 2 -> Conv2D 64 3x3 relu -> MaxPool 2 ->
  Flatten -> Dense 10 softmax, RMSprop(1e-3), batch 64.

Each run trains in its own subprocess; rounds run every row once, in turn; the table shows medians
over rounds of the epochs after the first, and each peer's time over fastfit's (above 1: fastfit is
faster). Target: at least 3x faster than the best peer on both models.

Run:  cd /work/main && PYTHONPATH=python python bench/multi_io.py [--epochs 3] [--repeats 3] [--models multi-io,cnn]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

from epoch_timer import epoch_timer

ENGINES = {"fastfit": "fastfit", "torch-1": "PyTorch eager, 1 thread", "torch-2": "PyTorch eager, 2 threads",
           "keras": "Keras 3 / TensorFlow"}


def keras_model(keras, name):
    layers = keras.layers
    if name == "multi-io":
        img = keras.Input(shape=(32, 32, 3), name="img_input")
        ts = keras.Input(shape=(None, 10), name="ts_input")
        x1 = layers.GlobalMaxPooling2D()(layers.Conv2D(3, 3)(img))
        x2 = layers.GlobalMaxPooling1D()(layers.Conv1D(3, 3)(ts))
        x = layers.concatenate([x1, x2])
        model = keras.Model([img, ts], [layers.Dense(1, name="score_output")(x),
                                        layers.Dense(5, activation="softmax", name="class_output")(x)])
        model.compile(keras.optimizers.RMSprop(1e-3),
                      loss=[keras.losses.MeanSquaredError(), keras.losses.CategoricalCrossentropy()])
        return model
    model = keras.Sequential([keras.Input(shape=(28, 28, 1)), layers.Conv2D(32, 3, activation="relu"),
                              layers.MaxPooling2D(2), layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(2),
                              layers.Flatten(), layers.Dense(10, activation="softmax")])
    model.compile(keras.optimizers.RMSprop(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def run_keras(engine, name, d, epochs):
    if engine == "keras":
        os.environ["KERAS_BACKEND"] = "tensorflow"
        import keras
    else:
        import fastfit as keras
    model = keras_model(keras, name)
    times = []

    if name == "multi-io":
        model.fit([d["img"], d["ts"]], [d["score"], d["cls"]], batch_size=32, epochs=epochs, verbose=0,
                  callbacks=[epoch_timer(keras, times)])
    else:
        model.fit(d["x"], d["y"], batch_size=64, epochs=epochs, verbose=0, callbacks=[epoch_timer(keras, times)])
    return times


def run_torch(threads, name, d, epochs):
    import torch
    from torch import nn
    torch.set_num_threads(threads)
    if name == "multi-io":
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv2d, self.conv1d = nn.Conv2d(3, 3, 3), nn.Conv1d(10, 3, 3)
                self.score, self.cls = nn.Linear(6, 1), nn.Linear(6, 5)

            def forward(self, img, ts):  # channels-last data, as Keras takes it
                x1 = self.conv2d(img.permute(0, 3, 1, 2)).amax(dim=(2, 3))
                x2 = self.conv1d(ts.permute(0, 2, 1)).amax(dim=2)
                x = torch.cat([x1, x2], 1)
                return self.score(x), torch.softmax(self.cls(x), 1)
        net = Net()
        data = [torch.from_numpy(d[k]) for k in ("img", "ts", "score", "cls")]
        batch = 32

        def loss_fn(out, tgt):
            return nn.functional.mse_loss(out[0], tgt[0]) - (tgt[1] * out[1].clamp(1e-7, 1).log()).sum(1).mean()
        inputs, targets = data[:2], data[2:]
    else:
        net = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
                            nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64 * 5 * 5, 10))
        inputs = [torch.from_numpy(d["x"]).permute(0, 3, 1, 2).contiguous()]
        targets = [torch.from_numpy(d["y"].astype(np.int64))]
        batch = 64
        ce = nn.CrossEntropyLoss()

        def loss_fn(out, tgt):
            return ce(out, tgt[0])
    opt = torch.optim.RMSprop(net.parameters(), lr=1e-3, alpha=0.9, eps=1e-7)
    n = len(targets[0])
    times = []
    for _ in range(epochs):
        t0 = time.perf_counter()
        perm = torch.randperm(n)
        for i in range(0, n, batch):
            idx = perm[i:i + batch]
            opt.zero_grad()
            out = net(*[a[idx] for a in inputs])
            loss_fn(out if isinstance(out, tuple) else out, [t[idx] for t in targets]).backward()
            opt.step()
        times.append(time.perf_counter() - t0)
    return times


def make_data(name, path):
    rng = np.random.default_rng(0)
    if name == "multi-io":
        np.savez(path, img=rng.random((1000, 32, 32, 3), dtype=np.float32), ts=rng.random((1000, 20, 10), dtype=np.float32),
                 score=rng.random((1000, 1), dtype=np.float32), cls=rng.random((1000, 5), dtype=np.float32))
    else:
        from fastfit.datasets import fashion_mnist
        (x, y), _ = fashion_mnist.load_data()
        np.savez(path, x=(x[:50000, :, :, None] / np.float32(255)).astype(np.float32), y=y[:50000])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--models", default="multi-io,cnn")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        engine, name = args.worker.split(":")
        d = dict(np.load(args.data))
        try:
            if engine.startswith("torch"):
                times = run_torch(int(engine[-1]), name, d, args.epochs)
            else:
                times = run_keras(engine, name, d, args.epochs)
        except ImportError as e:
            times = {"missing": str(e)}
        print(json.dumps(times))
        return
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.models.split(","):
            path = os.path.join(tmp, f"{name}.npz")
            make_data(name, path)
            results = {e: [] for e in ENGINES}
            failed = {}
            for _ in range(args.repeats):
                for engine in ENGINES:
                    if engine in failed:
                        continue
                    proc = subprocess.run([sys.executable, __file__, "--worker", f"{engine}:{name}", "--data", path,
                                           "--epochs", str(args.epochs)], capture_output=True, text=True,
                                          env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
                    lines = [l for l in proc.stdout.splitlines() if l.startswith(("[", "{"))]
                    out = json.loads(lines[-1]) if lines else {"error": proc.stderr.strip().splitlines()[-6:]}
                    if isinstance(out, dict):
                        failed[engine] = out
                    else:
                        results[engine].append(statistics.median(out[1:]))
            print(f"\n{name}: {args.epochs} epochs, {args.repeats} rounds, medians of the epochs after the first")
            base = statistics.median(results["fastfit"]) if results["fastfit"] else None
            for engine, label in ENGINES.items():
                if engine in failed:
                    print(f"  {label:<28}{'not installed' if 'missing' in failed[engine] else failed[engine]}")
                    continue
                t = statistics.median(results[engine])
                ratio = f"{t / base:6.2f}x fastfit's time" if base else ""
                print(f"  {label:<28}{t:8.4f} s/epoch  {ratio}")
            peers = [statistics.median(results[e]) for e in ENGINES if e != "fastfit" and results[e]]
            if base and peers:
                print(f"  best peer / fastfit: {min(peers) / base:.2f}x")


if __name__ == "__main__":
    main()
