"""Files cross between fastfit and Keras 3: fastfit's .keras, .h5 and .weights.h5 load in Keras and
predict the same, with the optimizer state; Keras' files load in fastfit likewise. The models use
layers both have (Dense, convolutions, pooling, BatchNormalization, Dropout, Embedding, merging and
reshaping layers). Keras runs once, in a subprocess (skipped where tensorflow is not installed)."""
import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import fastfit

pytestmark = [pytest.mark.skipif(importlib.util.find_spec("tensorflow") is None, reason="tensorflow is not installed"),
              pytest.mark.skipif(importlib.util.find_spec("h5py") is None, reason="h5py is not installed")]

# Run with `keras` being fastfit or Keras 3: the same models in both.
BUILD = r'''
def build_models(keras):
    L = keras.layers
    img, vec = keras.Input(shape=(8, 8, 3), name="image"), keras.Input(shape=(5,), name="features")
    h = L.Conv2D(4, 3, padding="same", activation="relu")(img)
    h = L.BatchNormalization()(h)
    h = L.MaxPooling2D(2)(h)
    h = L.DepthwiseConv2D(3, padding="same")(h)
    h = L.SeparableConv2D(4, 3)(h)
    h = L.Conv2DTranspose(2, 3, strides=2)(h)
    h = L.AveragePooling2D(2)(h)
    h = L.Dropout(0.3)(L.Flatten()(h))
    h = L.Dense(8, activation="relu")(h)
    v = L.LayerNormalization()(L.Dense(4)(vec))
    cnn = keras.Model([img, vec], L.Dense(3, activation="softmax", name="out")(L.Concatenate()([h, v])), name="cnn")
    cnn.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy", metrics=["accuracy"])

    text = keras.Sequential([keras.Input(shape=(6,), dtype="int32"), L.Embedding(20, 4), L.Conv1D(4, 3, activation="tanh"),
                             L.MaxPooling1D(2), L.GlobalAveragePooling1D(), L.Dense(1)], name="text")
    text.compile(keras.optimizers.RMSprop(0.01, momentum=0.9), "mse", metrics=["mae"])

    a, b = keras.Input(shape=(12,), name="a"), keras.Input(shape=(12,), name="b")
    g = L.Reshape((2, 2, 3))(a)
    g = L.UpSampling2D(2)(L.ZeroPadding2D(1)(g))
    g = L.GlobalMaxPooling2D()(L.Permute((2, 1, 3))(L.Cropping2D(1)(g)))
    d = L.Dense(3)
    m = [L.Add()([d(g), d(L.Dense(3)(b))]), L.Multiply()([g, g]), L.Average()([g, g]), L.Maximum()([g, g]),
         L.Minimum()([g, g]), L.Subtract()([g, g]), L.Dot(axes=1)([g, g])]
    out = L.Dense(2)(L.Flatten()(L.RepeatVector(2)(L.Concatenate()(m))))
    merge = keras.Model([a, b], out, name="merge")
    merge.compile(keras.optimizers.SGD(0.001, momentum=0.5), "mse")
    return {"cnn": cnn, "text": text, "merge": merge}


def data_for(name, n=24, seed=0):
    import numpy as np
    rng = np.random.default_rng(seed)
    if name == "cnn":
        return [rng.normal(size=(n, 8, 8, 3)).astype("float32"), rng.normal(size=(n, 5)).astype("float32")], \
            rng.integers(0, 3, n)
    if name == "text":
        return rng.integers(0, 20, (n, 6)).astype("int32"), rng.normal(size=(n, 1)).astype("float32")
    return [rng.normal(size=(n, 12)).astype("float32") for _ in range(2)], rng.normal(size=(n, 2)).astype("float32")
'''

