"""Every built-in layer saved in a model and loaded back: same config, same weights and optimizer
state, bit-identical predictions; configs rebuild layers; multi-input, shared-layer, nested and
tf-op graphs, Sequential and subclassed models round-trip through .keras, .h5 and .weights.h5."""
import inspect
import json

import numpy as np
import pytest

import fastfit as keras
import fastfit as tf
from fastfit import layers

pytest.importorskip("h5py")


@keras.saving.register_keras_serializable(package="tests")
def double_plus_one(x):
    return x * 2.0 + 1.0


# (layer, input shapes without the batch axis; "i" first: int32 ids)
CASES = [
    (lambda: layers.Dense(3, activation="relu"), [(4,)]),
    (lambda: layers.Activation("tanh"), [(4,)]),
    (lambda: layers.Identity(), [(4,)]),
    (lambda: layers.Lambda(double_plus_one), [(4,)]),
    (lambda: layers.Embedding(10, 3), ["i", (5,)]),
    (lambda: layers.Dropout(0.3, seed=3), [(4,)]),
    (lambda: layers.BatchNormalization(momentum=0.9), [(4,)]),
    (lambda: layers.LayerNormalization(epsilon=1e-4), [(4,)]),
    (lambda: layers.Flatten(), [(2, 3)]),
    (lambda: layers.Reshape((3, 2)), [(6,)]),
    (lambda: layers.Permute((2, 1)), [(2, 3)]),
    (lambda: layers.RepeatVector(2), [(3,)]),
    (lambda: layers.ZeroPadding2D(1), [(4, 4, 2)]),
    (lambda: layers.UpSampling2D(2), [(3, 3, 2)]),
    (lambda: layers.Cropping2D(1), [(5, 5, 2)]),
    (lambda: layers.Add(), [(4,), (4,)]),
    (lambda: layers.Subtract(), [(4,), (4,)]),
    (lambda: layers.Multiply(), [(4,), (4,)]),
    (lambda: layers.Average(), [(4,), (4,)]),
    (lambda: layers.Maximum(), [(4,), (4,)]),
    (lambda: layers.Minimum(), [(4,), (4,)]),
    (lambda: layers.Concatenate(axis=-1), [(4,), (3,)]),
    (lambda: layers.Dot(axes=1, normalize=True), [(4,), (4,)]),
    (lambda: layers.Conv1D(2, 3, padding="causal"), [(6, 3)]),
    (lambda: layers.Conv2D(2, 3, strides=2, activation="relu"), [(6, 6, 2)]),
    (lambda: layers.Conv2DTranspose(2, 3, strides=2), [(4, 4, 2)]),
    (lambda: layers.DepthwiseConv2D(3, depth_multiplier=2), [(5, 5, 2)]),
    (lambda: layers.SeparableConv2D(2, 3), [(5, 5, 2)]),
    (lambda: layers.MaxPooling1D(2), [(6, 3)]),
    (lambda: layers.MaxPooling2D(2), [(4, 4, 2)]),
    (lambda: layers.AveragePooling1D(2), [(6, 3)]),
    (lambda: layers.AveragePooling2D(2, padding="same"), [(5, 5, 2)]),
    (lambda: layers.GlobalMaxPooling1D(), [(6, 3)]),
    (lambda: layers.GlobalMaxPooling2D(keepdims=True), [(4, 4, 2)]),
    (lambda: layers.GlobalAveragePooling1D(), [(6, 3)]),
    (lambda: layers.GlobalAveragePooling2D(), [(4, 4, 2)]),
    (lambda: layers.Dense(3, kernel_regularizer="l2", activity_regularizer=keras.regularizers.L1(0.1),
                          kernel_constraint=keras.constraints.MaxNorm(2.0)), [(4,)]),
    (lambda: layers.ActivityRegularization(l1=0.01, l2=0.02), [(4,)]),
    (lambda: layers.AlphaDropout(0.2, seed=1), [(4,)]),
    (lambda: layers.GaussianDropout(0.2, seed=1), [(4,)]),
    (lambda: layers.GaussianNoise(0.1, seed=1), [(4,)]),
    (lambda: layers.SpatialDropout1D(0.2, seed=1), [(6, 3)]),
    (lambda: layers.SpatialDropout2D(0.2, seed=1), [(4, 4, 2)]),
    (lambda: layers.CategoryEncoding(num_tokens=6, output_mode="multi_hot"), ["i", (3,)]),
    (lambda: layers.Cropping1D((1, 2)), [(6, 3)]),
    (lambda: layers.ZeroPadding1D(2), [(6, 3)]),
    (lambda: layers.UpSampling1D(2), [(6, 3)]),
    (lambda: layers.ELU(alpha=0.5), [(4,)]),
    (lambda: layers.LeakyReLU(negative_slope=0.1), [(4,)]),
    (lambda: layers.PReLU(alpha_initializer="ones", shared_axes=[1]), [(3, 4)]),
    (lambda: layers.ReLU(max_value=2.0, negative_slope=0.1, threshold=0.5), [(4,)]),
    (lambda: layers.Softmax(axis=-1), [(4,)]),
    (lambda: layers.Rescaling(1 / 255, offset=-0.5), [(4,)]),
    (lambda: layers.Normalization(mean=[1.0, 2.0, 3.0, 4.0], variance=[1.0, 4.0, 9.0, 16.0]), [(4,)]),
]
NOT_LAYERS = {layers.Layer, layers.InputLayer, layers.KerasTensor}  # the base, Input's layer (in every model)


