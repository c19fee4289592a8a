"""BatchNormalization and Dropout with Keras 3's semantics, on the eager path and in fit's compiled
programs (moving statistics updated per step, random masks fresh each step, the same run to run)."""
import numpy as np
import pytest

import fastfit as keras
from fastfit import layers
from fastfit.models.tracing import CompiledRunner
from helpers import runner_of


def bn_reference(x, gamma, beta, mean, var, eps=1e-3):
    return gamma * (x - mean) / np.sqrt(var + eps) + beta


def test_batch_normalization_training_and_inference_forward():
    rng = np.random.default_rng(0)
    x = rng.normal(2.0, 3.0, size=(16, 5)).astype("float32")
    bn = layers.BatchNormalization()
    y = bn(x, training=True).numpy()
    x64 = x.astype(np.float64)
    mu, var = x64.mean(0), x64.var(0)
    np.testing.assert_allclose(y, bn_reference(x64, 1, 0, mu, var), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(bn.moving_mean.numpy(), 0.01 * mu, rtol=1e-5)
    np.testing.assert_allclose(bn.moving_variance.numpy(), 0.99 + 0.01 * var, rtol=1e-5)
    y_inf = bn(x).numpy()  # inference: the moving statistics; nothing updated
    np.testing.assert_allclose(y_inf, bn_reference(x64, 1, 0, 0.01 * mu, 0.99 + 0.01 * var), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(bn.moving_mean.numpy(), 0.01 * mu, rtol=1e-5)
    assert [w.name for w in bn.trainable_weights] == ["gamma", "beta"]
    assert [w.name for w in bn.non_trainable_weights] == ["moving_mean", "moving_variance"]


@pytest.mark.usefixtures("device")  # on each device (conftest.py)
def test_batch_normalization_gradients_match_finite_differences():
    from helpers import check_op
    rng = np.random.default_rng(1)
    x = rng.normal(size=(6, 3)).astype("float32")
    gamma = rng.uniform(0.5, 1.5, size=3).astype("float32")
    beta = rng.normal(size=3).astype("float32")
    bn = layers.BatchNormalization(epsilon=0.01)
    bn.build((None, 3))

    def fastfit_bn(x, g, b):
        bn.gamma, bn.beta = g, b
        return bn(x, training=True)

    def numpy_bn(x, g, b):
        return g * (x - x.mean(0)) / np.sqrt(x.var(0) + 0.01) + b

    check_op(fastfit_bn, numpy_bn, [x, gamma, beta], grad_rtol=2e-3, grad_atol=2e-4)


def test_batch_normalization_options_and_errors():
    x = np.random.default_rng(0).normal(size=(8, 4)).astype("float32")
    bn = layers.BatchNormalization(center=False, scale=False, momentum=0.5, epsilon=0.1)
    y = bn(x, training=True).numpy()
    np.testing.assert_allclose(y, (x - x.mean(0)) / np.sqrt(x.var(0) + 0.1), rtol=1e-5, atol=1e-5)
    assert bn.trainable_weights == []
    frozen = layers.BatchNormalization()
    frozen.trainable = False  # Keras: a frozen BN layer runs in inference mode
    np.testing.assert_allclose(frozen(x, training=True).numpy(), x / np.sqrt(1 + 1e-3), rtol=1e-5)
    with pytest.raises(NotImplementedError, match="axis"):
        layers.BatchNormalization(axis=1)(np.zeros((2, 3, 4), "float32"))
    with pytest.raises(ValueError, match="momentum"):
        layers.BatchNormalization(momentum=2.0)


def bn_model(seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input(shape=(784,)), layers.Dense(32), layers.BatchNormalization(),
                             layers.Dense(10, activation="softmax")])


def fit_and_loop(make_model, x, y, batch_size, epochs=2, lr=0.05):
    """The same training twice: compiled by fit (checked to be compiled), and as the guide's GradientTape
    loop calling the model with training=True. Returns both models."""
    fit_model, loop_model = make_model(), make_model()
    fit_model.compile(keras.optimizers.SGD(lr), "sparse_categorical_crossentropy")
    fit_model.fit(x, y, batch_size=batch_size, epochs=epochs, shuffle=False, verbose=0)
    assert isinstance(runner_of(fit_model, "train"), CompiledRunner)
    opt = keras.optimizers.SGD(lr)
    loss_fn = keras.losses.SparseCategoricalCrossentropy()
    for _ in range(epochs):
        for i in range(0, len(x), batch_size):
            with keras.GradientTape() as tape:
                loss = loss_fn(y[i:i + batch_size], loop_model(x[i:i + batch_size], training=True))
            grads = tape.gradient(loss, loop_model.trainable_weights)
            opt.apply_gradients(zip(grads, loop_model.trainable_weights))
    return fit_model, loop_model


def test_fit_updates_moving_statistics_like_an_eager_loop(small_data):
    x, y = small_data
    fit_model, loop_model = fit_and_loop(bn_model, x, y, batch_size=40)
    bn_fit, bn_loop = fit_model.layers[1], loop_model.layers[1]
    np.testing.assert_allclose(bn_fit.moving_mean.numpy(), bn_loop.moving_mean.numpy(), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(bn_fit.moving_variance.numpy(), bn_loop.moving_variance.numpy(), rtol=1e-4, atol=1e-6)
    for a, b in zip(fit_model.get_weights(), loop_model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    # evaluate and predict use the moving statistics
    np.testing.assert_allclose(fit_model.predict(x, verbose=0), fit_model(x).numpy(), rtol=1e-5, atol=1e-6)


def test_tracing_leaves_no_trace_on_the_state(small_data):
    x, y = small_data
    model = bn_model()
    model.compile(keras.optimizers.SGD(0.0), "sparse_categorical_crossentropy")
    before = [w.copy() for w in model.get_weights()]
    model.fit(x, y, batch_size=200, epochs=1, verbose=0)  # one step, SGD(0): only the moving stats change
    bn = model.layers[1]
    h = np.asarray(model.layers[0](x)).astype(np.float64)
    np.testing.assert_allclose(bn.moving_mean.numpy(), 0.01 * h.mean(0), rtol=1e-4, atol=1e-6)
    for a, b in zip(before[:2], model.get_weights()[:2]):
        np.testing.assert_array_equal(a, b)


def dropout_model(seed=0, rate=0.2):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape=(784,))
    h = layers.Dropout(rate)(layers.Dense(64, activation="relu")(inputs))
    h = layers.Dropout(rate)(layers.Dense(64, activation="relu")(h))
    return keras.Model(inputs, layers.Dense(10, activation="softmax")(h))


def test_dropout_layer_in_training_and_inference():
    x = np.ones((50, 40), "float32")
    layer = layers.Dropout(0.3, seed=4)
    y = layer(x, training=True).numpy()
    assert set(np.unique(y)) == {0, np.float32(1 / np.float32(0.7))}
    assert abs((y == 0).mean() - 0.3) < 0.05
    assert not np.array_equal(layer(x, training=True).numpy(), y)  # fresh numbers each call
    np.testing.assert_array_equal(layer.__class__(0.3, seed=4)(x, training=True).numpy(), y)  # same seed
    np.testing.assert_array_equal(layer(x).numpy(), x)  # inference: identity
    np.testing.assert_array_equal(layers.Dropout(0.0)(x, training=True).numpy(), x)
    assert layer.weights == []
    for bad in (1.0, 1.5, -0.1):
        with pytest.raises(ValueError, match=r"`rate` must be a number in \[0, 1\)"):
            layers.Dropout(bad)
    with pytest.raises(NotImplementedError, match="noise_shape"):
        layers.Dropout(0.5, noise_shape=(1, 40))(x, training=True)  # one mask for the whole batch


def test_fit_with_dropout_runs_compiled_and_matches_an_eager_loop(small_data):
    x, y = small_data
    fit_model, loop_model = fit_and_loop(lambda: dropout_model(seed=7), x, y, batch_size=50)
    for a, b in zip(fit_model.get_weights(), loop_model.get_weights()):  # the same masks, step by step
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(fit_model.predict(x, verbose=0), fit_model(x).numpy(), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("threads", [1, 2])
def test_dropout_training_repeats_bit_for_bit(small_data, threads):
    from fastfit import _core
    x, y = small_data
    before = _core.get_num_threads()
    runs = []
    try:
        for n in (threads, 3 - threads, threads):
            _core.set_num_threads(n)
            model = dropout_model(seed=3)
            model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
            runs.append((model.fit(x, y, batch_size=64, epochs=3, verbose=0).history, model.get_weights()))
    finally:
        _core.set_num_threads(before)
    for history, weights in runs[1:]:
        assert history == runs[0][0]
        for a, b in zip(weights, runs[0][1]):
            np.testing.assert_array_equal(a, b)
    assert runs[0][0]["loss"][0] != dropout_model_loss_without_dropout(x, y)


def dropout_model_loss_without_dropout(x, y):
    model = dropout_model(seed=3, rate=0.0)
    model.compile("adam", "sparse_categorical_crossentropy")
    return model.fit(x, y, batch_size=64, epochs=1, verbose=0).history["loss"][0]
