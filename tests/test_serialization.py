"""get_config/from_config of every built-in loss, metric, optimizer, schedule and initializer (Keras 3's
keys, checked against Keras where installed), activations by name, custom objects (registration,
scopes, custom_objects), Lambda layers and safe_mode, and Keras 2 configs."""
import importlib.util
import inspect
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import fastfit as keras
from fastfit import layers
from fastfit.optimizers import schedules

S = keras.saving

LOSSES = [c for n, c in sorted(keras.losses.ALL_OBJECTS_DICT.items()) if inspect.isclass(c) and n == c.__name__]
_METRIC_ARGS = {"IoU": "num_classes=3, target_class_ids=[0, 2]", "MeanIoU": "num_classes=3",
                "OneHotIoU": "num_classes=3, target_class_ids=[1]", "OneHotMeanIoU": "num_classes=3",
                "SensitivityAtSpecificity": "0.5", "SpecificityAtSensitivity": "0.5", "PrecisionAtRecall": "0.5",
                "RecallAtPrecision": "0.5"}
METRICS = sorted({c.__name__ for c in keras.metrics.ALL_OBJECTS_DICT.values()})
OPTIMIZERS = sorted(c.__name__ for c in keras.optimizers._BY_NAME.values())
SCHEDULES = {"ExponentialDecay": "0.1, 10, 0.9", "PiecewiseConstantDecay": "[10], [0.1, 0.01]",
             "PolynomialDecay": "0.1, 10", "InverseTimeDecay": "0.1, 10, 0.5", "CosineDecay": "0.1, 10",
             "CosineDecayRestarts": "0.1, 10"}
INITIALIZERS = ["Zeros()", "Ones()", "Constant(0.5)", "RandomNormal(0.1, 0.2, seed=3)", "RandomUniform(-1, 1)",
                "TruncatedNormal(stddev=0.3)", "VarianceScaling(2.0, 'fan_out', 'uniform')", "GlorotUniform(seed=1)",
                "GlorotNormal()", "HeNormal()", "HeUniform()", "LecunNormal()", "LecunUniform()"]


def expressions():
    """(module path, constructor expression) of every object whose config Keras also has."""
    out = [("losses", f"{c.__name__}()") for c in LOSSES]
    out += [("metrics", f"{n}({_METRIC_ARGS.get(n, '')})") for n in METRICS]
    out += [("optimizers", f"{n}()") for n in OPTIMIZERS]
    out += [("optimizers.schedules", f"{n}({a})") for n, a in SCHEDULES.items()]
    return out + [("initializers", e) for e in INITIALIZERS]


def _make(module, expr, root=keras):
    namespace = root
    for part in module.split("."):
        namespace = getattr(namespace, part)
    return eval(f"namespace.{expr}", {"namespace": namespace})


@pytest.mark.parametrize("module,expr", expressions(), ids=[e for _, e in expressions()])
def test_config_round_trips(module, expr):
    obj = _make(module, expr)
    config = obj.get_config()
    json.dumps(S.serialize_keras_object(obj))  # JSON-able as files hold it
    again = S.deserialize_keras_object(S.serialize_keras_object(obj))
    assert type(again) is type(obj) and again.get_config() == config
    assert type(obj).from_config(config).get_config() == config


KERAS_SCRIPT = r"""
import json, os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import keras
out = []
for module, expr in json.loads(sys.argv[1]):
    namespace = keras
    for part in module.split("."):
        namespace = getattr(namespace, part)
    out.append(json.loads(json.dumps(eval(f"namespace.{expr}", {"namespace": namespace}).get_config(), default=str)))
print(json.dumps(out))
"""


@pytest.mark.skipif(importlib.util.find_spec("keras") is None, reason="keras is not installed")
def test_configs_have_keras_keys_and_values():
    cases = expressions()
    proc = subprocess.run([sys.executable, "-c", KERAS_SCRIPT, json.dumps(cases)], capture_output=True, text=True,
                          timeout=300, env=dict(os.environ, CUDA_VISIBLE_DEVICES=""))
    assert proc.returncode == 0, proc.stderr[-3000:]
    theirs = json.loads(proc.stdout.strip().splitlines()[-1])
    # Where fastfit writes more than Keras, it is an argument Keras' config drops (the metric's axis) or
    # the int type fastfit's IoU counts in; Keras 3.15's initializers add input_axes/output_axes (None).
    known = {"CosineSimilarity()": {"axis"}, "GlorotUniform(seed=1)": set(), "IoU": {"dtype"}}
    for (module, expr), their in zip(cases, theirs):
        ours = json.loads(json.dumps(S.serialize_keras_object(_make(module, expr))["config"], default=str))
        extra = set(ours) - set(their)
        assert extra <= known.get(expr, set()), (expr, extra)
        assert all(their[k] is None for k in set(their) - set(ours)), (expr, set(their) - set(ours))
        for key in set(ours) & set(their):
            if key not in ("name", "dtype") or module != "metrics":
                assert ours[key] == pytest.approx(their[key]) if isinstance(their[key], float) else \
                    ours[key] == their[key], (expr, key)


