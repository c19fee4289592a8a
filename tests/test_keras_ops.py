"""keras.ops under Keras 3's names and tf.math / tf.nn under TensorFlow's: forward against NumPy in
float64, gradients against central differences, the places where the two APIs differ, activations by
name, and a functional model built from these ops compiled into fit's program."""
import importlib.util
import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
from scipy import special

import fastfit as tf
import fastfit as keras
from fastfit import layers, ops
from helpers import check_op, rand

RNG = np.random.default_rng(0)
X = rand(RNG, 3, 4, low=-2.0, high=2.0)


def np_softplus(x):
    return np.log1p(np.exp(-np.abs(x))) + np.maximum(x, 0)


def np_sigmoid(x):
    return 1 / (1 + np.exp(-x))


def np_gelu(x, approximate):
    if approximate:
        return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))
    return 0.5 * x * (1 + special.erf(x / np.sqrt(2)))


def np_elu(x, a=1.0):
    return np.where(x > 0, x, a * np.expm1(np.minimum(x, 0)))


def np_logsumexp(x, axis=None, keepdims=False):
    return special.logsumexp(x, axis=axis, keepdims=keepdims)


SMOOTH = {  # keras.ops function: NumPy reference
    "mean": (lambda x: ops.mean(x, axis=1), lambda x: np.mean(x, axis=1)),
    "sum": (lambda x: ops.sum(x, axis=0, keepdims=True), lambda x: np.sum(x, axis=0, keepdims=True)),
    "max": (lambda x: ops.max(x, axis=-1), lambda x: np.max(x, axis=-1)),
    "min": (lambda x: ops.min(x), np.min),
    "std": (lambda x: ops.std(x, axis=1), lambda x: np.std(x, axis=1)),
    "var": (lambda x: ops.var(x), np.var),
    "logsumexp": (lambda x: ops.logsumexp(x, axis=1), lambda x: np_logsumexp(x, axis=1)),
    "log_softmax": (lambda x: ops.log_softmax(x), lambda x: x - np_logsumexp(x, axis=-1, keepdims=True)),
    "norm": (lambda x: ops.norm(x, axis=1), lambda x: np.linalg.norm(x, axis=1)),
    "clip": (lambda x: ops.clip(x, -0.5, 0.7), lambda x: np.clip(x, -0.5, 0.7)),
    "take": (lambda x: ops.take(x, np.array([3, 0, 3]), axis=1), lambda x: np.take(x, [3, 0, 3], axis=1)),
    "take_flat": (lambda x: ops.take(x, np.array([[5, 1]])), lambda x: np.take(x, [[5, 1]])),
    "concatenate": (lambda x: ops.concatenate([x, x * 2.0]), lambda x: np.concatenate([x, x * 2])),
    "dot_mv": (lambda x: ops.dot(x, ops.convert_to_tensor(np.arange(4, dtype="float32"))),
               lambda x: x @ np.arange(4.0)),
    "softplus": (ops.softplus, np_softplus),
    "log1p": (lambda x: ops.log1p(x * x), lambda x: np.log1p(x * x)),
    "expm1": (ops.expm1, np.expm1),
    "erf": (ops.erf, special.erf),
    "silu": (ops.silu, lambda x: x * np_sigmoid(x)),
    "gelu_tanh": (ops.gelu, lambda x: np_gelu(x, True)),
    "gelu_erf": (lambda x: ops.gelu(x, approximate=False), lambda x: np_gelu(x, False)),
    "elu": (lambda x: ops.elu(x, 0.5), lambda x: np_elu(x, 0.5)),
    "selu": (ops.selu, lambda x: 1.0507009873554805 * np_elu(x, 1.6732632423543772)),
    "leaky_relu": (ops.leaky_relu, lambda x: np.where(x > 0, x, 0.2 * x)),
    "relu6": (lambda x: ops.relu6(x * 4.0), lambda x: np.clip(x * 4, 0, 6)),
    "hard_sigmoid": (ops.hard_sigmoid, lambda x: np.clip(x + 3, 0, 6) / 6),
    "softsign": (ops.softsign, lambda x: x / (1 + np.abs(x))),
    "mish": (ops.mish, lambda x: x * np.tanh(np_softplus(x))),
    "where": (lambda x: ops.where(x > 0.0, x * 3.0, -x), lambda x: np.where(x > 0, x * 3, -x)),
    "bce": (lambda x: ops.binary_crossentropy(ops.convert_to_tensor(np.full((3, 4), 0.25, "float32")), x,
                                              from_logits=True),
            lambda x: np.maximum(x, 0) - x * 0.25 + np.log1p(np.exp(-np.abs(x)))),
    "reduce_logsumexp": (lambda x: tf.math.reduce_logsumexp(x, axis=0), lambda x: np_logsumexp(x, axis=0)),
    "l2_normalize": (lambda x: tf.math.l2_normalize(x, axis=1),
                     lambda x: x / np.sqrt(np.sum(x * x, axis=1, keepdims=True))),
    "squared_difference": (lambda x: tf.math.squared_difference(x, 0.5), lambda x: (x - 0.5) ** 2),
    "l2_loss": (tf.nn.l2_loss, lambda x: np.sum(x * x) / 2),
    "sigmoid_ce": (lambda x: tf.nn.sigmoid_cross_entropy_with_logits(
        labels=ops.convert_to_tensor(np.full((3, 4), 0.75, "float32")), logits=x),
        lambda x: np.maximum(x, 0) - x * 0.75 + np.log1p(np.exp(-np.abs(x)))),
    "softmax_ce": (lambda x: tf.nn.softmax_cross_entropy_with_logits(
        labels=ops.convert_to_tensor(np.eye(4, dtype="float32")[[0, 2, 3]]), logits=x),
        lambda x: -np.sum(np.eye(4)[[0, 2, 3]] * (x - np_logsumexp(x, axis=1, keepdims=True)), axis=1)),
    "tf_gelu": (tf.nn.gelu, lambda x: np_gelu(x, False)),
}