KERAS_SCRIPT = r'''
import json, os, sys
os.environ["KERAS_BACKEND"] = "tensorflow"
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np, keras
exec(sys.argv[1])
folder, out = sys.argv[2], {}
for name, model in build_models(keras).items():
    x, y = data_for(name)
    for kind in ("keras", "h5"):  # fastfit's files in Keras
        loaded = keras.models.load_model(f"{folder}/ff_{name}.{kind}")
        out[f"{name}_{kind}_pred"] = loaded.predict(x, verbose=0)
        if kind == "keras":
            out[f"{name}_keras_opt"] = np.concatenate([np.ravel(v.numpy()) for v in loaded.optimizer.variables])
    model.load_weights(f"{folder}/ff_{name}.weights.h5")
    out[f"{name}_weights_pred"] = model.predict(x, verbose=0)
    keras.utils.set_random_seed(0)  # Keras' own files, for fastfit
    model = build_models(keras)[name]
    model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    model.save(f"{folder}/k_{name}.keras")
    model.save(f"{folder}/k_{name}.h5")
    model.save_weights(f"{folder}/k_{name}.weights.h5")
    out[f"{name}_own_pred"] = model.predict(x, verbose=0)
    out[f"{name}_own_opt"] = np.concatenate([np.ravel(v.numpy()) for v in model.optimizer.variables])
np.savez(f"{folder}/keras.npz", **out)
'''

namespace = {}
exec(BUILD, namespace)
build_models, data_for = namespace["build_models"], namespace["data_for"]


def _opt_state(model):
    return np.concatenate([np.ravel(np.asarray(v)) for v in model.optimizer.variables])


@pytest.fixture(scope="module")
def crossed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("keras_files")
    ours = {}
    fastfit.utils.set_random_seed(0)
    for name, model in build_models(fastfit).items():
        x, y = data_for(name)
        model.fit(x, y, batch_size=8, epochs=2, verbose=0)
        model.save(folder / f"ff_{name}.keras")
        model.save(folder / f"ff_{name}.h5")
        model.save_weights(folder / f"ff_{name}.weights.h5")
        ours[name] = (model.predict(x, verbose=0), _opt_state(model))
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="")
    proc = subprocess.run([sys.executable, "-c", KERAS_SCRIPT, BUILD, str(folder)], capture_output=True, text=True,
                          env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with np.load(folder / "keras.npz") as theirs:
        return folder, ours, dict(theirs)


@pytest.mark.parametrize("name", ["cnn", "text", "merge"])
def test_fastfit_files_load_in_keras(crossed, name):
    _, ours, theirs = crossed
    prediction, optimizer = ours[name]
    for kind in ("keras", "h5", "weights"):
        np.testing.assert_allclose(theirs[f"{name}_{kind}_pred"], prediction, rtol=1e-4, atol=1e-5, err_msg=kind)
    # the optimizer state, exactly (Keras 3 restores no optimizer slots from .h5 files, its own included)
    np.testing.assert_array_equal(theirs[f"{name}_keras_opt"], optimizer)


@pytest.mark.parametrize("name", ["cnn", "text", "merge"])
def test_keras_files_load_in_fastfit(crossed, name):
    folder, _, theirs = crossed
    x, _ = data_for(name)
    for kind in ("keras", "h5"):
        model = fastfit.models.load_model(folder / f"k_{name}.{kind}")
        np.testing.assert_allclose(model.predict(x, verbose=0), theirs[f"{name}_own_pred"], rtol=1e-4, atol=1e-5,
                                   err_msg=kind)
        np.testing.assert_array_equal(_opt_state(model), theirs[f"{name}_own_opt"])
    model = build_models(fastfit)[name]
    model.load_weights(folder / f"k_{name}.weights.h5")
    np.testing.assert_allclose(model.predict(x, verbose=0), theirs[f"{name}_own_pred"], rtol=1e-4, atol=1e-5)


def test_keras_config_of_a_fastfit_model_matches_keras(crossed):
    """config.json of a .keras file: the same classes and layer configs as Keras writes (names aside)."""
    import zipfile
    folder, _, _ = crossed

    def layer_configs(path):
        with zipfile.ZipFile(path) as zf:
            config = json.loads(zf.read("config.json"))
        return config["class_name"], [(e["class_name"], {k: v for k, v in e["config"].items() if k != "name"})
                                      for e in config["config"]["layers"]]
    for name in ("cnn", "text", "merge"):
        ours, theirs = layer_configs(folder / f"ff_{name}.keras"), layer_configs(folder / f"k_{name}.keras")
        assert ours[0] == theirs[0]
        for (our_class, our_config), (their_class, their_config) in zip(ours[1], theirs[1]):
            assert our_class == their_class
            assert set(our_config) <= set(their_config), (our_class, set(our_config) - set(their_config))
