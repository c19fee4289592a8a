"""Benchmark on one GPU: fastfit against PyTorch eager and PyTorch with CUDA graphs, seconds per epoch.

Two MLPs on 50k synthetic samples (784 features, 10 classes; the labels follow the inputs, so the
accuracy rises), RMSprop(1e-3), sparse categorical crossentropy on softmax outputs (PyTorch: on logits,
its idiom), accuracy tracked on the device, data copied to the GPU once, reshuffled each epoch:
  seed      784-64-64-10,   batch 64   (the guide's model; launch-bound: the target is >= 5x PyTorch eager)
  compute   784-512-512-10, batch 256  (matrix-bound: the target is no slower than PyTorch's best)
PyTorch "graphs" captures its whole step (forward, loss, backward, RMSprop(capturable=True)) in one
CUDA graph and replays it per batch, copying each batch into the captured input first.

Each configuration trains `--epochs` epochs per framework, frameworks alternated over `--rounds`
rounds; s/epoch is the median over every epoch after each run's first (warm-up, capture). Ratios are
PyTorch / fastfit (above 1: fastfit is faster). The last lines are a short table; --json writes all.

Run (on a machine with a GPU):  python bench/gpu.py [--epochs 4] [--rounds 3] [--json out.json]
"""
import argparse
import json
import statistics
import sys
import time

import numpy as np

CONFIGS = {"seed": ((64, 64), 64), "compute": ((512, 512), 256)}
N, D, C = 50_000, 784, 10


def make_data(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(N, D)).astype("float32")
    w = rng.normal(size=(D, C)).astype("float32")
    y = (x @ w).argmax(1).astype("int32")  # a linear rule: learnable
    return x, y


# ------------------------------------------------------------------ fastfit

def run_fastfit(x, y, hidden, batch, epochs):
    import fastfit as keras
    from fastfit import layers
    if not keras.cuda.is_available():
        raise RuntimeError(f"fastfit sees no GPU: {keras.cuda.status()}")
    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=(D,))
    h = inputs
    for units in hidden:
        h = layers.Dense(units, activation="relu")(h)
    model = keras.Model(inputs, layers.Dense(C, activation="softmax")(h))
    model.compile(optimizer=keras.optimizers.RMSprop(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["sparse_categorical_accuracy"])
    times = []

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.t0)

    history = model.fit(x, y, batch_size=batch, epochs=epochs, verbose=0, callbacks=[Timer()])
    program = next(r.program for k, r in model._programs.items() if k[0] == "train")
    assert program.device == "GPU", "fastfit trained on the CPU"
    return times, history.history["sparse_categorical_accuracy"][-1]


# ------------------------------------------------------------------ PyTorch

def torch_model(torch, hidden):
    layers, width = [], D
    for units in hidden:
        layers += [torch.nn.Linear(width, units), torch.nn.ReLU()]
        width = units
    return torch.nn.Sequential(*layers, torch.nn.Linear(width, C)).cuda()


def run_torch(x, y, hidden, batch, epochs, graphs):
    import torch
    torch.manual_seed(0)
    dev = torch.device("cuda")
    xs, ys = torch.from_numpy(x).to(dev), torch.from_numpy(y).long().to(dev)
    model = torch_model(torch, hidden)
    opt = torch.optim.RMSprop(model.parameters(), lr=1e-3, alpha=0.9, eps=1e-7, capturable=graphs)
    loss_fn = torch.nn.CrossEntropyLoss()
    correct = torch.zeros((), device=dev, dtype=torch.int64)

    def step(xb, yb):
        opt.zero_grad(set_to_none=not graphs)
        logits = model(xb)
        loss = loss_fn(logits, yb)
        loss.backward()
        opt.step()
        correct.add_((logits.argmax(1) == yb).sum())

    steps = N // batch
    if graphs:
        static_x, static_y = xs[:batch].clone(), ys[:batch].clone()
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):  # warm-up on a side stream, as PyTorch's docs capture
            for _ in range(3):
                step(static_x, static_y)
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            step(static_x, static_y)
    times, accuracy = [], 0.0
    for _ in range(epochs):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        correct.zero_()
        order = torch.randperm(N, device=dev)
        for s in range(steps):
            idx = order[s * batch:(s + 1) * batch]
            if graphs:
                static_x.copy_(xs[idx])
                static_y.copy_(ys[idx])
                graph.replay()
            else:
                step(xs[idx], ys[idx])
        accuracy = correct.item() / (steps * batch)  # the host waits here, once per epoch
        times.append(time.perf_counter() - t0)
    return times, accuracy


# ------------------------------------------------------------------ driver

RUNNERS = {
    "fastfit": lambda x, y, h, b, e: run_fastfit(x, y, h, b, e),
    "torch eager": lambda x, y, h, b, e: run_torch(x, y, h, b, e, graphs=False),
    "torch graphs": lambda x, y, h, b, e: run_torch(x, y, h, b, e, graphs=True),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", help="write every epoch's time here")
    parser.add_argument("--configs", default="seed,compute")
    args = parser.parse_args()
    x, y = make_data()
    results = {}
    for config in args.configs.split(","):
        hidden, batch = CONFIGS[config]
        for _ in range(args.rounds):  # frameworks alternated within each round
            for name, run in RUNNERS.items():
                entry = results.setdefault(config, {}).setdefault(name, {"epochs": [], "accuracy": None})
                try:
                    times, accuracy = run(x, y, hidden, batch, args.epochs)
                except Exception as e:  # report and go on: one failing framework must not hide the others
                    entry["error"] = f"{type(e).__name__}: {e}"
                    print(f"{config} {name}: {entry['error']}", file=sys.stderr, flush=True)
                    continue
                entry["epochs"] += times[1:]
                entry["accuracy"] = accuracy
                print(f"{config} {name}: {' '.join(f'{t:.4f}' for t in times)} s/epoch, accuracy {accuracy:.3f}",
                      flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    print(f"\n{'config':8} {'framework':13} {'s/epoch':>9} {'accuracy':>9} {'ratio':>7}")
    for config, by_name in results.items():
        ours = by_name.get("fastfit", {}).get("epochs")
        ours = statistics.median(ours) if ours else None
        for name, entry in by_name.items():
            if not entry["epochs"]:
                print(f"{config:8} {name:13} {'failed':>9}  {entry.get('error', '')[:60]}")
                continue
            t = statistics.median(entry["epochs"])
            ratio = f"{t / ours:7.2f}" if ours and name != "fastfit" else ""
            print(f"{config:8} {name:13} {t:9.4f} {entry['accuracy']:9.3f} {ratio}")
    print("ratio: PyTorch s/epoch / fastfit s/epoch (above 1: fastfit faster). Targets: seed >= 5 against torch "
          "eager; compute >= 1 against the faster torch.")


if __name__ == "__main__":
    main()
