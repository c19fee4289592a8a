"""GaussianNoise, GaussianDropout, AlphaDropout, SpatialDropout1D/2D and Dropout's noise_shape: their
statistics, active in training only, reproducible under set_random_seed, their errors, and fit's
compiled program drawing the numbers an eager run draws, bit for bit whatever the thread count."""
import warnings

import numpy as np
import pytest

import fastfit as tf
import fastfit as keras
from fastfit import _core, layers
from fastfit.models.tracing import CompiledRunner
from helpers import runner_of

ALPHA_P = -1.6732632423543772 * 1.0507009873554805


def test_gaussian_noise_adds_normal_noise_of_stddev():
    x = np.full((1000, 200), 3.0, np.float32)
    noise = layers.GaussianNoise(0.3, seed=1)(x, training=True).numpy().astype(np.float64) - 3.0
    assert abs(noise.mean()) < 0.003 and abs(noise.std() - 0.3) < 0.003


def test_gaussian_dropout_multiplies_by_normal_noise_of_mean_one():
    x = np.full((1000, 200), 2.0, np.float32)
    factor = layers.GaussianDropout(0.2, seed=1)(x, training=True).numpy().astype(np.float64) / 2.0
    assert abs(factor.mean() - 1) < 0.005 and abs(factor.std() - 0.5) < 0.005  # sqrt(0.2 / 0.8)
    t = tf.constant(x[:3])
    layer = layers.GaussianDropout(0.5, seed=2)
    with tf.GradientTape() as tape:
        tape.watch(t)
        y = layer(t, training=True)
        total = tf.reduce_sum(y)
    np.testing.assert_allclose(tape.gradient(total, t).numpy(), y.numpy() / 2.0, rtol=1e-6)


def test_alpha_dropout_keeps_mean_and_variance_and_drops_rate():
    x = np.random.default_rng(0).normal(size=(1000, 200)).astype(np.float32)
    rate = 0.2
    y = layers.AlphaDropout(rate, seed=1)(x, training=True).numpy().astype(np.float64)
    a = ((1 - rate) * (1 + rate * ALPHA_P ** 2)) ** -0.5
    dropped = np.isclose(y, a * ALPHA_P - a * ALPHA_P * rate)
    assert abs(dropped.mean() - rate) < 0.005
    np.testing.assert_allclose(y[~dropped], a * x[~dropped] - a * ALPHA_P * rate, rtol=1e-5, atol=1e-6)
    assert abs(y.mean()) < 0.01 and abs(y.var() - 1) < 0.01


@pytest.mark.parametrize("make,shape,channel_axis", [
    (lambda: layers.SpatialDropout1D(0.4, seed=1), (300, 7, 20), 2),
    (lambda: layers.SpatialDropout2D(0.4, seed=1), (300, 3, 4, 20), 3),
    (lambda: layers.SpatialDropout2D(0.4, data_format="channels_first", seed=1), (300, 20, 3, 4), 1),
    (lambda: layers.Dropout(0.4, noise_shape=(None, 1, 20), seed=1), (300, 7, 20), 2),
])
def test_spatial_dropout_drops_whole_channels(make, shape, channel_axis):
    y = make()(np.ones(shape, np.float32), training=True).numpy()
    other = tuple(a for a in range(1, len(shape)) if a != channel_axis)
    kept = y.max(axis=other)
    np.testing.assert_array_equal(y.min(axis=other), kept)  # each channel of a sample: all kept or all dropped
    assert set(np.unique(kept)) == {0, np.float32(1 / np.float32(0.6))}
    assert abs((kept == 0).mean() - 0.4) < 0.03


RANDOM_LAYERS = [
    lambda: layers.GaussianNoise(0.5), lambda: layers.GaussianDropout(0.5), lambda: layers.AlphaDropout(0.5),
    lambda: layers.SpatialDropout1D(0.5), lambda: layers.Dropout(0.5, noise_shape=(None, 1, 4)),
]


