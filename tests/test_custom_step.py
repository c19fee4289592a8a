"""Overriding train_step / test_step / predict_step, as the Keras guide "Customizing what happens in
fit()" does: the step runs per batch, compiled like a tf.function once checked, its returned dict is
the logs; the default steps' API (compute_loss, compute_metrics, metrics, TF 2's compiled_loss)."""
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
from fastfit.models.custom_step import StepRunner
from helpers import runner_of

RNG = np.random.default_rng(0)
X = RNG.random((256, 32), dtype=np.float32)
Y = RNG.random((256, 1), dtype=np.float32)


class GuideModel(keras.Model):
    """The guide's first example: compute_loss, optimizer.apply, every metric updated by hand."""

    def train_step(self, data):
        x, y = data
        with tf.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(y=y, y_pred=y_pred)
        trainable_vars = self.trainable_variables
        gradients = tape.gradient(loss, trainable_vars)
        self.optimizer.apply(gradients, trainable_vars)
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
            else:
                metric.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}


class LowLevelModel(keras.Model):
    """The guide's lower-level example: its own loss function and trackers, listed in `metrics` so
    that fit resets them each epoch."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.mae_metric = keras.metrics.MeanAbsoluteError(name="mae")
        self.loss_fn = keras.losses.MeanSquaredError()

    def train_step(self, data):
        x, y = data
        with tf.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.loss_fn(y, y_pred)
        gradients = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply(gradients, self.trainable_variables)
        self.loss_tracker.update_state(loss)
        self.mae_metric.update_state(y, y_pred)
        return {"loss": self.loss_tracker.result(), "mae": self.mae_metric.result()}

    @property
    def metrics(self):
        return [self.loss_tracker, self.mae_metric]


class TF2Model(keras.Model):
    """TF 2's spelling of the same step."""

    def train_step(self, data):
        x, y = data
        with tf.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compiled_loss(y, y_pred, regularization_losses=self.losses)
        self.optimizer.apply_gradients(zip(tape.gradient(loss, self.trainable_variables), self.trainable_variables))
        self.compiled_metrics.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}


def build(cls=keras.Model, seed=0):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape=(32,))
    return cls(inputs, keras.layers.Dense(1)(keras.layers.Dense(8, activation="relu")(inputs)))


def assert_step_compiled(model, mode="train"):
    runner = runner_of(model, mode)
    assert isinstance(runner, StepRunner)
    assert runner.step._steps and all(s.program is not None for s in runner.step._steps.values())