def test_activations_by_name_and_custom_ones(tmp_path):
    assert layers.Dense(2, activation="relu").get_config()["activation"] == "relu"
    assert layers.Dense(2, activation=keras.activations.tanh).get_config()["activation"] == "tanh"
    assert layers.Dense(2).get_config()["activation"] == "linear"

    def scaled_tanh(x):
        return keras.activations.tanh(x) * 2.0
    model = keras.Sequential([keras.Input(shape=(3,)), layers.Dense(2, activation=scaled_tanh)])
    entry = model.get_config()["layers"][1]["config"]["activation"]
    assert entry == {"module": __name__, "class_name": "function", "config": "scaled_tanh",
                     "registered_name": "scaled_tanh"}
    model.save(tmp_path / "m.keras")
    with pytest.raises(TypeError, match="Could not locate function 'scaled_tanh'. Pass it in `custom_objects`"):
        keras.models.load_model(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras", custom_objects={"scaled_tanh": scaled_tanh})
    x = np.ones((2, 3), np.float32)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    with pytest.raises(ValueError, match="Unknown activation: 'swishy'"):
        layers.Dense(2, activation="swishy")


@S.register_keras_serializable(package="my_pkg")
class Scale(layers.Layer):
    """A custom layer with a weight and its own get_config."""

    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="w")

    def call(self, x):
        return x * self.w * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


class Shift(layers.Layer):
    """A custom layer without get_config: its plain constructor arguments are its config."""

    def __init__(self, by, **kwargs):
        super().__init__(**kwargs)
        self.by = by

    def call(self, x):
        return x + self.by


def custom_loss(y_true, y_pred):
    return keras.reduce_mean(keras.square(y_true - y_pred) * 3.0, axis=-1)


class Peak(keras.metrics.Metric):
    def __init__(self, name="peak", **kwargs):
        super().__init__(name=name, **kwargs)
        self.peak = self.add_weight(name="peak", initializer="zeros")

    def update_state(self, y_true, y_pred, sample_weight=None):
        self.peak.assign(keras.maximum(self.peak, keras.reduce_max(y_pred)))

    def result(self):
        return self.peak


def test_registration_and_custom_objects(tmp_path):
    assert S.get_registered_name(Scale) == "my_pkg>Scale" and S.get_registered_object("my_pkg>Scale") is Scale
    assert keras.utils.register_keras_serializable is S.register_keras_serializable
    assert S.get_custom_objects()["my_pkg>Scale"] is Scale and keras.utils.get_custom_objects() is S.get_custom_objects()
    assert S.get_registered_name(Shift) == "Shift"
    with pytest.raises(ValueError, match="Cannot register a class that does not have a get_config"):
        S.register_keras_serializable()(type("NoConfig", (), {}))
    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=(3,))
    model = keras.Model(inputs, layers.Dense(2)(Shift(0.5)(Scale(3.0)(inputs))))
    model.compile("adam", custom_loss, metrics=[Peak()])
    x, y = np.random.default_rng(0).normal(size=(16, 3)).astype(np.float32), np.zeros((16, 2), np.float32)
    model.fit(x, y, verbose=0)
    assert model.get_config()["layers"][2]["config"]["by"] == 0.5  # auto-config
    model.save(tmp_path / "m.keras")
    with pytest.raises(TypeError, match="Could not locate class 'Shift'"):
        keras.models.load_model(tmp_path / "m.keras")
    objects = {"Shift": Shift, "custom_loss": custom_loss, "Peak": Peak}
    for load in (lambda: keras.models.load_model(tmp_path / "m.keras", custom_objects=objects),
                 lambda: _in_scope(objects, lambda: keras.models.load_model(tmp_path / "m.keras"))):
        loaded = load()
        np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
        assert loaded.evaluate(x, y, verbose=0, return_dict=True)["loss"] == pytest.approx(
            model.evaluate(x, y, verbose=0, return_dict=True)["loss"])
        assert isinstance(loaded.layers[1], Scale) and loaded.layers[1].factor == 3.0
    with pytest.raises(NotImplementedError, match="must override `get_config\\(\\)`"):
        Shift(np.ones(3)).get_config()  # an array is not a plain value


