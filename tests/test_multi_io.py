"""Models with several inputs and outputs, compiled and trained as the guide trains them: losses
and metrics by list or by output name, loss weights, untrained outputs, dict data, Keras' log names."""
import json
import os
import subprocess
import sys
import importlib.util
import warnings

import numpy as np
import pytest

import fastfit as keras
from fastfit import layers
from fastfit.models.tracing import CompiledRunner
from helpers import runner_of


def two_by_two(seed=0, dict_io=False):
    keras.utils.set_random_seed(seed)
    a = keras.Input(shape=(8,), name="a_in")
    b = keras.Input(shape=(4,), name="b_in")
    h = layers.add([layers.Dense(6, activation="relu")(a), layers.Dense(6, activation="relu")(b)])
    score = layers.Dense(1, name="score_output")(h)
    cls = layers.Dense(5, activation="softmax", name="class_output")(h)
    if dict_io:
        return keras.Model(inputs={"a_in": a, "b_in": b}, outputs={"score_output": score, "class_output": cls})
    return keras.Model(inputs=[a, b], outputs=[score, cls])


def data(n=96, seed=0):
    rng = np.random.default_rng(seed)
    xa, xb = rng.normal(size=(n, 8)).astype("float32"), rng.normal(size=(n, 4)).astype("float32")
    ys = (xa[:, :1] - xb[:, :1]).astype("float32")
    yc = np.eye(5, dtype="float32")[rng.integers(0, 5, n)]
    return [xa, xb], [ys, yc]


def compile_guide(model, **kw):
    model.compile(optimizer=keras.optimizers.RMSprop(1e-3),
                  loss=[keras.losses.MeanSquaredError(), keras.losses.CategoricalCrossentropy()],
                  metrics=[["mse"], [keras.metrics.CategoricalAccuracy()]], **kw)
    return model


def test_list_losses_history_keys_and_weighted_sum():
    x, y = data()
    model = compile_guide(two_by_two(), loss_weights=[2.0, 1.0])
    h = model.fit(x, y, batch_size=32, epochs=2, shuffle=False, verbose=0, validation_data=(x, y)).history
    assert list(h) == ["class_output_categorical_accuracy", "class_output_loss", "loss", "score_output_loss",
                       "score_output_mse", "val_class_output_categorical_accuracy", "val_class_output_loss",
                       "val_loss", "val_score_output_loss", "val_score_output_mse"]
    res = model.evaluate(x, y, batch_size=32, verbose=0, return_dict=True)
    assert res["loss"] == pytest.approx(2.0 * res["score_output_loss"] + res["class_output_loss"], rel=1e-5)
    assert res["score_output_loss"] == pytest.approx(res["score_output_mse"], rel=1e-5)
    # evaluate's list: the loss, the outputs' losses, then the metrics by name
    assert model.evaluate(x, y, batch_size=32, verbose=0) == pytest.approx(
        [res[k] for k in ("loss", "score_output_loss", "class_output_loss", "class_output_categorical_accuracy",
                          "score_output_mse")])
    assert isinstance(runner_of(model, "train"), CompiledRunner)
    out = model.predict(x, verbose=0)
    assert isinstance(out, list) and [o.shape for o in out] == [(96, 1), (96, 5)]


def test_dict_losses_and_data_and_dict_models():
    x, y = data()
    xd, yd = {"a_in": x[0], "b_in": x[1]}, {"score_output": y[0], "class_output": y[1]}
    listed = compile_guide(two_by_two()).fit(x, y, batch_size=32, epochs=2, shuffle=False, verbose=0).history
    model = two_by_two()
    model.compile(keras.optimizers.RMSprop(1e-3),
                  loss={"class_output": keras.losses.CategoricalCrossentropy(),
                        "score_output": keras.losses.MeanSquaredError()},
                  metrics={"score_output": ["mse"], "class_output": [keras.metrics.CategoricalAccuracy()]})
    assert model.fit(xd, yd, batch_size=32, epochs=2, shuffle=False, verbose=0).history == listed
    dict_model = two_by_two(dict_io=True)
    compile_guide(dict_model)
    assert dict_model.fit(xd, yd, batch_size=32, epochs=2, shuffle=False, verbose=0).history == listed
    out = dict_model.predict(xd, verbose=0)
    assert sorted(out) == ["class_output", "score_output"] and out["class_output"].shape == (96, 5)
    assert set(dict_model(xd)) == {"class_output", "score_output"}