@pytest.mark.parametrize("name", sorted(SMOOTH))
def test_forward_and_gradient(name):
    ff, ref = SMOOTH[name]
    check_op(ff, ref, [X], rtol=1e-5, atol=1e-5, grad_rtol=2e-3, grad_atol=2e-4)


STEPS = {"floor": np.floor, "ceil": np.ceil, "round": np.round, "sign": np.sign,
         "isnan": np.isnan, "isfinite": np.isfinite, "isinf": np.isinf}


@pytest.mark.parametrize("name", sorted(STEPS))
def test_step_functions_match_numpy_and_have_no_gradient(name):
    x = np.array([[-2.5, -1.5, -0.5, 0.0], [0.5, 1.5, 2.5, 3.7], [np.inf, -np.inf, np.nan, -0.2]], "float32")
    got = getattr(ops, name)(x).numpy()
    np.testing.assert_array_equal(got, STEPS[name](x).astype("float32"))  # round: half to even
    v = tf.Variable(X)
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(getattr(ops, name)(v))
    assert tape.gradient(y, v) is None


def test_argmax_follows_each_apis_default_axis():
    x = np.array([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]], "float32")
    np.testing.assert_array_equal(tf.argmax(x).numpy(), [1, 0, 1])          # TensorFlow: axis 0
    np.testing.assert_array_equal(tf.math.argmin(x).numpy(), [0, 1, 0])
    assert int(ops.argmax(x)) == 3 and int(ops.argmin(x)) == 4             # keras.ops: flattened
    np.testing.assert_array_equal(ops.argmax(x, axis=1, keepdims=True).numpy(), [[1], [0]])


def test_where_keeps_the_branch_not_taken_out_of_values_and_gradients():
    v = tf.Variable(np.array([-1.0, 50.0, 200.0], "float32"))
    with tf.GradientTape() as tape:
        y = ops.where(v > 100.0, 0.0 * v, ops.exp(v))  # exp(200) = inf where it is not taken
        total = tf.reduce_sum(ops.where(v > 100.0, v, ops.zeros_like(v)))
    out = y.numpy()
    assert np.isfinite(out[:2]).all() and out[2] == 0.0
    np.testing.assert_array_equal(tape.gradient(total, v).numpy(), [0.0, 0.0, 1.0])
    assert np.isfinite(ops.elu(np.array([100.0, -3.0], "float32")).numpy()).all()


def unbroadcast(g, shape):
    """The gradient of a value broadcast from `shape`: g summed over the axes broadcasting added or grew."""
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    for axis, n in enumerate(shape):
        if n == 1 and g.shape[axis] != 1:
            g = g.sum(axis=axis, keepdims=True)
    return g


@pytest.mark.parametrize("c_shape,x_shape,y_shape", [((3, 4), (3, 4), (3, 4)),   # no broadcasting: flat loops
                                                     ((3, 1), (1, 4), (3, 4)), ((4,), (3, 4), ())])
