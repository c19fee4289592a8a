"""The guide's endpoint-layer pattern: a layer that takes the targets as an input and adds the loss
itself (`add_loss`), a model compiled with no loss and fit on a dict of inputs with no `y`. Also the
gradients of crossentropies with respect to their targets, which that pattern differentiates."""
import importlib.util
import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

import fastfit as keras
import fastfit as tf
from fastfit import layers
from fastfit.models.tracing import CompiledRunner
from helpers import runner_of


class LogisticEndpoint(keras.layers.Layer):
    """As the Keras 3 guide writes it."""

    def __init__(self, name=None):
        super().__init__(name=name)
        self.loss_fn = keras.losses.BinaryCrossentropy(from_logits=True)

    def call(self, targets, logits, sample_weights=None):
        loss = self.loss_fn(targets, logits, sample_weights)
        self.add_loss(loss)
        return keras.ops.softmax(logits)


class LogisticEndpointWithAccuracy(LogisticEndpoint):
    """As the TF 2 guide writes it: a built-in metric called inside the layer, its running value logged
    with add_metric."""

    def __init__(self, name=None):
        super().__init__(name=name)
        self.accuracy_fn = keras.metrics.BinaryAccuracy()

    def call(self, targets, logits, sample_weights=None):
        out = super().call(targets, logits, sample_weights)
        self.add_metric(self.accuracy_fn(targets, logits, sample_weights), name="accuracy")
        return out


def endpoint_model(endpoint=LogisticEndpoint, seed=3, swap=False):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape=(3,), name="inputs")
    targets = keras.Input(shape=(10,), name="targets")
    logits = keras.layers.Dense(10)(inputs)
    # The TF 2 guide passes (logits, targets): the Dense output lands in `targets`.
    predictions = endpoint(name="predictions")(*((logits, targets) if swap else (targets, logits)))
    return keras.Model(inputs=[inputs, targets], outputs=predictions)


def endpoint_data(n=96, seed=0):
    rng = np.random.default_rng(seed)
    return {"inputs": rng.random((n, 3)).astype("float32"), "targets": rng.random((n, 10)).astype("float32")}


def test_a_model_compiled_without_a_loss_trains_on_its_added_loss_compiled():
    data = endpoint_data()
    histories = []
    for eager in (False, True):
        model = endpoint_model()
        model.compile(optimizer="adam", run_eagerly=eager)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no fallback
            histories.append(model.fit(data, batch_size=16, epochs=3, shuffle=False, verbose=0).history)
        if not eager:
            assert not model._fallback_reasons, model._fallback_reasons
            assert isinstance(runner_of(model, "train"), CompiledRunner)
    compiled, eager = histories
    assert list(compiled) == ["loss"]
    assert compiled["loss"][-1] < compiled["loss"][0]
    np.testing.assert_allclose(compiled["loss"], eager["loss"], rtol=1e-5)
    preds = model.predict(data, verbose=0)
    np.testing.assert_allclose(preds.sum(axis=1), 1.0, rtol=1e-5)


def test_the_tf2_guides_endpoint_with_a_metric_inside_runs_and_logs_it():
    data = endpoint_data(n=3)
    model = endpoint_model(LogisticEndpointWithAccuracy, swap=True)
    model.compile(optimizer="adam")
    history = model.fit(data, verbose=0).history
    assert sorted(history) == ["accuracy", "loss"]
    # The reference: the same call computed by hand (the Dense output is `targets`, as the guide wires it).
    fresh = endpoint_model(LogisticEndpointWithAccuracy, swap=True)
    dense = fresh.layers[2] if isinstance(fresh.layers[2], layers.Dense) else fresh.layers[1]
    z = data["inputs"] @ dense.kernel.numpy() + dense.bias.numpy()
    x = data["targets"]  # the logits of BCE
    bce = np.mean(np.maximum(x, 0) - x * z + np.log1p(np.exp(-np.abs(x))))
    np.testing.assert_allclose(history["loss"][0], bce, rtol=1e-5)
    acc = np.mean(z == (x > 0.5))  # BinaryAccuracy(y_true=z, y_pred=x): y_pred thresholded at 0.5
    np.testing.assert_allclose(history["accuracy"][0], acc, atol=1e-6)