@pytest.mark.parametrize("how", ["list", "dict"])
def test_an_output_without_a_loss_is_not_trained(how):
    x, y = data()
    model = two_by_two()
    loss = [None, keras.losses.CategoricalCrossentropy()] if how == "list" else {
        "class_output": keras.losses.CategoricalCrossentropy()}
    model.compile(keras.optimizers.RMSprop(1e-2), loss=loss)
    score_layer = model.get_layer("score_output")
    before = [w.numpy().copy() for w in score_layer.weights]
    h = model.fit(x, y, batch_size=32, epochs=2, verbose=0).history
    assert list(h) == ["loss"]  # one trained output: no per-output loss key, as Keras
    for w, b in zip(score_layer.weights, before):
        np.testing.assert_array_equal(w.numpy(), b)
    assert not np.array_equal(model.get_layer("class_output").weights[0].numpy(), np.zeros(1))


def test_one_loss_for_every_output():
    x, y = data()
    model = two_by_two()
    model.compile("rmsprop", loss="mse")
    h = model.fit(x, y, epochs=1, verbose=0).history
    assert list(h) == ["class_output_loss", "loss", "score_output_loss"]


def test_multi_output_errors():
    x, y = data()
    with pytest.raises(ValueError, match=r"in loss dict, but found loss.keys\(\)=\['nope'\]"):
        two_by_two().compile("rmsprop", loss={"nope": "mse"})
    with pytest.raises(ValueError, match="`loss` is a list of 1 losses, but the model has 2 outputs"):
        two_by_two().compile("rmsprop", loss=["mse"])
    with pytest.raises(ValueError, match="`loss_weights` has 3 entries"):
        two_by_two().compile("rmsprop", loss="mse", loss_weights=[1, 2, 3])
    with pytest.raises(ValueError, match="`metrics` key"):
        two_by_two().compile("rmsprop", loss="mse", metrics={"nope": ["mse"]})
    model = two_by_two()
    model.compile("rmsprop", loss="mse")
    with pytest.raises(ValueError, match=r"expects 2 input\(s\)"):
        model.fit(x[:1], y, verbose=0)
    with pytest.raises(ValueError, match="keys"):
        model.fit({"a_in": x[0]}, y, verbose=0)
    with pytest.raises(ValueError, match="expected 2 target arrays"):
        model.fit(x, y[:1], verbose=0)
    with pytest.raises(ValueError, match=r"expects 2 input\(s\), got 3"):
        model.fit(x + x[:1], y, verbose=0)
    with pytest.raises(ValueError, match=r"`y` is a dict with keys \['class_output', 'nope'\]"):
        model.fit(x, {"nope": y[0], "class_output": y[1]}, verbose=0)


def test_a_disconnected_graph_names_the_missing_input():
    a, b = keras.Input(shape=(3,), name="a"), keras.Input(shape=(3,), name="b")
    with pytest.raises(ValueError, match="depends on input 'b', which is not in `inputs`"):
        keras.Model(a, layers.Dense(2)(b))
    with pytest.raises(ValueError, match="depends on input 'b'"):
        keras.Model([a], layers.add([layers.Dense(2)(a), layers.Dense(2)(b)]))


def guide_model():
    """The guide's model: an image branch and a variable-length time series branch."""
    keras.utils.set_random_seed(0)
    img = keras.Input(shape=(32, 32, 3), name="img_input")
    ts = keras.Input(shape=(None, 10), name="ts_input")
    x = layers.concatenate([layers.GlobalMaxPooling2D()(layers.Conv2D(3, 3)(img)),
                            layers.GlobalMaxPooling1D()(layers.Conv1D(3, 3)(ts))])
    model = keras.Model(inputs=[img, ts], outputs=[layers.Dense(1, name="score_output")(x),
                                                   layers.Dense(5, name="class_output")(x)])
    model.compile(optimizer=keras.optimizers.RMSprop(1e-3),
                  loss=[keras.losses.MeanSquaredError(), keras.losses.CategoricalCrossentropy(from_logits=True)])
    return model


def test_each_length_of_a_variable_axis_gets_its_own_compiled_program():
    rng = np.random.default_rng(0)
    n = 40
    img = rng.random((n, 32, 32, 3), dtype=np.float32)
    targets = [rng.random((n, 1), dtype=np.float32), np.eye(5, dtype=np.float32)[rng.integers(0, 5, n)]]
    compiled, eager = guide_model(), guide_model()
    eager.compile(optimizer=keras.optimizers.RMSprop(1e-3), run_eagerly=True,
                  loss=[keras.losses.MeanSquaredError(), keras.losses.CategoricalCrossentropy(from_logits=True)])
    for length in (20, 7, 20):
        ts = rng.random((n, length, 10), dtype=np.float32)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no fallback
            got = compiled.fit([img, ts], targets, batch_size=16, verbose=0, shuffle=False).history
        want = eager.fit([img, ts], targets, batch_size=16, verbose=0, shuffle=False).history
        for k in want:
            np.testing.assert_allclose(got[k], want[k], rtol=1e-4, err_msg=f"{k} at length {length}")
        assert isinstance(runner_of(compiled, "train"), CompiledRunner)
        preds = compiled.predict([img, ts], verbose=0)
        assert [p.shape for p in preds] == [(n, 1), (n, 5)]
    assert not compiled._fallback_reasons
    assert len([key for key in compiled._programs if key[0] == "train"]) == 2  # one program per length