def _in_scope(objects, fn):
    with S.custom_object_scope(objects):
        return fn()


def test_compile_names_stay_names(tmp_path):
    """Names ("accuracy", a loss's name) stay names: compile resolves them from the shapes, as it did."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(3, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy", "sparse_categorical_crossentropy"])
    x, y = np.random.default_rng(0).normal(size=(20, 4)).astype(np.float32), np.arange(20) % 3
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert loaded.get_compile_config()["metrics"] == ["accuracy", "sparse_categorical_crossentropy"]
    assert loaded.evaluate(x, y, verbose=0, return_dict=True) == logs
    assert any(isinstance(m, keras.metrics.SparseCategoricalAccuracy) for m in loaded.metrics)


def test_lambda_layers_need_safe_mode_off(tmp_path):
    model = keras.Sequential([keras.Input(shape=(3,)), layers.Lambda(lambda t: t * 2.0 + 1.0, output_shape=(3,))])
    with pytest.warns(UserWarning, match="includes a `lambda`"):
        model.save(tmp_path / "m.keras")
    with pytest.raises(ValueError, match="deserialization of a Python lambda.*safe_mode=False"):
        keras.models.load_model(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras", safe_mode=False)
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), x * 2 + 1)


def test_schedule_in_an_optimizer_round_trips(tmp_path):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(shape=(3,)), layers.Dense(1)])
    model.compile(keras.optimizers.SGD(schedules.ExponentialDecay(0.1, 5, 0.5, staircase=True), momentum=0.9), "mse")
    x = np.random.default_rng(0).normal(size=(32, 3)).astype(np.float32)
    model.fit(x, x[:, :1], batch_size=8, epochs=2, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert isinstance(loaded.optimizer._schedule, schedules.ExponentialDecay)
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    model.fit(x, x[:, :1], batch_size=8, epochs=1, verbose=0, shuffle=False)
    loaded.fit(x, x[:, :1], batch_size=8, epochs=1, verbose=0, shuffle=False)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)


KERAS2_JSON = json.dumps({"class_name": "Model", "config": {
    "name": "model", "layers": [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 4], "dtype": "float32", "sparse": False,
                                                "ragged": False, "name": "input_1"}, "name": "input_1",
         "inbound_nodes": []},
        {"class_name": "Dense", "config": {"name": "dense", "trainable": True, "dtype": "float32", "units": 3,
                                           "activation": "relu", "use_bias": True,
                                           "kernel_initializer": {"class_name": "GlorotUniform",
                                                                  "config": {"seed": None}},
                                           "bias_initializer": {"class_name": "Zeros", "config": {}},
                                           "kernel_regularizer": None, "bias_regularizer": None,
                                           "activity_regularizer": None, "kernel_constraint": None,
                                           "bias_constraint": None},
         "name": "dense", "inbound_nodes": [[["input_1", 0, 0, {}]]]},
        {"class_name": "TFOpLambda", "config": {"name": "tf.math.multiply", "trainable": True, "dtype": "float32",
                                                "function": "math.multiply"},
         "name": "tf.math.multiply", "inbound_nodes": [[["dense", 0, 0, {"y": 0.5, "name": None}]]]}],
    "input_layers": [["input_1", 0, 0]], "output_layers": [["tf.math.multiply", 0, 0]]},
    "keras_version": "2.15.0", "backend": "tensorflow"})


def test_keras_2_configs_load():
    model = keras.models.model_from_json(KERAS2_JSON)
    assert [type(l).__name__ for l in model.layers] == ["InputLayer", "Dense", "OpLayer"]
    x = np.ones((2, 4), np.float32)
    np.testing.assert_allclose(model.predict(x, verbose=0), np.maximum(x @ model.layers[1].get_weights()[0], 0) * 0.5,
                               rtol=1e-6)
    sequential = keras.Sequential.from_config({"name": "s", "layers": [
        {"class_name": "Dense", "config": {"name": "d", "units": 2, "batch_input_shape": [None, 3]}}]})
    assert sequential.input_shape == (None, 3) and sequential.built
