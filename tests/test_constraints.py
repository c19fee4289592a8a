"""keras.constraints: projections against their formulas, applied after each optimizer update
(apply_gradients, compiled fit and compiled tf.function steps alike), and Keras 3's numbers for a
model with an L2 kernel regularizer, an L1 activity regularizer and a MaxNorm constraint."""
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
from helpers import fit_compiled_and_eager
from test_regularizers import compile_model, data, regularized_model

EPS = 1e-7


def norms(w, axis):
    return np.sqrt(np.square(w.astype(np.float64)).sum(axis=axis, keepdims=True))


@pytest.mark.parametrize("constraint,reference", [
    (keras.constraints.MaxNorm(1.5), lambda w: w * np.clip(norms(w, 0), 0, 1.5) / (EPS + norms(w, 0))),
    (keras.constraints.MaxNorm(1.0, axis=[0, 1]),
     lambda w: w * np.clip(norms(w, (0, 1)), 0, 1.0) / (EPS + norms(w, (0, 1)))),
    (keras.constraints.MinMaxNorm(1.0, 2.0, rate=0.5, axis=1),
     lambda w: w * (0.5 * np.clip(norms(w, 1), 1.0, 2.0) + 0.5 * norms(w, 1)) / (EPS + norms(w, 1))),
    (keras.constraints.NonNeg(), lambda w: np.maximum(w, 0)),
    (keras.constraints.UnitNorm(axis=-1), lambda w: w / (EPS + norms(w, -1))),
    (keras.constraints.Constraint(), lambda w: w),
])
def test_projection_formulas(constraint, reference):
    w = np.random.default_rng(0).normal(size=(3, 4, 2)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(constraint(w)), reference(w), rtol=1e-5, atol=1e-6)


def test_get_names_and_configs():
    get = keras.constraints.get
    assert get(None) is None
    assert get("max_norm").get_config() == {"max_value": 2, "axis": 0}
    assert isinstance(get("non_neg"), keras.constraints.NonNeg) and get("non_neg").get_config() == {}
    assert get("unit_norm").get_config() == {"axis": 0}
    assert get("MinMaxNorm").get_config() == {"min_value": 0.0, "max_value": 1.0, "rate": 1.0, "axis": 0}
    c = keras.constraints.MaxNorm(3, axis=[0, 1])
    assert get(c) is c
    assert keras.constraints.deserialize(keras.constraints.serialize(c)).get_config() == c.get_config()
    assert get({"class_name": "UnitNorm", "config": {"axis": 1}}).axis == 1
    assert keras.constraints.max_norm is keras.constraints.MaxNorm
    for bad in ("maxnorm", 1.5):
        with pytest.raises(ValueError, match="Could not interpret constraint identifier"):
            get(bad)


def test_apply_gradients_constrains_the_variables_it_updates():
    v = tf.Variable(np.array([[3.0, 0.1], [4.0, 0.1]], np.float32))
    v.constraint = keras.constraints.MaxNorm(1.0)
    untouched = tf.Variable(np.array([-1.0], np.float32))
    untouched.constraint = keras.constraints.NonNeg()
    optimizer = keras.optimizers.SGD(0.5)
    optimizer.apply_gradients([(tf.constant(np.ones((2, 2), np.float32)), v), (None, untouched)])
    stepped = np.array([[2.5, -0.4], [3.5, -0.4]])
    np.testing.assert_allclose(v.numpy(), stepped * np.minimum(norms(stepped, 0), 1) / (EPS + norms(stepped, 0)),
                               rtol=1e-6)
    assert untouched.numpy()[0] == -1.0  # no gradient, no update: no constraint either (as Keras)


def constrained_model(seed=3):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape=(8,))
    h = layers.Dense(16, activation="relu", kernel_constraint=keras.constraints.MaxNorm(0.3),
                     bias_constraint="non_neg")(inputs)
    return keras.Model(inputs, layers.Dense(3, kernel_constraint=keras.constraints.UnitNorm())(h))


def test_compiled_fit_constrains_after_every_step_as_eager():
    x, y = data()
    runs = fit_compiled_and_eager(lambda eager: compile_model(constrained_model(), learning_rate=0.5, eager=eager),
                                  x, y, batch_size=16, epochs=2)
    (loss, w, _), (loss_eager, w_eager, _) = runs
    np.testing.assert_allclose(loss, loss_eager, rtol=1e-5)
    for a, b in zip(w, w_eager):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert norms(w[0], 0).max() <= 0.3 + 1e-6 and w[1].min() >= 0
    np.testing.assert_allclose(norms(w[2], 0), 1.0, rtol=1e-5)