@pytest.mark.parametrize("make", RANDOM_LAYERS)
def test_backward_against_differences_with_the_noise_held(make):
    """With its numbers held (the generator state put back), each layer is affine in x: the gradient
    of sum(y * r) is r times the difference of the outputs at x + 1 and at x."""
    layer = make()
    x = tf.constant(np.random.default_rng(2).normal(size=(6, 5, 4)).astype(np.float32))
    r = np.random.default_rng(3).normal(size=(6, 5, 4)).astype(np.float32)
    state = layer._seed_state.numpy()
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x, training=True)
        total = tf.reduce_sum(y * r)
    layer._seed_state.assign(state)
    slope = layer(x + 1.0, training=True).numpy() - y.numpy()
    np.testing.assert_allclose(tape.gradient(total, x).numpy(), r * slope, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("make", RANDOM_LAYERS)
def test_training_only_and_reproducible(make):
    x = np.random.default_rng(1).normal(size=(8, 5, 4)).astype(np.float32)
    keras.utils.set_random_seed(5)
    layer = make()
    np.testing.assert_array_equal(layer(x).numpy(), x)  # inference: identity
    np.testing.assert_array_equal(layer(x, training=False).numpy(), x)
    first = layer(x, training=True).numpy()
    assert not np.array_equal(first, x)
    assert not np.array_equal(layer(x, training=True).numpy(), first)  # fresh numbers each call
    keras.utils.set_random_seed(5)
    np.testing.assert_array_equal(make()(x, training=True).numpy(), first)  # the same seed repeats them
    assert layer.weights == [] and layer.compute_output_shape((None, 5, 4)) == (None, 5, 4)


def test_zero_rate_or_stddev_is_the_identity():
    x = np.ones((3, 4, 2), np.float32)
    for layer in (layers.GaussianNoise(0.0), layers.GaussianDropout(0), layers.AlphaDropout(0.0),
                  layers.SpatialDropout1D(0.0)):
        np.testing.assert_array_equal(layer(x, training=True).numpy(), x)


@pytest.mark.parametrize("make,error,match", [
    (lambda: layers.GaussianNoise(1.5), ValueError, "stddev"),
    (lambda: layers.GaussianNoise(-0.1), ValueError, "stddev"),
    (lambda: layers.GaussianNoise("0.1"), ValueError, "stddev"),
    (lambda: layers.GaussianDropout(1.0), ValueError, r"`rate` must be a number in \[0, 1\)"),
    (lambda: layers.AlphaDropout(-0.5), ValueError, "rate"),
    (lambda: layers.SpatialDropout1D(2), ValueError, "rate"),
    (lambda: layers.SpatialDropout2D(0.5, data_format="nchw"), ValueError, "data_format"),
    (lambda: layers.GaussianNoise(0.1, seed=1.5), TypeError, "seed"),
    (lambda: layers.SpatialDropout1D(0.5)(np.ones((2, 3), np.float32), training=True), ValueError, "expected ndim=3"),
    (lambda: layers.AlphaDropout(0.5, noise_shape=(None, 3))(np.ones((2, 4), np.float32), training=True), ValueError,
     "noise_shape"),
])
def test_argument_errors(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_configs():
    config = layers.GaussianNoise(0.2, seed=3, name="g").get_config()
    assert {k: config[k] for k in ("name", "trainable", "stddev", "seed")} == {"name": "g", "trainable": True,
                                                                               "stddev": 0.2, "seed": 3}
    assert config["dtype"]["config"]["name"] == "float32"  # a DTypePolicy, as Keras 3 writes it
    assert layers.AlphaDropout(0.1, noise_shape=(None, 1)).get_config()["noise_shape"] == (None, 1)
    assert layers.SpatialDropout2D(0.3, name="s").get_config() == {"rate": 0.3, "seed": None, "name": "s",
                                                                   "dtype": "float32", "data_format": "channels_last"}


def noisy_model(seed):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape=(6, 4))
    h = layers.GaussianNoise(0.2)(inputs)
    h = layers.SpatialDropout1D(0.3)(layers.Conv1D(8, 3, activation="relu")(h))
    h = layers.GaussianDropout(0.3)(layers.Flatten()(h))
    h = layers.AlphaDropout(0.2)(layers.Dense(16, activation="selu")(h))
    return keras.Model(inputs, layers.Dense(3)(h))


def fit(model, x, y, eager=False, threads=None):
    model.compile(optimizer=keras.optimizers.SGD(0.05), run_eagerly=eager,
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    before = _core.get_num_threads()
    try:
        if threads:
            _core.set_num_threads(threads)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            return model.fit(x, y, batch_size=32, epochs=2, shuffle=False, verbose=0).history["loss"]
    finally:
        _core.set_num_threads(before)


def test_compiled_fit_draws_the_numbers_an_eager_fit_draws():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(128, 6, 4)).astype(np.float32), rng.integers(0, 3, 128).astype(np.float32)
    compiled, eager = noisy_model(4), noisy_model(4)
    np.testing.assert_allclose(fit(compiled, x, y), fit(eager, x, y, eager=True), rtol=1e-5)
    assert not compiled._fallback_reasons and isinstance(runner_of(compiled, "train"), CompiledRunner)
    assert runner_of(compiled, "train").program.splits("train")  # the noise keeps rows apart
    for a, b in zip(compiled.get_weights(), eager.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(compiled.predict(x, verbose=0), compiled(x).numpy(), rtol=1e-5, atol=1e-6)
    runs = [(fit(noisy_model(4), x, y, threads=n)) for n in (1, 2)]
    assert runs[0] == runs[1]  # bit for bit whatever the thread count
