"""Benchmark: one optimizer step (eager apply_gradients) on the seed model's 55,050 parameters
(784-64-64-10: six variables), per configuration, with ordinary gradients and with gradients whose
squares are denormal (velocities then decay through denormals in real training too).

Run against any checkout:  PYTHONPATH=python python bench/optimizer_step.py
Prints the median ns per step over 7 runs of 300 steps."""
import statistics
import time

import numpy as np

import fastfit as keras

SHAPES = [(784, 64), (64,), (64, 64), (64,), (64, 10), (10,)]
CONFIGS = [("SGD", {}), ("SGD", {"momentum": 0.9, "nesterov": True}), ("RMSprop", {}),
           ("RMSprop", {"momentum": 0.9, "centered": True}), ("Adam", {}), ("Adam", {"amsgrad": True})]


def ns_per_step(kind, cfg, gradient_scale, steps=300, runs=7):
    rng = np.random.default_rng(0)
    variables = [keras.Variable(rng.normal(size=s).astype("float32") * 0.1) for s in SHAPES]
    grads = [keras.constant(rng.normal(size=s).astype("float32") * gradient_scale) for s in SHAPES]
    optimizer = getattr(keras.optimizers, kind)(**cfg)
    pairs = list(zip(grads, variables))
    optimizer.apply_gradients(pairs)  # builds the state
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        for _ in range(steps):
            optimizer.apply_gradients(pairs)
        times.append((time.perf_counter() - t0) / steps * 1e9)
    assert all(np.isfinite(v.numpy()).all() for v in variables)
    return statistics.median(times)


if __name__ == "__main__":
    print(f"{'optimizer':45s} {'ns/step':>10s} {'denormal g^2':>14s}")
    for kind, cfg in CONFIGS:
        print(f"{kind + str(cfg):45s} {ns_per_step(kind, cfg, 1e-2):10.0f} {ns_per_step(kind, cfg, 1e-21):14.0f}")