def test_the_gradient_reaches_a_dense_layer_wired_as_the_targets():
    """TF differentiates crossentropies with respect to the targets; the TF 2 guide's wiring relies on it."""
    data = endpoint_data(n=3)
    model = endpoint_model(swap=True)
    model.compile(optimizer=keras.optimizers.SGD(0.1))
    before = [w.copy() for w in model.get_weights()]
    model.fit(data, verbose=0)
    assert all(not np.allclose(a, b) for a, b in zip(before, model.get_weights()))


@pytest.mark.parametrize("from_logits", [True, False])
@pytest.mark.parametrize("loss", ["binary", "categorical"])
def test_crossentropy_gradient_with_respect_to_the_targets_matches_finite_differences(loss, from_logits):
    rng = np.random.default_rng(1)
    y = rng.random((4, 5)).astype(np.float64)
    p = rng.random((4, 5)) * 0.8 + 0.1
    if from_logits:
        p = rng.normal(size=(4, 5))
    fn = keras.losses.binary_crossentropy if loss == "binary" else keras.losses.categorical_crossentropy

    def value(yy):
        return float(np.sum(fn(tf.constant(yy.astype(np.float32)), tf.constant(p.astype(np.float32)),
                               from_logits=from_logits).numpy()))

    target = tf.Variable(y.astype(np.float32))
    with tf.GradientTape() as tape:
        total = tf.reduce_sum(fn(target, tf.constant(p.astype(np.float32)), from_logits=from_logits))
    grad = tape.gradient(total, target).numpy()
    eps = 1e-3
    numeric = np.zeros_like(y)
    for idx in np.ndindex(*y.shape):
        hi, lo = y.copy(), y.copy()
        hi[idx] += eps
        lo[idx] -= eps
        numeric[idx] = (value(hi) - value(lo)) / (2 * eps)
    np.testing.assert_allclose(grad, numeric, rtol=2e-2, atol=2e-3)


def test_no_loss_at_all_is_a_clear_error():
    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=(3,))
    model = keras.Model(inputs, layers.Dense(2)(inputs))
    model.compile(optimizer="adam")
    with pytest.raises(ValueError, match="No loss to compute"):
        model.fit(np.zeros((8, 3), "float32"), verbose=0)


def test_a_compiled_loss_still_needs_y():
    model = endpoint_model()
    model.compile(optimizer="adam", loss="mse")
    with pytest.raises(ValueError, match="`y` is required"):
        model.fit(endpoint_data(), verbose=0)


KERAS_SCRIPT = r"""
import json, os, sys
os.environ["KERAS_BACKEND"] = "tensorflow"
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np, keras
d = np.load(sys.argv[1])

class LogisticEndpoint(keras.layers.Layer):
    def __init__(self, name=None):
        super().__init__(name=name)
        self.loss_fn = keras.losses.BinaryCrossentropy(from_logits=True)
    def call(self, targets, logits, sample_weights=None):
        self.add_loss(self.loss_fn(targets, logits, sample_weights))
        return keras.ops.softmax(logits)

inputs = keras.Input(shape=(3,), name="inputs")
targets = keras.Input(shape=(10,), name="targets")
logits = keras.layers.Dense(10)(inputs)
model = keras.Model(inputs=[inputs, targets], outputs=LogisticEndpoint(name="predictions")(targets, logits))
model.layers[1 if isinstance(model.layers[1], keras.layers.Dense) else 2].set_weights([d["k"], d["b"]])
model.compile(optimizer="adam")
h = model.fit({"inputs": d["inputs"], "targets": d["targets"]}, batch_size=16, epochs=3, shuffle=False, verbose=0)
print(json.dumps(h.history))
"""


@pytest.mark.skipif(importlib.util.find_spec("tensorflow") is None, reason="tensorflow is not installed")
def test_the_endpoint_model_matches_keras(tmp_path):
    data = endpoint_data()
    model = endpoint_model()
    dense = next(l for l in model.layers if isinstance(l, layers.Dense))
    np.savez(tmp_path / "d.npz", k=dense.kernel.numpy(), b=dense.bias.numpy(), **data)
    proc = subprocess.run([sys.executable, "-c", KERAS_SCRIPT, str(tmp_path / "d.npz")], capture_output=True,
                          text=True, env=dict(os.environ, CUDA_VISIBLE_DEVICES=""), timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ref = json.loads(proc.stdout.strip().splitlines()[-1])
    model.compile(optimizer="adam")
    h = model.fit(data, batch_size=16, epochs=3, shuffle=False, verbose=0).history
    np.testing.assert_allclose(h["loss"], ref["loss"], rtol=1e-5)
