"""The guide's custom code on the compiled path: a Metric subclass, layers that call add_loss and
add_metric, add_loss/add_metric on a functional model, model.losses, and tf ops on KerasTensors."""
import importlib.util
import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

import fastfit as tf
import fastfit as keras
from fastfit import layers
from fastfit.models.tracing import CompiledRunner
from helpers import runner_of


class CategoricalTruePositives(keras.metrics.Metric):
    """The guide's metric, as it writes it (its y_true of shape (batch,) broadcasts against y_pred's
    (batch, 1), as in Keras: the count is over pairs)."""

    def __init__(self, name="categorical_true_positives", reset_spelling="reset_state", **kwargs):
        super().__init__(name=name, **kwargs)
        self.true_positives = self.add_weight(name="ctp", initializer="zeros")
        if reset_spelling == "reset_states":  # the TF 2 spelling: defined instead of reset_state
            self.reset_states = self._reset
        else:
            self.reset_state = self._reset

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = tf.reshape(tf.argmax(y_pred, axis=1), shape=(-1, 1))
        values = tf.cast(y_true, "int32") == tf.cast(y_pred, "int32")
        values = tf.cast(values, "float32")
        if sample_weight is not None:
            sample_weight = tf.cast(sample_weight, "float32")
            values = tf.multiply(values, sample_weight)
        self.true_positives.assign_add(tf.reduce_sum(values))

    def result(self):
        return self.true_positives

    def _reset(self):
        self.true_positives.assign(0.0)


class ActivityRegularizationLayer(layers.Layer):
    def call(self, inputs):
        self.add_loss(tf.reduce_sum(inputs) * 0.1)
        return inputs


class MetricLoggingLayer(layers.Layer):
    def call(self, inputs):
        self.add_metric(keras.backend.std(inputs), name="std_of_activation", aggregation="mean")
        return inputs


def data(n=256, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, 20), dtype=np.float32)
    return x, rng.integers(0, 10, n).astype("float32")


def mlp(middle=None, seed=1, logits=True):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape=(20,), name="digits")
    x = layers.Dense(32, activation="relu", name="dense_1")(inputs)
    if middle is not None:
        x = middle(x)
    x = layers.Dense(32, activation="relu", name="dense_2")(x)
    outputs = layers.Dense(10, activation=None if logits else "softmax", name="predictions")(x)
    return keras.Model(inputs=inputs, outputs=outputs)


def assert_compiled(model, *modes):
    assert not model._fallback_reasons, model._fallback_reasons
    for mode in modes:
        assert isinstance(runner_of(model, mode), CompiledRunner), mode


def fit_both_ways(make, x, y, epochs=2, **fit_kw):
    """(compiled history and evaluate, eager history and evaluate) of two identical models."""
    out = []
    for eager in (False, True):
        model = make()
        model.compile(optimizer=keras.optimizers.RMSprop(1e-3), run_eagerly=eager,
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      metrics=getattr(make, "metrics", None))
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a fallback warning fails the test
            h = model.fit(x, y, batch_size=32, epochs=epochs, verbose=0, shuffle=False, **fit_kw).history
            ev = model.evaluate(x, y, batch_size=64, verbose=0, return_dict=True)
        if not eager:
            assert_compiled(model, "train", "test")
        out.append((h, ev, model))
    return out


def assert_same_logs(a, b, rtol=1e-5):
    assert list(a) == list(b)
    for k in a:
        np.testing.assert_allclose(a[k], b[k], rtol=rtol, err_msg=k)


@pytest.mark.parametrize("spelling", ["reset_state", "reset_states"])
def test_the_guides_categorical_true_positives_compiled(spelling):
    x, y = data()
    model = mlp(logits=False)
    metric = CategoricalTruePositives(reset_spelling=spelling)
    model.compile(optimizer=keras.optimizers.RMSprop(1e-3), loss=keras.losses.SparseCategoricalCrossentropy(),
                  metrics=[metric])
    h = model.fit(x, y, batch_size=32, epochs=2, verbose=0).history
    assert list(h) == ["categorical_true_positives", "loss"]
    res = model.evaluate(x, y, batch_size=64, verbose=0, return_dict=True)
    assert_compiled(model, "train", "test")
    # The count on the final weights, as the metric's broadcast defines it, batch by batch.
    pred = model.predict(x, verbose=0).argmax(1)
    want = sum(float((y[i:i + 64, None] == pred[i:i + 64][None, :]).sum()) for i in range(0, len(x), 64))
    assert res["categorical_true_positives"] == want
    metric.reset_state()
    assert float(metric.result()) == 0.0
    metric.update_state(y[:4], np.eye(10, dtype="float32")[y[:4].astype(int)])
    assert float(metric.result()) == float((y[:4, None] == y[None, :4]).sum())
    metric.reset_states()  # both spellings reach the user's reset
    assert float(metric.result()) == 0.0


