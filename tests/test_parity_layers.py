"""Parity of each new layer with Keras 3 on TensorFlow, given the same weights and inputs: outputs,
gradients of sum(output * r) w.r.t. the float inputs and every weight, the weights' names and order,
and get_config. Keras runs once, in a subprocess (skipped where tensorflow is not installed)."""
import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import fastfit as tf
from fastfit import layers  # noqa: F401 - the layer expressions below are evaluated with it

pytestmark = pytest.mark.skipif(importlib.util.find_spec("tensorflow") is None, reason="tensorflow is not installed")

# (layer expression, evaluated with `layers` being fastfit's or Keras', input shapes; "i" marks int32 ids)
CASES = [
    ("layers.Flatten()", [(2, 3, 4, 5)]),
    ("layers.Flatten(data_format='channels_first')", [(2, 3, 4, 5)]),
    ("layers.Reshape((-1, 2))", [(3, 4, 3)]),
    ("layers.Permute((3, 1, 2))", [(2, 3, 4, 5)]),
    ("layers.RepeatVector(3)", [(4, 5)]),
    ("layers.ZeroPadding2D(((1, 2), (0, 3)))", [(2, 5, 4, 3)]),
    ("layers.ZeroPadding2D(1, data_format='channels_first')", [(2, 3, 4, 5)]),
    ("layers.UpSampling2D((2, 3))", [(2, 3, 4, 2)]),
    ("layers.UpSampling2D(2, data_format='channels_first')", [(1, 2, 3, 4)]),
    ("layers.Cropping2D(((1, 0), (2, 1)))", [(2, 5, 6, 3)]),
    ("layers.Cropping2D(1, data_format='channels_first')", [(2, 3, 4, 5)]),
    ("layers.Concatenate(axis=1)", [(2, 3, 4), (2, 5, 4)]),
    ("layers.Concatenate()", [(3, 2), (3, 4), (3, 1)]),
    ("layers.Add()", [(3, 4, 5), (3, 5)]),
    ("layers.Subtract()", [(3, 4), (3, 4)]),
    ("layers.Multiply()", [(3, 4), (3, 4), (3, 4)]),
    ("layers.Average()", [(3, 4), (3, 4), (3, 4)]),
    ("layers.Maximum()", [(3, 4), (3, 4), (3, 4)]),
    ("layers.Minimum()", [(5, 2, 3), (5, 2, 3)]),
    ("layers.Dot(axes=1)", [(4, 5), (4, 5)]),
    ("layers.Dot(axes=(2, 2))", [(3, 4, 5), (3, 6, 5)]),
    ("layers.Dot(axes=(1, 2), normalize=True)", [(3, 5, 4), (3, 6, 5)]),
    ("layers.Dot(axes=(2, 1))", [(2, 3, 4, 5), (2, 4, 6)]),
    ("layers.Dot(axes=-1, normalize=True)", [(4, 7), (4, 7)]),
    ("layers.Embedding(11, 4)", ["i", (3, 5)]),
    ("layers.LayerNormalization()", [(4, 6)]),
    ("layers.LayerNormalization(axis=[1, 2], center=False)", [(3, 4, 5)]),
    ("layers.LayerNormalization(axis=1, scale=False, epsilon=1e-5)", [(3, 4, 5)]),
    ("layers.Activation('tanh')", [(3, 4)]),
    ("layers.Activation('softmax')", [(3, 4)]),
    ("layers.Identity()", [(3, 4)]),
    ("layers.Lambda(lambda x: x * 2.0 + 1.0)", [(3, 4)]),
    ("layers.ReLU()", [(3, 4)]),
    ("layers.ReLU(max_value=0.5, negative_slope=0.1, threshold=0.2)", [(3, 4)]),
    ("layers.ReLU(max_value=6.0)", [(3, 4)]),
    ("layers.ReLU(negative_slope=0.2)", [(3, 4)]),
    ("layers.LeakyReLU()", [(3, 4)]),
    ("layers.LeakyReLU(negative_slope=0.05)", [(3, 4)]),
    ("layers.PReLU()", [(3, 4, 5)]),
    ("layers.PReLU(shared_axes=[1])", [(3, 4, 5)]),
    ("layers.Softmax()", [(3, 5)]),
    ("layers.Softmax(axis=1)", [(2, 4, 3)]),
    ("layers.Softmax(axis=(1, 2))", [(2, 4, 3)]),
    ("layers.Rescaling(0.5, offset=-1.0)", [(3, 4)]),
    ("layers.Normalization(mean=[0.5, -1.0, 2.0], variance=[4.0, 0.25, 1.0])", [(5, 3)]),
    ("layers.Normalization(axis=None, mean=0.5, variance=2.0, invert=True)", [(5, 3)]),
    ("layers.Normalization(axis=(1, 2), mean=[[1.0, 2.0], [3.0, 4.0], [0.0, 1.0]], "
     "variance=[[1.0, 2.0], [0.5, 4.0], [9.0, 1.0]])", [(2, 3, 2)]),
    ("layers.Cropping1D((1, 2))", [(2, 6, 3)]),
    ("layers.Cropping1D(2)", [(2, 6, 3)]),
    ("layers.ZeroPadding1D((2, 1))", [(2, 4, 3)]),
    ("layers.ZeroPadding1D(1, data_format='channels_first')", [(2, 4, 3)]),
    ("layers.UpSampling1D(3)", [(2, 4, 3)]),
    ("layers.CategoryEncoding(12, output_mode='one_hot')", ["i", (6,)]),
    ("layers.CategoryEncoding(12, output_mode='multi_hot')", ["i", (4, 5)]),
    ("layers.CategoryEncoding(12, output_mode='count')", ["i", (4, 5)]),
    ("layers.ActivityRegularization(l1=0.1, l2=0.2)", [(3, 4)]),
    ("layers.GaussianNoise(0.3, seed=1)", [(3, 4)]),
    ("layers.GaussianDropout(0.3, seed=1)", [(3, 4)]),
    ("layers.AlphaDropout(0.2, seed=1)", [(3, 4)]),
    ("layers.SpatialDropout1D(0.3, seed=1)", [(2, 3, 4)]),
    ("layers.SpatialDropout2D(0.3, seed=1)", [(2, 3, 4, 5)]),
]