def test_where_values_and_gradients_with_and_without_broadcasting(c_shape, x_shape, y_shape):
    rng = np.random.default_rng(0)
    c, x, y = rng.normal(size=c_shape) > 0, rng.normal(size=x_shape), rng.normal(size=y_shape)
    tx, ty = tf.Variable(x.astype("float32")), tf.Variable(np.asarray(y, "float32"))
    g = rng.normal(size=np.broadcast_shapes(c_shape, x_shape, y_shape)).astype("float32")
    with tf.GradientTape() as tape:
        out = ops.where(c, tx, ty)
        total = tf.reduce_sum(out * g) + tf.reduce_sum(tx)  # x's gradient: two contributions added
    np.testing.assert_allclose(out.numpy(), np.where(c, x, y), rtol=1e-6)
    dx, dy = tape.gradient(total, [tx, ty])
    take = np.broadcast_to(c, g.shape)
    np.testing.assert_allclose(dx.numpy(), unbroadcast(np.where(take, g, 0), x_shape) + 1, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(dy.numpy(), unbroadcast(np.where(take, 0, g), y_shape), rtol=1e-5, atol=1e-6)


def test_keras_spellings_of_shared_functions():
    np.testing.assert_array_equal(ops.one_hot(np.array([2, 0]), num_classes=3).numpy(), np.eye(3)[[2, 0]])
    np.testing.assert_array_equal(tf.one_hot([1], depth=2).numpy(), [[0, 1]])
    assert ops.one_hot(np.array([1]), 2, dtype="int32").dtype_name == "int32"
    with pytest.raises(TypeError, match="num_classes"):
        ops.one_hot(np.array([1]))
    assert ops.reshape(X, newshape=(4, 3)).shape == (4, 3)
    assert ops.transpose(X, axes=(1, 0)).shape == (4, 3)
    assert ops.tile(X, repeats=(2, 1)).shape == (6, 4)
    assert ops.shape(X) == (3, 4) and ops.ndim(X) == 2
    np.testing.assert_array_equal(ops.arange(5).numpy(), np.arange(5))
    np.testing.assert_array_equal(ops.full((2, 2), 7.0).numpy(), np.full((2, 2), 7.0))
    np.testing.assert_array_equal(ops.ones_like(np.array([np.inf, np.nan], "float32")).numpy(), [1.0, 1.0])
    assert float(ops.any(X > 1.9)) in (0.0, 1.0) and float(ops.all(ops.abs(X) <= 2.0)) == 1.0


ACTIVATIONS = {"elu": lambda x: np_elu(x), "selu": SMOOTH["selu"][1], "gelu": lambda x: np_gelu(x, False),
               "softplus": np_softplus, "softsign": SMOOTH["softsign"][1], "swish": SMOOTH["silu"][1],
               "silu": SMOOTH["silu"][1], "leaky_relu": lambda x: np.where(x > 0, x, 0.2 * x),
               "relu6": lambda x: np.clip(x, 0, 6), "hard_sigmoid": SMOOTH["hard_sigmoid"][1],
               "mish": SMOOTH["mish"][1], "exponential": np.exp, "log_softmax": SMOOTH["log_softmax"][1]}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_dense_with_each_activation_by_name(name):
    keras.utils.set_random_seed(0)
    dense = layers.Dense(4, activation=name)
    out = dense(X).numpy()
    pre = X.astype(np.float64) @ dense.kernel.numpy() + dense.bias.numpy()
    np.testing.assert_allclose(out, ACTIVATIONS[name](pre), rtol=1e-5, atol=1e-6)


def test_relu_options_of_keras_activations():
    x = np.array([-2.0, 0.5, 3.0, 9.0], "float32")
    got = keras.activations.relu(x, negative_slope=0.1, max_value=5.0, threshold=1.0).numpy()
    np.testing.assert_allclose(got, [-0.3, -0.05, 3.0, 5.0], rtol=1e-6)


def test_a_model_written_with_keras_ops_compiles_into_fit():
    keras.utils.set_random_seed(1)
    inputs = keras.Input(shape=(8,))
    h = layers.Dense(16, activation="gelu")(inputs)
    h = ops.where(h > 0.0, h, ops.zeros_like(h)) + ops.mean(h, axis=-1, keepdims=True)
    outputs = layers.Dense(3)(ops.log_softmax(h))
    model = keras.Model(inputs, outputs)
    model.compile("adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x = RNG.normal(size=(64, 8)).astype("float32")
    y = RNG.integers(0, 3, 64)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        history = model.fit(x, y, batch_size=16, epochs=3, verbose=0).history
    assert not model._fallback_reasons
    assert history["loss"][-1] < history["loss"][0]


KERAS_SCRIPT = r"""
import json, os, sys
os.environ["KERAS_BACKEND"] = "tensorflow"
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np, keras
x = np.array(json.loads(sys.argv[1]), "float32")
names = json.loads(sys.argv[2])
print(json.dumps({n: np.asarray(keras.activations.get(n)(x)).tolist() for n in names}))
"""


@pytest.mark.skipif(importlib.util.find_spec("tensorflow") is None, reason="tensorflow is not installed")
def test_activations_match_keras():
    names = sorted(ACTIVATIONS) + ["hard_silu", "sigmoid", "tanh", "relu", "softmax", "linear"]
    proc = subprocess.run([sys.executable, "-c", KERAS_SCRIPT, json.dumps(X.tolist()), json.dumps(names)],
                          capture_output=True, text=True, env=dict(os.environ, CUDA_VISIBLE_DEVICES=""), timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ref = json.loads(proc.stdout.strip().splitlines()[-1])
    for n in names:
        np.testing.assert_allclose(ops.convert_to_numpy(getattr(keras.activations, n)(X)), ref[n], rtol=2e-6, atol=1e-6,
                                   err_msg=n)
        assert keras.activations.get(n) is getattr(keras.activations, n)  # get gives the function, as Keras