def test_the_regularizer_layer_raises_the_loss_and_trains_compiled():
    x, y = data()
    (h, ev, model), (h_eager, ev_eager, _) = fit_both_ways(lambda: mlp(ActivityRegularizationLayer()), x, y)
    assert_same_logs(h, h_eager)
    assert_same_logs(ev, ev_eager)
    base = mlp()
    base.set_weights(model.get_weights())
    base.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    plain = base.evaluate(x, y, batch_size=len(x), verbose=0)
    hidden = np.maximum(x @ model.get_weights()[0] + model.get_weights()[1], 0)
    with_reg = model.evaluate(x, y, batch_size=len(x), verbose=0)
    assert with_reg == pytest.approx(plain + 0.1 * hidden.sum(), rel=1e-4)
    assert with_reg > plain
    assert h["loss"][1] < h["loss"][0]  # training shrinks the activations it penalises


def test_std_of_activation_is_in_the_history():
    x, y = data()
    (h, ev, model), (h_eager, ev_eager, _) = fit_both_ways(lambda: mlp(MetricLoggingLayer()), x, y,
                                                           validation_split=0.25)
    assert list(h) == ["loss", "std_of_activation", "val_loss", "val_std_of_activation"]
    assert_same_logs(h, h_eager)
    assert_same_logs(ev, ev_eager)
    w = model.get_weights()
    hidden = np.maximum(x.astype(np.float64) @ w[0] + w[1], 0)
    stds = [hidden[i:i + 64].std() for i in range(0, len(x), 64)]
    assert ev["std_of_activation"] == pytest.approx(np.mean(stds), rel=1e-4)


def functional_with_added_loss_and_metric():
    keras.utils.set_random_seed(2)
    inputs = keras.Input(shape=(20,), name="digits")
    x1 = layers.Dense(32, activation="relu", name="dense_1")(inputs)
    x2 = layers.Dense(32, activation="relu", name="dense_2")(x1)
    outputs = layers.Dense(10, name="predictions")(x2)
    model = keras.Model(inputs=inputs, outputs=outputs)
    model.add_loss(tf.reduce_sum(x1) * 0.1)
    model.add_metric(keras.backend.std(x1), name="std_of_activation", aggregation="mean")
    return model


def test_add_loss_and_add_metric_on_a_functional_model():
    x, y = data()
    (h, ev, model), (h_eager, ev_eager, _) = fit_both_ways(functional_with_added_loss_and_metric, x, y)
    assert list(h) == ["loss", "std_of_activation"]
    assert_same_logs(h, h_eager)
    assert_same_logs(ev, ev_eager)
    model(x[:50])
    w = model.get_weights()
    hidden = np.maximum(x[:50].astype(np.float64) @ w[0] + w[1], 0)
    assert len(model.losses) == 1
    assert float(model.losses[0]) == pytest.approx(0.1 * hidden.sum(), rel=1e-5)
    assert "tf.reduce_sum" in [layer.name for layer in model.layers]  # the ops are nodes, as in Keras


def test_model_losses_hold_the_last_calls_losses_only():
    model = mlp(ActivityRegularizationLayer())
    assert model.losses == []
    x, _ = data(8)
    for rows in (2, 4, 8):
        model(x[:rows])
    assert len(model.losses) == 1
    hidden = np.maximum(x @ model.get_weights()[0] + model.get_weights()[1], 0)
    assert float(model.losses[0]) == pytest.approx(0.1 * hidden.sum(), rel=1e-5)


def test_sum_of_model_losses_in_a_gradient_tape_loop_trains_the_regularizer():
    x, y = data(128)
    model = mlp(ActivityRegularizationLayer())
    optimizer = keras.optimizers.SGD(1e-3)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    regs = []
    for step in range(20):
        with tf.GradientTape() as tape:
            logits = model(x, training=True)
            loss_value = loss_fn(y, logits)
            loss_value += sum(model.losses)
        regs.append(float(sum(model.losses)))
        grads = tape.gradient(loss_value, model.trainable_weights)
        optimizer.apply_gradients(zip(grads, model.trainable_weights))
    assert regs[-1] < 0.5 * regs[0]