def test_every_public_layer_class_has_a_case():
    public = {getattr(layers, n) for n in layers.__all__ if inspect.isclass(getattr(layers, n))} - NOT_LAYERS
    covered = {type(make()) for make, _ in CASES}
    assert public - covered == set()


def _model(make):
    layer, specs = make(), dict(CASES)[make]
    ids = specs[0] == "i"
    shapes = specs[1:] if ids else specs
    inputs = [keras.Input(shape=s, dtype="int32" if ids else "float32") for s in shapes]
    x = layer(inputs if len(inputs) > 1 else inputs[0])
    outputs = layers.Dense(2)(x)  # every model has weights to train
    return keras.Model(inputs, outputs), layer, shapes, ids


def _data(shapes, ids, n=16, seed=0):
    rng = np.random.default_rng(seed)
    xs = [rng.integers(0, 10, (n,) + s).astype(np.int32) if ids else rng.normal(size=(n,) + s).astype(np.float32)
          for s in shapes]
    return xs if len(xs) > 1 else xs[0]


def _same_state(a, b, same_names=True):
    """Same weights and optimizer state (a subclassed model's layers get new names, as in Keras)."""
    assert [w.shape for w in a.weights] == [w.shape for w in b.weights]
    for u, v in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(u, v)
    assert len(a.optimizer.variables) == len(b.optimizer.variables)
    for u, v in zip(a.optimizer.variables, b.optimizer.variables):
        assert u.path == v.path or not same_names
        np.testing.assert_array_equal(np.asarray(u), np.asarray(v))


@pytest.mark.parametrize("make", [m for m, _ in CASES], ids=[type(m()).__name__ for m, _ in CASES])
def test_layer_round_trips_in_a_model(make, tmp_path):
    keras.utils.set_random_seed(0)
    model, layer, shapes, ids = _model(make)
    model.compile(keras.optimizers.Adam(0.01), "mse")
    x = _data(shapes, ids)
    y = np.random.default_rng(1).normal(size=model.predict(x, verbose=0).shape).astype(np.float32)
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    config = layer.get_config()
    assert type(layer).from_config(config).get_config() == {**config, "name": config["name"]}
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert loaded.get_layer(layer.name).get_config() == config
    _same_state(model, loaded)
    np.testing.assert_array_equal(model.predict(x, verbose=0), loaded.predict(x, verbose=0))
    # The next training step continues alike: same optimizer state, same random stream.
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, shuffle=False)
    loaded.fit(x, y, batch_size=8, epochs=1, verbose=0, shuffle=False)
    _same_state(model, loaded)