KERAS_SCRIPT = r"""
import json, os, sys
os.environ["KERAS_BACKEND"] = "tensorflow"
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np, keras, tensorflow as tf
from keras import layers
d, cases, out, meta = np.load(sys.argv[1]), json.loads(sys.argv[2]), {}, {}
for k, (expr, n_inputs, n_weights) in enumerate(cases):
    xs = [tf.constant(d[f"c{k}_x{i}"]) for i in range(n_inputs)]
    arg = xs if n_inputs > 1 else xs[0]
    layer = eval(expr)
    layer(arg)
    layer.set_weights([d[f"c{k}_w{j}"] for j in range(n_weights)])
    with tf.GradientTape(persistent=True) as tape:
        for x in xs:
            tape.watch(x)
        y = layer(arg)
        loss = tf.reduce_sum(y * d[f"c{k}_r"])
    out[f"c{k}_y"] = y.numpy()
    for i, x in enumerate(xs):
        if x.dtype.is_floating:
            out[f"c{k}_gx{i}"] = tape.gradient(loss, x).numpy()
    for j, w in enumerate(layer.weights):
        out[f"c{k}_gw{j}"] = tf.convert_to_tensor(tape.gradient(loss, w)).numpy()
    meta[k] = {"weights": [w.path.split("/")[-1] for w in layer.weights],
               "config": json.loads(json.dumps(layer.get_config(), default=str))}
np.savez(sys.argv[3], **out)
print(json.dumps(meta))
"""


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Each case run in fastfit and in Keras: {case index: (fastfit results, keras results, keras meta)}."""
    tmp = tmp_path_factory.mktemp("parity")
    rng = np.random.default_rng(0)
    arrays, ours, cases = {}, {}, []
    for k, (expr, specs) in enumerate(CASES):
        ids = specs[0] == "i"
        shapes = specs[1:] if ids else specs
        xs = [rng.integers(0, 11, s).astype(np.int32) if ids else rng.normal(size=s).astype(np.float32) for s in shapes]
        layer = eval(expr)
        inputs = [tf.constant(x) for x in xs]
        arg = inputs if len(inputs) > 1 else inputs[0]
        layer(arg)
        for j, w in enumerate(layer.weights):  # away from the initial values, so that the weights matter
            w.assign(rng.normal(size=w.shape).astype(np.float32))
            arrays[f"c{k}_w{j}"] = w.numpy()
        with tf.GradientTape(persistent=True) as tape:
            for t in inputs:
                tape.watch(t)
            y = layer(arg)
            r = rng.normal(size=y.shape).astype(np.float32)
            loss = tf.reduce_sum(y * r)
        res = {"y": y.numpy()}
        for i, t in enumerate(inputs):
            if not ids:
                res[f"gx{i}"] = tape.gradient(loss, t).numpy()
        for j, g in enumerate(tape.gradient(loss, layer.weights)):
            res[f"gw{j}"] = g.numpy()
        res["weights"] = [w.name for w in layer.weights]
        res["config"] = json.loads(json.dumps(layer.get_config(), default=str))
        ours[k] = res
        arrays.update({f"c{k}_x{i}": x for i, x in enumerate(xs)}, **{f"c{k}_r": r})
        cases.append((expr, len(xs), len(layer.weights)))
    np.savez(tmp / "in.npz", **arrays)
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="")
    proc = subprocess.run([sys.executable, "-c", KERAS_SCRIPT, str(tmp / "in.npz"), json.dumps(cases),
                           str(tmp / "out.npz")], capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    meta = json.loads(proc.stdout.strip().splitlines()[-1])
    theirs = {}
    with np.load(tmp / "out.npz") as results:
        for key in results.files:
            case, name = key.split("_", 1)
            theirs.setdefault(int(case[1:]), {})[name] = results[key]
    return {k: (ours[k], theirs[k], meta[str(k)]) for k in ours}


@pytest.mark.parametrize("k", range(len(CASES)), ids=[c[0] for c in CASES])
def test_layer_matches_keras(runs, k):
    ours, theirs, meta = runs[k]
    assert ours["weights"] == meta["weights"]
    assert sorted(key for key in ours if key[0] == "g") == sorted(key for key in theirs if key[0] == "g")
    np.testing.assert_allclose(ours["y"], theirs["y"], rtol=1e-5, atol=1e-5, err_msg="output")
    for key in theirs:
        np.testing.assert_allclose(ours[key], theirs[key], rtol=1e-4, atol=1e-5, err_msg=key)
    for key, value in ours["config"].items():
        if key not in ("name", "function"):
            assert same_config(value, meta["config"][key]), key


def same_config(ours, theirs):
    """Config values agree; in a nested config (an initializer's), keys only Keras has are at their
    default None (Keras 3.15's VarianceScaling `input_axes`, which fastfit leaves out)."""
    if isinstance(ours, dict) and isinstance(theirs, dict):
        return (all(k in theirs and same_config(v, theirs[k]) for k, v in ours.items())
                and all(theirs[k] is None for k in theirs if k not in ours))
    return ours == theirs