def test_tf_ops_on_symbolic_tensors_make_graph_nodes():
    keras.utils.set_random_seed(0)
    a = keras.Input(shape=(6,), name="a")
    b = keras.Input(shape=(None, 4), name="b")  # a variable-length axis
    h = layers.Dense(4)(a)
    pooled = tf.reduce_max(b, axis=1)
    mixed = h[:, :3] * 2.0 - tf.one_hot(tf.argmax(pooled, axis=1), 3) + abs(pooled[:, 1:])
    assert mixed.shape == (None, 3) and pooled.shape == (None, 4)
    model = keras.Model([a, b], mixed)
    rng = np.random.default_rng(0)
    xa, xb = rng.normal(size=(5, 6)).astype("float32"), rng.normal(size=(5, 7, 4)).astype("float32")
    out = model([xa, xb])
    hv = model.layers[2](xa).numpy().astype(np.float64)
    pv = xb.max(1)
    want = hv[:, :3] * 2 - np.eye(4)[pv.argmax(1)][:, :3] + np.abs(pv[:, 1:])
    np.testing.assert_allclose(out.numpy(), want, rtol=1e-5, atol=1e-6)


def test_an_added_metric_needs_a_name_and_mean_aggregation():
    model = functional_with_added_loss_and_metric()
    with pytest.raises(ValueError, match="name"):
        model.add_metric(keras.backend.std(model.inputs[0]))
    with pytest.raises(NotImplementedError, match="aggregation"):
        model.add_metric(keras.backend.std(model.inputs[0]), name="s", aggregation="sum")


KERAS_SCRIPT = r"""
import json, os, sys
os.environ["KERAS_BACKEND"] = "tensorflow"
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np, keras, tensorflow as tf
from keras import layers
d = np.load(sys.argv[1])

class CategoricalTruePositives(keras.metrics.Metric):
    def __init__(self, name="categorical_true_positives", **kwargs):
        super().__init__(name=name, **kwargs)
        self.true_positives = self.add_weight(name="ctp", initializer="zeros")
    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = tf.reshape(tf.argmax(y_pred, axis=1), shape=(-1, 1))
        values = tf.cast(tf.cast(y_true, "int32") == tf.cast(y_pred, "int32"), "float32")
        self.true_positives.assign_add(tf.reduce_sum(values))
    def result(self):
        return self.true_positives
    def reset_state(self):
        self.true_positives.assign(0.0)

class ActivityRegularizationLayer(layers.Layer):
    def call(self, inputs):
        self.add_loss(tf.reduce_sum(inputs) * 0.1)
        return inputs

inputs = keras.Input(shape=(20,), name="digits")
x = layers.Dense(32, activation="relu", name="dense_1")(inputs)
x = ActivityRegularizationLayer()(x)
x = layers.Dense(32, activation="relu", name="dense_2")(x)
model = keras.Model(inputs, layers.Dense(10, activation="softmax", name="predictions")(x))
model.set_weights([d[f"w{i}"] for i in range(6)])
model.compile(optimizer=keras.optimizers.SGD(1e-3), loss=keras.losses.SparseCategoricalCrossentropy(),
              metrics=[CategoricalTruePositives()])
h = model.fit(d["x"], d["y"], batch_size=32, epochs=2, shuffle=False, verbose=0)
ev = model.evaluate(d["x"], d["y"], batch_size=64, verbose=0, return_dict=True)
print(json.dumps({"history": h.history, "evaluate": ev}))
"""


@pytest.mark.skipif(importlib.util.find_spec("tensorflow") is None, reason="tensorflow is not installed")
def test_custom_metric_and_regularizer_match_keras(tmp_path):
    x, y = data()
    model = mlp(ActivityRegularizationLayer(), logits=False)
    np.savez(tmp_path / "d.npz", x=x, y=y, **{f"w{i}": w for i, w in enumerate(model.get_weights())})
    proc = subprocess.run([sys.executable, "-c", KERAS_SCRIPT, str(tmp_path / "d.npz")], capture_output=True,
                          text=True, env=dict(os.environ, CUDA_VISIBLE_DEVICES=""), timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ref = json.loads(proc.stdout.strip().splitlines()[-1])
    model.compile(optimizer=keras.optimizers.SGD(1e-3), loss=keras.losses.SparseCategoricalCrossentropy(),
                  metrics=[CategoricalTruePositives()])
    h = model.fit(x, y, batch_size=32, epochs=2, shuffle=False, verbose=0).history
    ev = model.evaluate(x, y, batch_size=64, verbose=0, return_dict=True)
    assert_compiled(model, "train", "test")
    assert sorted(h) == sorted(ref["history"])
    for k in h:
        np.testing.assert_allclose(h[k], ref["history"][k], rtol=1e-4, err_msg=k)
    for k in ev:
        np.testing.assert_allclose(ev[k], ref["evaluate"][k], rtol=1e-4, err_msg=k)