def test_multi_input_model_with_optimizer_state_round_trips(tmp_path):
    keras.utils.set_random_seed(0)
    a, b = keras.Input(shape=(8,), name="a"), keras.Input(shape=(3,), name="b")
    h = layers.Dense(6, activation="relu")(a)
    h = layers.Dropout(0.25)(h)
    h = layers.BatchNormalization()(h)
    joined = layers.Concatenate()([h, b])
    out1 = layers.Dense(3, activation="softmax", name="cls")(joined)
    out2 = layers.Dense(1, name="reg")(joined)
    model = keras.Model({"a": a, "b": b}, {"cls": out1, "reg": out2})
    model.compile(keras.optimizers.RMSprop(0.01, momentum=0.5, centered=True),
                  loss={"cls": "sparse_categorical_crossentropy", "reg": keras.losses.Huber(delta=0.5)},
                  loss_weights={"cls": 1.0, "reg": 0.5}, metrics={"cls": ["accuracy"], "reg": ["mae"]})
    rng = np.random.default_rng(0)
    x = {"a": rng.normal(size=(40, 8)).astype(np.float32), "b": rng.normal(size=(40, 3)).astype(np.float32)}
    y = {"cls": rng.integers(0, 3, 40), "reg": rng.normal(size=(40, 1)).astype(np.float32)}
    model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    for name in ("m.keras", "m.h5"):
        model.save(tmp_path / name)
        loaded = keras.models.load_model(tmp_path / name)
        _same_state(model, loaded)
        got, want = loaded.predict(x, verbose=0), model.predict(x, verbose=0)
        assert set(got) == {"cls", "reg"}
        for key in want:
            np.testing.assert_array_equal(got[key], want[key])
        assert loaded.evaluate(x, y, verbose=0, return_dict=True) == model.evaluate(x, y, verbose=0,
                                                                                    return_dict=True)
    config = loaded.get_compile_config()
    assert config["loss_weights"] == {"cls": 1.0, "reg": 0.5} and config["metrics"] == {"cls": ["accuracy"],
                                                                                         "reg": ["mae"]}
    assert isinstance(loaded.optimizer, keras.optimizers.RMSprop) and loaded.optimizer.centered


def test_shared_layers_nested_model_and_tf_ops_round_trip(tmp_path):
    keras.utils.set_random_seed(0)
    inner_in = keras.Input(shape=(4,))
    inner = keras.Model(inner_in, layers.Dense(4, activation="tanh")(inner_in), name="inner")
    x1, x2 = keras.Input(shape=(4,), name="x1"), keras.Input(shape=(4,), name="x2")
    shared = layers.Dense(4, name="shared")
    h1, h2 = shared(x1), shared(inner(x2))   # one layer, two calls; a model as a layer
    s = tf.reduce_sum(h1 * 0.5, axis=1, keepdims=True) + h2[:, :1]
    out = layers.Concatenate()([s, tf.exp(-tf.abs(h2))])
    model = keras.Model([x1, x2], out)
    model.add_loss(tf.reduce_mean(tf.square(h1)) * 0.1)
    model.compile("adam", "mse")
    rng = np.random.default_rng(0)
    x = [rng.normal(size=(24, 4)).astype(np.float32) for _ in range(2)]
    y = rng.normal(size=(24, 5)).astype(np.float32)
    model.fit(x, y, verbose=0)
    for name in ("m.keras", "m.h5"):
        model.save(tmp_path / name)
        loaded = keras.models.load_model(tmp_path / name)
        assert [l.name for l in loaded.layers] == [l.name for l in model.layers]
        np.testing.assert_array_equal(model.predict(x, verbose=0), loaded.predict(x, verbose=0))
        assert loaded.evaluate(x, y, verbose=0) == model.evaluate(x, y, verbose=0)  # the added loss too
    assert [type(l).__name__ for l in loaded.layers].count("OpLayer") == 10
    assert len(loaded.get_layer("shared").weights) == 2  # still one layer, called twice