@pytest.mark.parametrize("cls", [GuideModel, TF2Model])
def test_a_step_written_with_compute_loss_trains_as_the_built_in_one(cls):
    ref = build()
    ref.compile(optimizer="adam", loss="mse", metrics=["mae"])
    want = ref.fit(X, Y, batch_size=32, epochs=3, shuffle=False, verbose=0).history
    model = build(cls)
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # compiled: no fallback warning
        got = model.fit(X, Y, batch_size=32, epochs=3, shuffle=False, verbose=0).history
    assert_step_compiled(model)
    assert sorted(got) == ["loss", "mae"]
    for k in want:
        np.testing.assert_allclose(got[k], want[k], rtol=1e-5, err_msg=k)
    for a, b in zip(model.get_weights(), ref.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_the_lower_level_step_with_its_own_trackers_resets_them_each_epoch():
    model = build(LowLevelModel)
    model.compile(optimizer="adam")  # no loss: the step computes it
    history = model.fit(X, Y, batch_size=32, epochs=2, shuffle=False, verbose=0).history
    assert_step_compiled(model)
    # Epoch 2's loss is the mean of epoch 2's batch losses only: replay them with the same weights.
    again = build(LowLevelModel)
    again.compile(optimizer="adam")
    again.fit(X, Y, batch_size=32, epochs=1, shuffle=False, verbose=0)
    again.reset_metrics()
    for i in range(0, 256, 32):
        again.train_step((tf.constant(X[i:i + 32]), tf.constant(Y[i:i + 32])))
    np.testing.assert_allclose(history["loss"][1], float(again.loss_tracker.result()), rtol=1e-5)
    assert model.metrics == [model.loss_tracker, model.mae_metric]


def test_test_step_and_predict_step_overrides():
    class Custom(keras.Model):
        def test_step(self, data):
            x, y = data
            y_pred = self(x, training=False)
            self.compute_loss(y=y, y_pred=y_pred)
            for metric in self.metrics:
                if metric.name != "loss":
                    metric.update_state(y, y_pred)
            return {m.name: m.result() for m in self.metrics}

        def predict_step(self, data):
            return self(data[0], training=False) * 2.0

    model = build(Custom)
    model.compile(loss="mse", metrics=["mae"])
    logs = model.evaluate(X, Y, batch_size=32, return_dict=True, verbose=0)
    plain = build()
    plain.compile(loss="mse", metrics=["mae"])
    want = plain.evaluate(X, Y, batch_size=32, return_dict=True, verbose=0)
    assert logs["loss"] == 0.0  # as in the guide: nothing updated the loss tracker
    np.testing.assert_allclose(logs["mae"], want["mae"], rtol=1e-5)
    np.testing.assert_allclose(model.predict(X, verbose=0), 2 * plain.predict(X, verbose=0), rtol=1e-6)


def test_a_step_that_cannot_be_compiled_runs_eagerly_with_a_warning():
    class Branchy(GuideModel):
        def train_step(self, data):
            logs = super().train_step(data)
            if float(logs["loss"]) > 1e9:  # Python control flow on a tensor's value
                raise AssertionError
            return logs

    model = build(Branchy)
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    with pytest.warns(UserWarning, match="runs eagerly.*converted to a Python or NumPy value"):
        got = model.fit(X, Y, batch_size=32, epochs=2, shuffle=False, verbose=0).history
    ref = build(GuideModel)
    ref.compile(optimizer="adam", loss="mse", metrics=["mae"])
    want = ref.fit(X, Y, batch_size=32, epochs=2, shuffle=False, verbose=0).history
    for k in want:
        np.testing.assert_allclose(got[k], want[k], rtol=1e-5, err_msg=k)


def test_super_train_step_is_the_default_step():
    class Passthrough(keras.Model):
        def train_step(self, data):
            return super().train_step(data)

    model = build(Passthrough)
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    got = model.fit(X, Y, batch_size=32, epochs=2, shuffle=False, verbose=0).history
    ref = build()
    ref.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    want = ref.fit(X, Y, batch_size=32, epochs=2, shuffle=False, verbose=0).history
    for k in want:
        np.testing.assert_allclose(got[k], want[k], rtol=1e-5, err_msg=k)


def test_a_step_must_return_a_dict():
    class Bad(keras.Model):
        def train_step(self, data):
            return 1.0

    model = build(Bad)
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(TypeError, match="must return a dict"):
        model.fit(X, Y, verbose=0)


KERAS_SCRIPT = r"""
import json, os, sys
os.environ["KERAS_BACKEND"] = "tensorflow"
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np, keras, tensorflow as tf
d = np.load(sys.argv[1])

class CustomModel(keras.Model):
    def train_step(self, data):
        x, y = data
        with tf.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(y=y, y_pred=y_pred)
        gradients = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply(gradients, self.trainable_variables)
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
            else:
                metric.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}

inputs = keras.Input(shape=(32,))
model = CustomModel(inputs, keras.layers.Dense(1)(keras.layers.Dense(8, activation="relu")(inputs)))
model.set_weights([d[f"w{i}"] for i in range(4)])
model.compile(optimizer="adam", loss="mse", metrics=["mae"])
h = model.fit(d["x"], d["y"], batch_size=32, epochs=3, shuffle=False, verbose=0)
print(json.dumps(h.history))
"""


@pytest.mark.skipif(importlib.util.find_spec("tensorflow") is None, reason="tensorflow is not installed")
def test_the_guides_custom_step_matches_keras(tmp_path):
    model = build(GuideModel)
    np.savez(tmp_path / "d.npz", x=X, y=Y, **{f"w{i}": w for i, w in enumerate(model.get_weights())})
    proc = subprocess.run([sys.executable, "-c", KERAS_SCRIPT, str(tmp_path / "d.npz")], capture_output=True,
                          text=True, env=dict(os.environ, CUDA_VISIBLE_DEVICES=""), timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ref = json.loads(proc.stdout.strip().splitlines()[-1])
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    got = model.fit(X, Y, batch_size=32, epochs=3, shuffle=False, verbose=0).history
    assert sorted(got) == sorted(ref)
    for k in ref:
        np.testing.assert_allclose(got[k], ref[k], rtol=1e-5, err_msg=k)