def test_sample_weights_apply_to_every_output():
    x, y = data()
    w = np.linspace(0, 2, 96).astype("float32")
    model = compile_guide(two_by_two())
    res = model.evaluate(x, y, sample_weight=w, batch_size=96, verbose=0, return_dict=True)
    ps, pc = model.predict(x, verbose=0)
    mse = ((ps - y[0]) ** 2).mean(1)
    assert res["score_output_loss"] == pytest.approx(np.mean(w * mse), rel=1e-5)


KERAS_SCRIPT = r"""
import json, os, sys
os.environ["KERAS_BACKEND"] = "tensorflow"
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np, keras
from keras import layers
d = np.load(sys.argv[1])
a = keras.Input(shape=(8,), name="a_in"); b = keras.Input(shape=(4,), name="b_in")
h = layers.add([layers.Dense(6, activation="relu")(a), layers.Dense(6, activation="relu")(b)])
model = keras.Model([a, b], [layers.Dense(1, name="score_output")(h),
                             layers.Dense(5, activation="softmax", name="class_output")(h)])
model.set_weights([d[f"w{i}"] for i in range(8)])
model.compile(optimizer=keras.optimizers.RMSprop(1e-3),
              loss=[keras.losses.MeanSquaredError(), keras.losses.CategoricalCrossentropy()],
              metrics=[["mse"], [keras.metrics.CategoricalAccuracy()]], loss_weights=[2.0, 1.0])
h = model.fit([d["xa"], d["xb"]], [d["ys"], d["yc"]], batch_size=32, epochs=2, shuffle=False, verbose=0)
ev = model.evaluate([d["xa"], d["xb"]], [d["ys"], d["yc"]], batch_size=32, verbose=0)
print(json.dumps({"history": h.history, "evaluate": ev}))
"""


@pytest.mark.skipif(importlib.util.find_spec("tensorflow") is None, reason="tensorflow is not installed")
def test_the_guides_multi_output_training_matches_keras(tmp_path):
    x, y = data()
    model = compile_guide(two_by_two(), loss_weights=[2.0, 1.0])
    np.savez(tmp_path / "d.npz", xa=x[0], xb=x[1], ys=y[0], yc=y[1],
             **{f"w{i}": w for i, w in enumerate(model.get_weights())})
    proc = subprocess.run([sys.executable, "-c", KERAS_SCRIPT, str(tmp_path / "d.npz")], capture_output=True,
                          text=True, env=dict(os.environ, CUDA_VISIBLE_DEVICES=""), timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ref = json.loads(proc.stdout.strip().splitlines()[-1])
    h = model.fit(x, y, batch_size=32, epochs=2, shuffle=False, verbose=0).history
    assert list(h) == list(ref["history"])
    for k in h:
        np.testing.assert_allclose(h[k], ref["history"][k], rtol=1e-4, err_msg=k)
    np.testing.assert_allclose(model.evaluate(x, y, batch_size=32, verbose=0), ref["evaluate"], rtol=1e-4)


def test_a_merge_of_one_branch_and_shared_layers_and_nested_models():
    keras.utils.set_random_seed(0)
    a = keras.Input(shape=(8,), name="a")
    shared = layers.Dense(4, activation="tanh", name="shared")
    one = layers.concatenate([shared(a)])  # a merge called on a one-element list replays as one
    inner = keras.Model(a, layers.Dense(3, name="inner_out")(one), name="inner")
    b = keras.Input(shape=(8,), name="b")
    outer = keras.Model([a, b], layers.add([inner(a), inner(b)]))  # a model used as a layer, twice
    x = [np.ones((5, 8), "float32"), np.zeros((5, 8), "float32")]
    want = inner(x[0]).numpy() + inner(x[1]).numpy()
    np.testing.assert_allclose(outer(x).numpy(), want, rtol=1e-6)
    outer.compile("sgd", "mse")
    outer.fit(x, np.zeros((5, 3), "float32"), epochs=1, verbose=0)
    assert outer.get_layer("inner") is inner and inner.get_layer("shared") is shared
    assert len(outer.trainable_weights) == 4  # shared and inner_out's kernels and biases, once each
