"""Parity with real Keras 3 on TensorFlow (runs where tensorflow is installed, skips elsewhere).

From the same initial weights and with shuffle=False, fastfit's per-epoch losses and metrics must
match Keras's to 1e-3 relative. Keras runs in a subprocess so TensorFlow never enters this one."""
import importlib.util
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import fastfit as keras
from conftest import guide_model

pytestmark = pytest.mark.skipif(importlib.util.find_spec("tensorflow") is None, reason="tensorflow is not installed")

# The guide's model in Keras 3 on TensorFlow, with the weights saved in the .npz named by argv[1].
KERAS_GUIDE_MODEL = r"""
import json, os, sys
os.environ["KERAS_BACKEND"] = "tensorflow"
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np, keras
from keras import layers
d = np.load(sys.argv[1])
inputs = keras.Input(shape=(784,), name="digits")
x = layers.Dense(64, activation="relu", name="dense_1")(inputs)
x = layers.Dense(64, activation="relu", name="dense_2")(x)
outputs = layers.Dense(10, activation="softmax", name="predictions")(x)
model = keras.Model(inputs=inputs, outputs=outputs)
model.set_weights([d[f"w{i}"] for i in range(6)])
"""

KERAS_SCRIPT = KERAS_GUIDE_MODEL + r"""
opt = {"rmsprop": keras.optimizers.RMSprop(1e-3), "adam": keras.optimizers.Adam(1e-3),
       "sgd": keras.optimizers.SGD(0.01, momentum=0.9)}[sys.argv[2]]
model.compile(optimizer=opt, loss=keras.losses.SparseCategoricalCrossentropy(),
              metrics=[keras.metrics.SparseCategoricalAccuracy()])
h = model.fit(d["x"], d["y"], batch_size=64, epochs=3, validation_data=(d["xv"], d["yv"]), shuffle=False, verbose=0)
ev = model.evaluate(d["xv"], d["yv"], batch_size=128, verbose=0)
print(json.dumps({"history": h.history, "evaluate": ev, "predict": model.predict(d["xv"][:5], verbose=0).tolist()}))
"""


# RMSprop and SGD agree to ~1e-6 (SGD at lr 0.01; at lr 0.05 with momentum 0.9 training sits at the edge
# of stability and last-bit differences grow to ~3e-3 in 3 epochs). Adam agrees to 1e-6 in epoch 1, then drifts to ~2e-3 by epoch 3: its
# m/sqrt(v) step on weights whose gradients are (nearly) zero, e.g. under dead ReLUs, amplifies the
# last-bit differences between OpenBLAS's and Eigen's summation orders.
RTOL = {"rmsprop": 1e-3, "sgd": 1e-3, "adam": 5e-3}


