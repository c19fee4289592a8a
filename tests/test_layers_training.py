"""The new layers inside functional models trained with fit: compiled, split across two threads with
results bit-identical to one thread, and kept on one shard by ops that mix rows. Also Activation,
Identity and Lambda."""
import numpy as np
import pytest

import fastfit as keras
import fastfit as tf
from fastfit import _core, layers
from fastfit.models.tracing import CompiledRunner
from helpers import runner_of


@pytest.fixture
def threads():
    before = _core.get_num_threads()
    yield
    _core.set_num_threads(before)


def every_layer_model(seed=0):
    """Two inputs (ids and images) through every row-wise layer this module family adds."""
    keras.utils.set_random_seed(seed)
    ids, image = keras.Input(shape=(6,), dtype="int32", name="ids"), keras.Input(shape=(4, 5, 2), name="image")
    e = layers.LayerNormalization()(layers.Embedding(30, 4)(ids))      # (6, 4)
    e = layers.Reshape((2, 12))(layers.Permute((2, 1))(e))             # (2, 12)
    v = layers.Flatten()(e)                                            # (24,)
    r = layers.RepeatVector(3)(layers.Dense(5)(v))                     # (3, 5)
    im = layers.Cropping2D(((1, 1), (1, 2)))(layers.ZeroPadding2D(1)(image))
    im = layers.Flatten()(layers.UpSampling2D(2)(im))                  # (8 * 8 * 2,)
    d = layers.Dense(24, activation="tanh")(im)
    merged = [f([v, d]) for f in (layers.add, layers.subtract, layers.multiply, layers.average, layers.maximum,
                                  layers.minimum)]
    cosine = layers.Dot(axes=1, normalize=True)([v, d])                # (1,)
    gram = layers.Flatten()(layers.Dot(axes=(2, 2))([r, r]))           # (9,)
    scaled = layers.Lambda(lambda t: tf.reshape(t, (len(t), -1)) * 2.0)(r)
    x = layers.Concatenate()(merged + [cosine, gram, layers.Identity()(scaled)])
    x = layers.Activation("relu")(layers.LayerNormalization(axis=[1])(x))
    return keras.Model([ids, image], layers.Dense(3, activation="softmax")(x))


def data(n=200, seed=0):
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, 30, (n, 6))
    image = rng.normal(size=(n, 4, 5, 2)).astype("float32")
    return [ids, image], ((ids[:, 0] + (image[:, 0, 0, 0] > 0)) % 3).astype("int32")


def fit_every_layer_model(n_threads):
    _core.set_num_threads(n_threads)
    model = every_layer_model()
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    x, y = data()
    h = model.fit(x, y, batch_size=32, epochs=2, validation_split=0.2, shuffle=True, verbose=0).history
    return model, h


def test_every_layer_compiles_and_splits_bit_identically(threads):
    m1, h1 = fit_every_layer_model(1)
    m2, h2 = fit_every_layer_model(2)
    for mode in ("train", "test"):
        runner = runner_of(m2, mode)
        assert isinstance(runner, CompiledRunner), mode
        assert runner.program.splits(mode), f"{mode}: a row-wise model must split its batches"
    assert h1 == h2
    for a, b in zip(m1.get_weights(), m2.get_weights()):
        np.testing.assert_array_equal(a, b)
    x, _ = data(seed=1)
    p1, p2 = m1.predict(x, verbose=0), m2.predict(x, verbose=0)
    assert isinstance(runner_of(m2, "predict"), CompiledRunner) and runner_of(m2, "predict").program.splits("predict")
    np.testing.assert_array_equal(p1, p2)
    np.testing.assert_allclose(p2[:20], m2([a[:20] for a in x]).numpy(), rtol=1e-5, atol=1e-6)


def test_fit_learns_through_the_layers(threads):
    _core.set_num_threads(1)
    model = every_layer_model(seed=3)
    model.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy")
    x, y = data(n=400)
    h = model.fit(x, y, batch_size=32, epochs=6, verbose=0).history
    assert h["loss"][-1] < 0.6 * h["loss"][0]


@pytest.mark.parametrize("mix,row_wise", [
    (lambda t: tf.reshape(tf.reshape(t, [-1]), [-1, 8]), False),     # the rows flattened together
    (lambda t: tf.transpose(tf.transpose(t) * 1.0), False),           # the batch axis moved
    (lambda t: tf.concat([t, tf.minimum(tf.maximum(t, 0.0), 1.0)], 1), True),
])
def test_ops_that_mix_rows_keep_one_shard(mix, row_wise, small_data, threads):
    _core.set_num_threads(2)
    x, y = small_data
    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=(784,))
    h = layers.Lambda(mix)(layers.Dense(8)(inputs))
    model = keras.Model(inputs, layers.Dense(10, activation="softmax")(h))
    model.compile("sgd", "sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=64, epochs=1, verbose=0)
    runner = runner_of(model, "train")
    assert isinstance(runner, CompiledRunner) and runner.program.splits("train") == row_wise
    np.testing.assert_allclose(model.predict(x[:64], batch_size=64, verbose=0), model(x[:64]).numpy(), rtol=1e-5,
                               atol=1e-6)


def test_activation_identity_lambda():
    x = np.linspace(-2, 2, 12, dtype=np.float32).reshape(3, 4)
    np.testing.assert_allclose(layers.Activation("tanh")(x).numpy(), np.tanh(x), rtol=1e-6)
    np.testing.assert_allclose(layers.Activation(keras.activations.softmax)(x).numpy().sum(axis=1), 1, rtol=1e-6)
    assert layers.Activation("relu").get_config()["activation"] == "relu"
    np.testing.assert_array_equal(layers.Identity()(x).numpy(), x)
    double = layers.Lambda(lambda t, k: t * k, arguments={"k": 2.0})
    np.testing.assert_array_equal(double(x).numpy(), 2 * x)
    assert double.get_config()["arguments"] == {"k": 2.0}
    noisy = layers.Lambda(lambda t, training=None: t + 1.0 if training else t)
    np.testing.assert_array_equal(noisy(x, training=True).numpy(), x + 1)
    np.testing.assert_array_equal(noisy(x).numpy(), x)
    inputs = keras.Input(shape=(4,))
    assert layers.Lambda(lambda t: tf.concat([t, t], 1))(inputs).shape == (None, 8)
    assert layers.Lambda(lambda t: t[:, :2], output_shape=(2,))(inputs).shape == (None, 2)
    assert layers.Lambda(lambda t: t, output_shape=lambda s: s)(inputs).shape == (None, 4)
    with pytest.raises(NotImplementedError, match="`mask`"):
        layers.Lambda(lambda t: t, mask=lambda t, m: m)
    with pytest.raises(ValueError, match="Unknown activation: 'swishy'"):
        layers.Activation("swishy")
