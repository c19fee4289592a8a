"""A convolution op alone, single thread: forward and backward (kernel and bias gradients, as for a
first layer) per image, the minimum over repeats, for first-layer shapes: the Conv2D op (its whole
output written to memory) and the fused Conv2D+MaxPool2D op of compiled programs (its output made
block by block in cache), each checked against NumPy in float64 first. Compare builds by running it
with each one's PYTHONPATH in turn (the machine is noisy: alternate them).

    PYTHONPATH=python python bench/conv_direct.py [--batch 32] [--repeats 30] [--sweep]
"""
import argparse
import time

import numpy as np

import fastfit as tf
from fastfit import _core

FIRST_LAYER = [((28, 28, 1), (3, 3, 1, 32), {})]  # the Fashion-MNIST CNN's first convolution
# patch sizes and filter counts around the direct kernels' bounds
SWEEP = [((28, 28, c), (k, k, c, n), {}) for c, k in ((1, 3), (2, 3), (3, 3), (4, 3), (8, 3), (1, 5), (3, 5))
         for n in (16, 32, 64, 128)] + [
    ((32, 32, 3), (3, 3, 3, 32), dict(padding="same")), ((32, 32, 3), (3, 3, 3, 32), dict(strides=[2, 2]))]


def reference(op, x, w, b, strides=(1, 1), padding="valid"):
    """relu(conv2d(x, w) + b) in float64, channels last, then a 2x2 max pooling for the fused op."""
    x, (kh, kw) = x.astype(np.float64), w.shape[:2]
    if padding == "same":
        pads = [max((-(-n // s) - 1) * s + k - n, 0) for n, s, k in zip(x.shape[1:3], strides, (kh, kw))]
        x = np.pad(x, [(0, 0)] + [(p // 2, p - p // 2) for p in pads] + [(0, 0)])
    windows = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(1, 2))[:, ::strides[0], ::strides[1]]
    y = np.maximum(np.einsum("bhwcij,ijcn->bhwn", windows, w) + b, 0)
    if op == "conv2d":
        return y
    B, H, W, N = y.shape
    return y[:, :H // 2 * 2, :W // 2 * 2].reshape(B, H // 2, 2, W // 2, 2, N).max(axis=(2, 4))


def per_image(fn, batch, repeats):
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times) / batch * 1e6


def measure(op, image, kernel, attrs, batch, repeats):
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s).astype("float32") for s in ((batch,) + image, kernel, kernel[-1:])]
    x, w, b = (tf.constant(a) for a in arrays)
    forward = lambda: _core.apply(op, [x, w, b], activation="relu", **attrs)  # noqa: E731
    y = forward().numpy()
    np.testing.assert_allclose(y, reference(op, *arrays, **attrs), rtol=1e-4, atol=1e-4)
    dy = tf.constant(rng.standard_normal(y.shape).astype("float32"))

    def both():
        with tf.GradientTape() as tape:
            tape.watch(w)
            tape.watch(b)
            y = forward()
        tape.gradient(y, [w, b], output_gradients=dy)

    f = per_image(forward, batch, repeats)
    return f, per_image(both, batch, repeats) - f


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--sweep", action="store_true")
    args = parser.parse_args()
    tf.config.threading.set_intra_op_parallelism_threads(1)
    print(f"{'input':<14}{'kernel':<16}{'attrs':<22}{'op':<20}{'forward us':>12}{'backward us':>13}  (per image)")
    for image, kernel, attrs in SWEEP if args.sweep else FIRST_LAYER:
        for op in ("conv2d", "conv2d_max_pool2d"):
            f, b = measure(op, image, kernel, attrs, args.batch, args.repeats)
            print(f"{str(image):<14}{str(kernel):<16}{str(attrs):<22}{op:<20}{f:>12.2f}{b:>13.2f}")


if __name__ == "__main__":
    main()