def test_train_on_batch_constrains():
    x, y = data(32)
    model = constrained_model()
    compile_model(model, learning_rate=5.0)
    model.train_on_batch(x, y)
    assert norms(model.get_weights()[0], 0).max() <= 0.3 + 1e-6


def test_a_constraint_a_trace_cannot_replay_falls_back_with_a_warning():
    class PythonClip(keras.constraints.Constraint):  # reads the values in Python: not replayable
        def __call__(self, w):
            return tf.constant(np.clip(np.asarray(w), -0.05, 0.05))

    x, y = data(64)
    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=(8,))
    model = keras.Model(inputs, layers.Dense(3, kernel_constraint=PythonClip())(inputs))
    compile_model(model)
    with pytest.warns(UserWarning, match="constraint cannot be replayed"):
        model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    assert np.abs(model.get_weights()[0]).max() <= 0.05 + 1e-7


def test_compiled_tf_function_step_constrains():
    x, y = data(64)
    results = []
    for compiled in (True, False):
        model = constrained_model()
        optimizer = keras.optimizers.SGD(0.5)
        loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

        def train_step(xb, yb):
            with tf.GradientTape() as tape:
                loss = loss_fn(yb, model(xb, training=True))
            grads = tape.gradient(loss, model.trainable_weights)
            optimizer.apply_gradients(zip(grads, model.trainable_weights))
            return loss

        step = tf.function(train_step) if compiled else train_step
        for i in range(0, 64, 16):
            step(x[i:i + 16], y[i:i + 16])
        if compiled:
            assert all(s.program is not None for s in step._steps.values()), [s.why for s in step._steps.values()]
        results.append(model.get_weights())
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert norms(results[0][0], 0).max() <= 0.3 + 1e-6


KERAS_SCRIPT = r"""
import json, os, sys
os.environ["KERAS_BACKEND"] = "tensorflow"
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np, keras
from keras import layers
d = np.load(sys.argv[1])
inputs = keras.Input(shape=(8,))
h = layers.Dense(16, activation="relu", kernel_regularizer=keras.regularizers.L2(1e-2),
                 activity_regularizer=keras.regularizers.L1(1e-3),
                 kernel_constraint=keras.constraints.MaxNorm(0.5))(inputs)
model = keras.Model(inputs, layers.Dense(3, bias_regularizer="l2")(h))
model.set_weights([d[f"w{i}"] for i in range(4)])
model.compile(optimizer=keras.optimizers.SGD(0.1),
              loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
h = model.fit(d["x"], d["y"], batch_size=32, epochs=3, shuffle=False, verbose=0)
ev = model.evaluate(d["x"], d["y"], batch_size=64, verbose=0)
np.savez(sys.argv[2], *model.get_weights())
print(json.dumps({"loss": h.history["loss"], "evaluate": ev}))
"""


@pytest.mark.skipif(importlib.util.find_spec("tensorflow") is None, reason="tensorflow is not installed")
def test_regularizers_and_max_norm_match_keras(tmp_path):
    x, y = data()
    model = regularized_model(constraint=keras.constraints.MaxNorm(0.5))
    np.savez(tmp_path / "d.npz", x=x, y=y, **{f"w{i}": w for i, w in enumerate(model.get_weights())})
    proc = subprocess.run([sys.executable, "-c", KERAS_SCRIPT, str(tmp_path / "d.npz"), str(tmp_path / "w.npz")],
                          capture_output=True, text=True, env=dict(os.environ, CUDA_VISIBLE_DEVICES=""), timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ref = json.loads(proc.stdout.strip().splitlines()[-1])
    compile_model(model)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = model.fit(x, y, batch_size=32, epochs=3, shuffle=False, verbose=0).history["loss"]
        evaluated = model.evaluate(x, y, batch_size=64, verbose=0)
    assert not model._fallback_reasons
    np.testing.assert_allclose(loss, ref["loss"], rtol=1e-5)
    assert evaluated == pytest.approx(ref["evaluate"], rel=1e-5)
    with np.load(tmp_path / "w.npz") as theirs:
        for k, w in enumerate(model.get_weights()):
            np.testing.assert_allclose(w, theirs[f"arr_{k}"], rtol=1e-4, atol=1e-6)
