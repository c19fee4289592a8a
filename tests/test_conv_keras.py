"""Parity of the convolution and pooling layers with Keras 3 on TensorFlow (skips without tensorflow):
given the same weights and inputs, the outputs and the gradients of sum(outputs * r) with respect to
the inputs and every weight agree to ~1e-5, and the configs have Keras' keys. Keras runs in one
subprocess, so TensorFlow never enters this one."""
import importlib.util
import json
import subprocess
import sys

import numpy as np
import pytest

import fastfit as keras
from fastfit import layers

pytestmark = pytest.mark.skipif(importlib.util.find_spec("tensorflow") is None, reason="tensorflow is not installed")

CASES = [  # (layer class, arguments, input shape)
    ("Conv2D", dict(filters=4, kernel_size=3), (2, 7, 7, 3)),
    ("Conv2D", dict(filters=5, kernel_size=(3, 2), strides=2, padding="same", activation="relu"), (2, 8, 7, 2)),
    ("Conv2D", dict(filters=3, kernel_size=3, dilation_rate=2, padding="same", use_bias=False), (1, 9, 8, 2)),
    ("Conv2D", dict(filters=4, kernel_size=1, activation="sigmoid"), (2, 4, 5, 3)),
    ("Conv2D", dict(filters=6, kernel_size=5, activation="softmax"), (1, 5, 5, 2)),
    ("Conv1D", dict(filters=4, kernel_size=3, padding="causal", dilation_rate=2), (2, 10, 3)),
    ("Conv1D", dict(filters=3, kernel_size=4, strides=2, padding="same", activation="tanh"), (2, 9, 2)),
    ("Conv2DTranspose", dict(filters=3, kernel_size=3, strides=2, padding="same"), (2, 4, 5, 2)),
    ("Conv2DTranspose", dict(filters=2, kernel_size=(3, 2), strides=(2, 3)), (1, 3, 4, 3)),
    ("Conv2DTranspose", dict(filters=2, kernel_size=3, strides=2, output_padding=1, padding="same"), (1, 3, 3, 2)),
    ("Conv2DTranspose", dict(filters=2, kernel_size=4, strides=2, padding="same", activation="relu"), (1, 3, 4, 2)),
    ("Conv2DTranspose", dict(filters=2, kernel_size=2, strides=3, output_padding=(2, 1)), (2, 2, 3, 1)),
    ("Conv2DTranspose", dict(filters=2, kernel_size=3, dilation_rate=2, padding="same"), (1, 4, 4, 2)),
    ("DepthwiseConv2D", dict(kernel_size=3, depth_multiplier=2, padding="same"), (2, 6, 5, 3)),
    ("DepthwiseConv2D", dict(kernel_size=3, strides=2, activation="relu"), (1, 7, 7, 4)),
    ("DepthwiseConv2D", dict(kernel_size=(2, 3), dilation_rate=2, use_bias=False), (1, 6, 7, 2)),
    ("SeparableConv2D", dict(filters=5, kernel_size=3, depth_multiplier=2, padding="same", activation="tanh"),
     (2, 6, 6, 3)),
    ("SeparableConv2D", dict(filters=4, kernel_size=3, strides=2), (1, 7, 8, 2)),
    ("MaxPooling2D", {}, (2, 6, 7, 3)),
    ("MaxPooling2D", dict(pool_size=3, strides=2, padding="same"), (1, 7, 6, 2)),
    ("AveragePooling2D", dict(pool_size=3, strides=2, padding="same"), (1, 7, 6, 2)),
    ("AveragePooling2D", dict(pool_size=(2, 3)), (2, 6, 7, 2)),
    ("MaxPooling1D", dict(pool_size=3, strides=2, padding="same"), (2, 8, 3)),
    ("AveragePooling1D", dict(pool_size=3, strides=2, padding="same"), (2, 8, 3)),
    ("GlobalMaxPooling2D", {}, (2, 4, 5, 3)),
    ("GlobalAveragePooling2D", dict(keepdims=True), (2, 4, 5, 3)),
    ("GlobalMaxPooling1D", dict(keepdims=True), (2, 6, 3)),
    ("GlobalAveragePooling1D", {}, (2, 6, 3)),
]

KERAS_SCRIPT = r"""
import json, os, sys
os.environ["KERAS_BACKEND"] = "tensorflow"
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np, keras, tensorflow as tf
cases, d, out, keys = json.load(open(sys.argv[1])), np.load(sys.argv[2]), {}, []
for i, (cls, kwargs, _) in enumerate(cases):
    layer = getattr(keras.layers, cls)(**kwargs)
    keys.append(sorted(layer.get_config()))
    x, r = tf.constant(d[f"x{i}"]), tf.constant(d[f"r{i}"])
    layer.build(x.shape)
    layer.set_weights([d[f"w{i}_{j}"] for j in range(len(layer.weights))])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x)
        loss = tf.reduce_sum(y * r)
    out[f"y{i}"] = y.numpy()
    for j, g in enumerate(tape.gradient(loss, [x] + layer.weights)):
        out[f"g{i}_{j}"] = g.numpy()
np.savez(sys.argv[3], **out)
json.dump(keys, open(sys.argv[4], "w"))
"""


def fastfit_run(i, cls, kwargs, shape):
    """The layer on seeded inputs: its inputs, weights, r, outputs, gradients and config."""
    keras.utils.set_random_seed(i)
    rng = np.random.default_rng(i)
    layer = getattr(layers, cls)(**kwargs)
    x = keras.constant(rng.normal(size=shape).astype("float32"))
    layer(x)
    weights = [(w + rng.normal(scale=0.1, size=w.shape)).astype("float32") for w in layer.get_weights()]
    layer.set_weights(weights)  # nonzero biases
    with keras.GradientTape() as tape:
        tape.watch(x)
        y = layer(x)
        r = rng.normal(size=y.shape).astype("float32")
        loss = keras.reduce_sum(y * keras.constant(r))
    grads = tape.gradient(loss, [x] + layer.weights)
    return x.numpy(), weights, r, y.numpy(), [g.numpy() for g in grads], layer.get_config()


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("keras_conv")
    ours, arrays = [], {}
    for i, (cls, kwargs, shape) in enumerate(CASES):
        x, weights, r, y, grads, config = fastfit_run(i, cls, kwargs, shape)
        ours.append((y, grads, sorted(config)))
        arrays.update({f"x{i}": x, f"r{i}": r, **{f"w{i}_{j}": w for j, w in enumerate(weights)}})
    (tmp / "cases.json").write_text(json.dumps(CASES))
    np.savez(tmp / "in.npz", **arrays)
    (tmp / "run.py").write_text(KERAS_SCRIPT)
    proc = subprocess.run([sys.executable, str(tmp / "run.py"), str(tmp / "cases.json"), str(tmp / "in.npz"),
                           str(tmp / "out.npz"), str(tmp / "keys.json")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return ours, np.load(tmp / "out.npz"), json.loads((tmp / "keys.json").read_text())


@pytest.mark.parametrize("i", range(len(CASES)), ids=[f"{c}-{'-'.join(f'{k}={v}' for k, v in a.items())}"
                                                      for c, a, _ in CASES])
def test_layer_matches_keras(results, i):
    ours, theirs, keys = results
    y, grads, config_keys = ours[i]
    assert config_keys == keys[i]
    np.testing.assert_allclose(y, theirs[f"y{i}"], rtol=1e-5, atol=1e-5)
    for j, g in enumerate(grads):
        np.testing.assert_allclose(g, theirs[f"g{i}_{j}"], rtol=1e-5, atol=1e-5, err_msg=f"gradient {j}")