def test_sequential_round_trips_with_its_input(tmp_path):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(shape=(5,), name="features"), layers.Dense(3, activation="relu"),
                              layers.Dropout(0.2), layers.Dense(1)], name="seq")
    model.compile(keras.optimizers.SGD(0.1, momentum=0.9, nesterov=True), keras.losses.MeanSquaredError(),
                  metrics=[keras.metrics.MeanAbsoluteError()])
    x = np.random.default_rng(0).normal(size=(20, 5)).astype(np.float32)
    model.fit(x, x[:, :1], verbose=0)
    config = model.get_config()
    assert config["layers"][0]["config"]["name"] == "features" and config["build_input_shape"] == [None, 5]
    model.save(tmp_path / "s.keras")
    loaded = keras.models.load_model(tmp_path / "s.keras")
    assert isinstance(loaded, keras.Sequential) and loaded.name == "seq"
    _same_state(model, loaded)
    np.testing.assert_array_equal(model.predict(x, verbose=0), loaded.predict(x, verbose=0))
    unbuilt = keras.Sequential([layers.Dense(2)])
    assert keras.Sequential.from_config(unbuilt.get_config()).layers[0].get_config()["units"] == 2


@keras.saving.register_keras_serializable(package="tests")
class Residual(keras.Model):
    """A subclassed model saved from its constructor's arguments (auto-config) and built on load."""

    def __init__(self, units=4, depth=2, **kwargs):
        super().__init__(**kwargs)
        self.units, self.depth = units, depth
        self.inp = layers.Dense(units, activation="relu")
        self.blocks = [layers.Dense(units, activation="tanh") for _ in range(depth)]
        self.head = layers.Dense(1)

    def call(self, x):
        h = self.inp(x)
        for block in self.blocks:
            h = h + block(h)
        return self.head(h)


def test_subclassed_model_round_trips_with_auto_config(tmp_path):
    keras.utils.set_random_seed(0)
    model = Residual(units=6, depth=3, name="res")
    model.compile(keras.optimizers.Adam(0.01), "mse")
    x = np.random.default_rng(0).normal(size=(20, 5)).astype(np.float32)
    model.fit(x, x[:, :1], verbose=0)
    assert {k: model.get_config()[k] for k in ("units", "depth", "name")} == {"units": 6, "depth": 3, "name": "res"}
    model.save(tmp_path / "r.keras")
    model.save_weights(tmp_path / "r.weights.h5")
    loaded = keras.models.load_model(tmp_path / "r.keras")
    assert isinstance(loaded, Residual) and loaded.depth == 3
    _same_state(model, loaded, same_names=False)
    np.testing.assert_array_equal(model.predict(x, verbose=0), loaded.predict(x, verbose=0))
    fresh = Residual(units=6, depth=3)
    fresh(x[:1])
    fresh.load_weights(tmp_path / "r.weights.h5")
    np.testing.assert_array_equal(model.predict(x, verbose=0), fresh.predict(x, verbose=0))


def test_weights_file_has_keras_3_paths(tmp_path):
    import h5py
    keras.utils.set_random_seed(0)
    model, _, shapes, ids = _model(CASES[6][0])  # BatchNormalization, then Dense
    model.compile("adam", "mse")
    model.fit(_data(shapes, ids), np.zeros((16, 2), np.float32), verbose=0)
    model.save_weights(tmp_path / "w.weights.h5")
    with h5py.File(tmp_path / "w.weights.h5") as f:
        names = []
        f.visititems(lambda name, obj: names.append(name) if isinstance(obj, h5py.Dataset) else None)
        assert f["layers/batch_normalization/vars"].attrs["name"] == model.layers[1].name
    assert names == sorted(["layers/batch_normalization/vars/0", "layers/batch_normalization/vars/1",
                            "layers/batch_normalization/vars/2", "layers/batch_normalization/vars/3",
                            "layers/dense/vars/0", "layers/dense/vars/1"] +
                           [f"optimizer/vars/{i}" for i in range(10)])