@pytest.mark.parametrize("optimizer", ["rmsprop", "adam", "sgd"])
def test_fit_matches_keras_per_epoch(fashion, tmp_path, optimizer):
    (x_train, y_train), (x_val, y_val), _ = fashion
    x, y, xv, yv = x_train[:6000], y_train[:6000], x_val[:2000], y_val[:2000]
    model = guide_model(seed=7)
    weights = model.get_weights()
    np.savez(tmp_path / "data.npz", x=x, y=y, xv=xv, yv=yv, **{f"w{i}": w for i, w in enumerate(weights)})
    script = tmp_path / "keras_run.py"
    script.write_text(KERAS_SCRIPT)
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="")
    proc = subprocess.run([sys.executable, str(script), str(tmp_path / "data.npz"), optimizer], capture_output=True,
                          text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ref = json.loads(proc.stdout.strip().splitlines()[-1])

    opt = {"rmsprop": keras.optimizers.RMSprop(1e-3), "adam": keras.optimizers.Adam(1e-3),
           "sgd": keras.optimizers.SGD(0.01, momentum=0.9)}[optimizer]
    model.compile(optimizer=opt, loss=keras.losses.SparseCategoricalCrossentropy(),
                  metrics=[keras.metrics.SparseCategoricalAccuracy()])
    h = model.fit(x, y, batch_size=64, epochs=3, validation_data=(xv, yv), shuffle=False, verbose=0).history
    assert list(h) == list(ref["history"])
    for key in h:
        np.testing.assert_allclose(h[key], ref["history"][key], rtol=RTOL[optimizer], err_msg=key)
    np.testing.assert_allclose(model.evaluate(xv, yv, batch_size=128, verbose=0), ref["evaluate"], rtol=RTOL[optimizer])
    if optimizer != "adam":  # Adam's drifted weights agree on the losses, not on every probability
        np.testing.assert_allclose(model.predict(xv[:5], verbose=0), ref["predict"], rtol=1e-2, atol=1e-4)


OPTIMIZER_SCRIPT = r"""
import json, os, sys
os.environ["KERAS_BACKEND"] = "tensorflow"
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np, keras
d = np.load(sys.argv[1])
configs, schedules = json.loads(sys.argv[2])
def make(kind, cfg):
    if isinstance(cfg.get("learning_rate"), list):
        name, args = cfg["learning_rate"]
        cfg = dict(cfg, learning_rate=getattr(keras.optimizers.schedules, name)(**args))
    return getattr(keras.optimizers, kind)(**cfg)
out = {}
for i, (kind, cfg, grads) in enumerate(configs):
    v = [keras.Variable(d["w0"]), keras.Variable(d["w1"])]
    opt = make(kind, cfg)
    for g0, g1 in zip(d[grads + "0"], d[grads + "1"]):
        opt.apply_gradients([(keras.ops.convert_to_tensor(g0), v[0]), (keras.ops.convert_to_tensor(g1), v[1])])
    out[f"w{i}"], out[f"v{i}"] = v[0].numpy(), v[1].numpy()
    inputs = keras.Input(shape=(4,))
    x = keras.layers.Dense(3, name="dense_1")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(2, name="predictions")(x))
    opt = make(kind, cfg)
    opt.build(model.trainable_variables)
    out[f"names{i}"] = np.array([v.name for v in opt.variables])
for i, (name, args) in enumerate(schedules):
    s = getattr(keras.optimizers.schedules, name)(**args)
    out[f"schedule{i}"] = np.array([s(step).numpy() for step in range(150)])
np.savez(sys.argv[3], **out)
"""


def parity_configs():
    """(Keras class name, arguments, gradients) for every rule, option and schedule tested here; clipping
    by norm gets gradients whose sums of squares are exact, so Keras' summation order cannot matter."""
    from test_optimizer_options import OPTION_CONFIGS
    from test_optimizers import CLASSES, CONFIGS
    from test_schedules import SCHEDULES
    configs = [(CLASSES[kind].__name__, cfg, "exact" if "clipnorm" in str(cfg) else "grads")
               for kind, cfg in CONFIGS + OPTION_CONFIGS]
    configs += [("SGD", {"momentum": 0.9, "learning_rate": [name, args]}, "grads") for name, args, _ in SCHEDULES]
    configs += [("Adam", {"learning_rate": [name, args]}, "grads") for name, args, _ in SCHEDULES[::3]]
    return configs, [[name, args] for name, args, _ in SCHEDULES]


def test_optimizer_steps_and_state_names_are_keras_exactly(tmp_path):
    """20 eager steps of every rule, option and schedule on two variables give Keras' float32 weights bit
    for bit (same ops in the same order, each rounded once, denormals flushed to zero as TensorFlow
    does, TensorFlow's pow for Ftrl), `optimizer.variables` carry Keras' names in Keras' order, and the
    schedules give Keras' values at steps 0-149."""
    from test_optimizers import small_model
    configs, schedules = parity_configs()
    rng = np.random.default_rng(0)
    data = {"w0": rng.normal(size=(64, 33)).astype(np.float32), "w1": rng.normal(size=(5, 7)).astype(np.float32)}
    data["w0"][0, :8] = np.arange(1, 9) * np.float32(1e-39)  # denormal weights, with no gradient: TF zeroes them
    for k, shape in ((0, (64, 33)), (1, (5, 7))):  # 35 elements: TensorFlow's pow has a tail of 3
        grads = rng.normal(size=(20,) + shape).astype(np.float32)
        grads[:, 0, :8] = 0
        grads[5] *= 0.01  # small after large: amsgrad's max matters
        grads[7] *= 1e-30  # denormal squares
        data[f"grads{k}"] = grads
        exact = np.round(rng.normal(size=(20,) + shape) * 8) / 16  # multiples of 1/16 below 2: exact squares
        data[f"exact{k}"] = exact.clip(-1.9375, 1.9375).astype(np.float32)
    np.savez(tmp_path / "in.npz", **data)
    proc = subprocess.run([sys.executable, "-c", OPTIMIZER_SCRIPT, str(tmp_path / "in.npz"),
                           json.dumps([configs, schedules]), str(tmp_path / "out.npz")], capture_output=True, text=True,
                          env=dict(os.environ, CUDA_VISIBLE_DEVICES=""), timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ref = np.load(tmp_path / "out.npz")
    for i, (kind, cfg, grads) in enumerate(configs):
        if isinstance(cfg.get("learning_rate"), list):
            name, args = cfg["learning_rate"]
            cfg = dict(cfg, learning_rate=getattr(keras.optimizers.schedules, name)(**args))
        variables = [keras.Variable(data["w0"]), keras.Variable(data["w1"])]
        opt = getattr(keras.optimizers, kind)(**cfg)
        for g0, g1 in zip(data[grads + "0"], data[grads + "1"]):
            opt.apply_gradients([(keras.constant(g0), variables[0]), (keras.constant(g1), variables[1])])
        np.testing.assert_array_equal(variables[0].numpy(), ref[f"w{i}"], err_msg=f"{kind} {cfg}")
        np.testing.assert_array_equal(variables[1].numpy(), ref[f"v{i}"], err_msg=f"{kind} {cfg}")
        opt = getattr(keras.optimizers, kind)(**cfg)
        opt.build(small_model().trainable_weights)
        # Nadam's unnamed `variable` is numbered in Keras by how many came before it in the session
        keras_names = [re.sub(r"^variable_\d+$", "variable", str(n)) for n in ref[f"names{i}"]]
        assert [v.name for v in opt.variables] == keras_names, f"{kind} {cfg}"
    for i, (name, args) in enumerate(schedules):
        got = getattr(keras.optimizers.schedules, name)(**args)(np.arange(150)).numpy()
        np.testing.assert_array_equal(got, ref[f"schedule{i}"], err_msg=name)


BN_SCRIPT = r"""
import json, os, sys
os.environ["KERAS_BACKEND"] = "tensorflow"
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np, keras
from keras import layers
d = np.load(sys.argv[1])
inputs = keras.Input(shape=(784,))
x = layers.Dense(64, activation="relu")(inputs)
x = layers.BatchNormalization()(x)
outputs = layers.Dense(10, activation="softmax")(x)
model = keras.Model(inputs, outputs)
model.set_weights([d[f"w{i}"] for i in range(8)])
model.compile(keras.optimizers.SGD(0.01), "sparse_categorical_crossentropy", metrics=["accuracy"])
h = model.fit(d["x"], d["y"], batch_size=64, epochs=3, validation_data=(d["xv"], d["yv"]), shuffle=False, verbose=0)
bn = model.layers[2]
print(json.dumps({"history": h.history, "moving_mean": bn.moving_mean.numpy().tolist(),
                  "moving_variance": bn.moving_variance.numpy().tolist(),
                  "predict": model.predict(d["xv"][:5], verbose=0).tolist()}))
"""


def test_batch_normalization_training_matches_keras(fashion, tmp_path):
    """Batch statistics in training, moving averages updated per step and used in validation: SGD's
    3 epochs agree to 1e-6. (With RMSprop the two agree to 3e-7 for ~40 steps, then a unit whose
    batch variance nearly vanishes amplifies last-bit differences past 1e-3: chaos, not semantics.)"""
    from fastfit import layers
    (x_train, y_train), (x_val, y_val), _ = fashion
    x, y, xv, yv = x_train[:6000], y_train[:6000], x_val[:2000], y_val[:2000]
    keras.utils.set_random_seed(11)
    inputs = keras.Input(shape=(784,))
    h = layers.BatchNormalization()(layers.Dense(64, activation="relu")(inputs))
    model = keras.Model(inputs, layers.Dense(10, activation="softmax")(h))
    weights = model.get_weights()
    assert len(weights) == 8  # kernel, bias, gamma, beta, moving mean and variance, kernel, bias
    np.savez(tmp_path / "data.npz", x=x, y=y, xv=xv, yv=yv, **{f"w{i}": w for i, w in enumerate(weights)})
    proc = subprocess.run([sys.executable, "-c", BN_SCRIPT, str(tmp_path / "data.npz")], capture_output=True,
                          text=True, env=dict(os.environ, CUDA_VISIBLE_DEVICES=""), timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ref = json.loads(proc.stdout.strip().splitlines()[-1])
    model.compile(keras.optimizers.SGD(0.01), "sparse_categorical_crossentropy", metrics=["accuracy"])
    hist = model.fit(x, y, batch_size=64, epochs=3, validation_data=(xv, yv), shuffle=False, verbose=0).history
    assert set(hist) == set(ref["history"])
    for key in hist:
        np.testing.assert_allclose(hist[key], ref["history"][key], rtol=1e-5, err_msg=key)
    bn = model.layers[2]
    np.testing.assert_allclose(bn.moving_mean.numpy(), ref["moving_mean"], rtol=2e-3, atol=1e-4)
    np.testing.assert_allclose(bn.moving_variance.numpy(), ref["moving_variance"], rtol=2e-3, atol=1e-4)
    np.testing.assert_allclose(model.predict(xv[:5], verbose=0), ref["predict"], rtol=2e-2, atol=1e-3)


WEIGHTS_SCRIPT = KERAS_GUIDE_MODEL + r"""
model.compile(keras.optimizers.RMSprop(1e-3), "sparse_categorical_crossentropy",
              metrics=["sparse_categorical_accuracy"], weighted_metrics=["sparse_categorical_accuracy"])
class_weight = {i: 1.0 for i in range(10)}
class_weight[5] = 2.0
h = model.fit(d["x"], d["y"], class_weight=class_weight, batch_size=64, epochs=2, shuffle=False, verbose=0,
              validation_data=(d["xv"], d["yv"], d["wv"]))
ev = model.evaluate(d["xv"], d["yv"], sample_weight=d["wv"], batch_size=128, verbose=0, return_dict=True)
print(json.dumps({"history": h.history, "evaluate": ev}))
"""


def test_sample_and_class_weights_match_keras(fashion, tmp_path):
    """The guide's class_weight example, weighted metrics named as Keras names them, weighted validation."""
    (x_train, y_train), (x_val, y_val), _ = fashion
    x, y, xv, yv = x_train[:6000], y_train[:6000], x_val[:2000], y_val[:2000]
    wv = np.random.default_rng(0).uniform(0, 2, len(yv)).astype("float32")
    model = guide_model(seed=7)
    weights = model.get_weights()
    np.savez(tmp_path / "data.npz", x=x, y=y, xv=xv, yv=yv, wv=wv, **{f"w{i}": w for i, w in enumerate(weights)})
    proc = subprocess.run([sys.executable, "-c", WEIGHTS_SCRIPT, str(tmp_path / "data.npz")], capture_output=True,
                          text=True, env=dict(os.environ, CUDA_VISIBLE_DEVICES=""), timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ref = json.loads(proc.stdout.strip().splitlines()[-1])
    model.compile(keras.optimizers.RMSprop(1e-3), "sparse_categorical_crossentropy",
                  metrics=["sparse_categorical_accuracy"], weighted_metrics=["sparse_categorical_accuracy"])
    class_weight = {i: 1.0 for i in range(10)}
    class_weight[5] = 2.0
    h = model.fit(x, y, class_weight=class_weight, batch_size=64, epochs=2, shuffle=False, verbose=0,
                  validation_data=(xv, yv, wv)).history
    assert list(h) == list(ref["history"])
    for key in h:
        np.testing.assert_allclose(h[key], ref["history"][key], rtol=1e-4, err_msg=key)
    ev = model.evaluate(xv, yv, sample_weight=wv, batch_size=128, verbose=0, return_dict=True)
    assert list(ev) == list(ref["evaluate"])
    for key in ev:
        np.testing.assert_allclose(ev[key], ref["evaluate"][key], rtol=1e-4, err_msg=key)