def test_save_and_load_weights_keep_bits(tmp_path):
    keras.utils.set_random_seed(0)
    model, _, shapes, ids = _model(CASES[24][0])  # Conv2D
    x = _data(shapes, ids)
    model.save_weights(tmp_path / "w.weights.h5")
    keras.utils.set_random_seed(1)
    other, _, _, _ = _model(CASES[24][0])
    assert not np.array_equal(model.predict(x, verbose=0), other.predict(x, verbose=0))
    other.load_weights(tmp_path / "w.weights.h5")
    np.testing.assert_array_equal(model.predict(x, verbose=0), other.predict(x, verbose=0))


def test_to_json_model_from_json_and_clone_model():
    keras.utils.set_random_seed(0)
    model, _, shapes, ids = _model(CASES[0][0])
    rebuilt = keras.models.model_from_json(model.to_json())
    assert rebuilt.get_config() == model.get_config()
    clone = keras.models.clone_model(model)
    assert [type(l) for l in clone.layers] == [type(l) for l in model.layers]
    assert not any(a is b for a, b in zip(clone.weights, model.weights))
    clone.set_weights(model.get_weights())
    x = _data(shapes, ids)
    np.testing.assert_array_equal(clone.predict(x, verbose=0), model.predict(x, verbose=0))
    renamed = keras.models.clone_model(model, clone_function=lambda l: type(l).from_config(
        {**l.get_config(), "name": l.name + "_copy"}))
    assert [l.name for l in renamed.layers[1:]] == [l.name + "_copy" for l in model.layers[1:]]
    seq = keras.Sequential([keras.Input(shape=(3,)), layers.Dense(2)])
    assert keras.models.clone_model(seq).get_config()["layers"][1]["config"]["units"] == 2
    sub = Residual(units=3, depth=1)  # a subclassed model: from its config, not registered by name
    assert isinstance(keras.models.clone_model(sub), Residual) and keras.models.clone_model(sub).units == 3
    with pytest.raises(ValueError, match="The name 'twin' is used 2 times"):
        a = keras.Input(shape=(2,))
        keras.Model(a, layers.Dense(1, name="twin")(layers.Dense(2, name="twin")(a))).get_config()


def test_loading_does_not_move_the_global_random_stream(tmp_path):
    model, _, _, _ = _model(CASES[5][0])  # Dropout: draws a seed when made
    model.save(tmp_path / "m.keras")
    keras.utils.set_random_seed(7)
    expected = keras.backend.rng().integers(1 << 30, size=3)
    keras.utils.set_random_seed(7)
    keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(keras.backend.rng().integers(1 << 30, size=3), expected)


def test_h5_file_has_keras_2_layout(tmp_path):
    import h5py
    keras.utils.set_random_seed(0)
    model, _, shapes, ids = _model(CASES[6][0])  # BatchNormalization, then Dense
    model.compile("adam", "mse")
    x = _data(shapes, ids)
    model.fit(x, np.zeros((16, 2), np.float32), verbose=0)
    model.save(tmp_path / "m.h5")
    bn, dense = model.layers[1].name, model.layers[2].name
    with h5py.File(tmp_path / "m.h5") as f:
        assert {"model_config", "training_config", "keras_version", "backend"} <= set(f.attrs)
        assert json.loads(f.attrs["model_config"])["class_name"] == "Functional"
        assert json.loads(f.attrs["training_config"])["optimizer_config"]["class_name"] == "Adam"
        weights = f["model_weights"]
        assert [n.decode() for n in weights.attrs["layer_names"]] == [l.name for l in model.layers]
        assert [n.decode() for n in weights[dense].attrs["weight_names"]] == [f"{dense}/kernel:0", f"{dense}/bias:0"]
        np.testing.assert_array_equal(weights[f"{dense}/{dense}/kernel:0"][()], model.layers[2].get_weights()[0])
        assert weights[f"{bn}/{bn}/moving_variance:0"].shape == (4,)
        assert "optimizer_weights" in f
    other, _, _, _ = _model(CASES[6][0])
    other.load_weights(tmp_path / "m.h5")
    np.testing.assert_array_equal(other.predict(x, verbose=0), model.predict(x, verbose=0))
