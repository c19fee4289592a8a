"""Counter-based random numbers (Philox4x32-10), the Dropout op and the noise op (random_like)."""
import numpy as np
import pytest

import fastfit as tf
from fastfit import _core
from helpers import rand


def test_philox_known_answers():  # Random123's reference vectors (kat_vectors, philox4x32_10)
    assert _core.philox4x32_10([0, 0, 0, 0], [0, 0]) == [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]
    ones = 0xffffffff
    assert _core.philox4x32_10([ones] * 4, [ones] * 2) == [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]


def state(seed, counter=0):
    return tf.constant(np.array([seed, counter], np.int32))


def dropout(x, st, rate):
    return _core.apply("dropout", [tf.constant(x), st], rate=rate)


def test_dropout_forward_and_backward_against_numpy():
    x = tf.constant(rand(np.random.default_rng(0), 37, 29, low=0.5, high=2))
    r = np.random.default_rng(1).normal(size=(37, 29)).astype(np.float32)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = dropout(x, state(7), 0.3)
        weighted = tf.reduce_sum(y * r)
    kept = y.numpy() != 0  # the op's own mask: x has no zeros
    np.testing.assert_allclose(y.numpy(), np.where(kept, x.numpy() / np.float32(0.7), 0), rtol=1e-6)
    np.testing.assert_allclose(tape.gradient(weighted, x).numpy(), np.where(kept, r / np.float32(0.7), 0), rtol=1e-6)


def test_dropout_keeps_one_minus_rate_of_a_large_tensor():
    y = dropout(np.ones((1000, 1000), np.float32), state(3), 0.25).numpy()
    assert abs((y != 0).mean() - 0.75) < 0.003  # 6 standard deviations
    assert set(np.unique(y)) == {0, np.float32(1 / np.float32(0.75))}


def test_same_state_same_numbers_next_counter_fresh_numbers():
    x = np.ones((64, 50), np.float32)
    a, b = state(11), state(11)
    first = dropout(x, a, 0.5).numpy()
    np.testing.assert_array_equal(dropout(x, b, 0.5).numpy(), first)  # same seed and counter
    np.testing.assert_array_equal(a.numpy(), [11, 1])  # an eager call advances the counter
    second = dropout(x, a, 0.5).numpy()
    assert (second != first).mean() > 0.4  # counter + 1: fresh numbers
    np.testing.assert_array_equal(dropout(x, state(11, 1), 0.5).numpy(), second)
    assert (dropout(x, state(12), 0.5).numpy() != first).mean() > 0.4  # another seed


@pytest.mark.parametrize("shape,split", [((100, 13), 37), ((64, 10), 32), ((9, 4, 5), 4), ((70,), 33)])
def test_rows_drawn_from_row0_equal_the_whole_batch(shape, split):
    op = _core.Op("dropout", rate=0.5)
    x = rand(np.random.default_rng(2), *shape, low=0.5, high=1)
    st = state(5, 9)
    whole = op.forward([tf.constant(x), st], threads=1).numpy()
    top = op.forward([tf.constant(x[:split]), st], threads=1).numpy()
    bottom = op.forward([tf.constant(x[split:]), st], threads=1, row0=split).numpy()
    np.testing.assert_array_equal(np.concatenate([top, bottom]), whole)
    np.testing.assert_array_equal(st.numpy(), [5, 9])  # Op.forward leaves the state to its caller


def test_rate_zero_is_the_identity_and_rate_one_drops_everything():
    x = tf.constant(rand(np.random.default_rng(3), 8, 6))
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = dropout(x, state(1), 0)
    np.testing.assert_array_equal(y.numpy(), x.numpy())
    np.testing.assert_array_equal(tape.gradient(y, x).numpy(), np.ones((8, 6)))
    np.testing.assert_array_equal(dropout(x, state(1), 1.0).numpy(), np.zeros((8, 6)))


@pytest.mark.parametrize("rate", [1.5, -0.1, float("nan")])
def test_invalid_rate_is_a_value_error_naming_rate(rate):
    with pytest.raises(ValueError, match=r"dropout: `rate` must be between 0 and 1, got"):
        dropout(np.ones((2, 2), np.float32), state(0), rate)


def test_invalid_state_is_a_value_error_naming_state():
    x = tf.constant(np.ones((2, 2), np.float32))
    with pytest.raises(ValueError, match=r"dropout: `state` must be int32"):
        dropout(x, tf.constant(np.zeros(2, np.float32)), 0.5)
    with pytest.raises(ValueError, match=r"dropout: `state` must have shape \(2,\) \(seed, counter\), got \(3,\)"):
        dropout(x, tf.constant(np.zeros(3, np.int32)), 0.5)


def test_the_state_gets_no_gradient():
    x, st = tf.constant(np.ones((2, 2), np.float32)), state(0)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reduce_sum(dropout(x, st, 0.5))
    assert tape.gradient(y, [x, st])[1] is None


def noise(x, st, distribution="uniform", broadcast=()):
    return _core.apply("random_like", [tf.constant(x), st], distribution=distribution, broadcast=list(broadcast))


def test_uniform_and_normal_noise_statistics():
    x = np.zeros((500, 400), np.float32)
    u = noise(x, state(1)).numpy().astype(np.float64)
    assert u.shape == x.shape and u.min() >= 0 and u.max() < 1
    assert abs(u.mean() - 0.5) < 0.003 and abs(u.var() - 1 / 12) < 0.001  # about 6 standard deviations
    z = noise(x, state(2), "normal").numpy().astype(np.float64)
    assert abs(z.mean()) < 0.01 and abs(z.std() - 1) < 0.01
    quantiles = np.quantile(z, [0.0228, 0.1587, 0.5, 0.8413, 0.9772])  # at -2, -1, 0, 1, 2 standard deviations
    np.testing.assert_allclose(quantiles, [-2, -1, 0, 1, 2], atol=0.02)
    assert abs(np.corrcoef(z[:, :-1].ravel(), z[:, 1:].ravel())[0, 1]) < 0.01  # neighbours independent


def test_noise_broadcast_axes_and_fresh_numbers():
    x = np.ones((4, 5, 6, 3), np.float32)
    st = state(3)
    first = noise(x, st, "uniform", [1, 2]).numpy()
    assert first.shape == (4, 1, 1, 3)
    assert noise(x, st, "normal", [-2]).shape == (4, 5, 1, 3)
    np.testing.assert_array_equal(st.numpy(), [3, 2])  # each eager call advances the counter
    np.testing.assert_array_equal(noise(x, state(3), "uniform", [1, 2]).numpy(), first)  # same state, same numbers


@pytest.mark.parametrize("distribution", ["uniform", "normal"])
def test_noise_rows_drawn_from_row0_equal_the_whole_batch(distribution):
    op = _core.Op("random_like", distribution=distribution, broadcast=[1])
    x, st = np.zeros((50, 7, 3), np.float32), state(5, 9)
    whole = op.forward([tf.constant(x), st], threads=1).numpy()
    top = op.forward([tf.constant(x[:21]), st], threads=1).numpy()
    bottom = op.forward([tf.constant(x[21:]), st], threads=1, row0=21).numpy()
    np.testing.assert_array_equal(np.concatenate([top, bottom]), whole)


def test_noise_errors_and_no_gradient():
    x = tf.constant(np.ones((2, 3), np.float32))
    with pytest.raises(ValueError, match="the batch axis"):
        noise(np.ones((2, 3), np.float32), state(0), broadcast=[0])
    with pytest.raises(ValueError, match="out of range"):
        noise(np.ones((2, 3), np.float32), state(0), broadcast=[2])
    with pytest.raises(ValueError, match="'uniform' or 'normal'"):
        noise(np.ones((2, 3), np.float32), state(0), "gamma")
    with pytest.raises(ValueError, match=r"random_like: `state` must have shape \(2,\)"):
        noise(np.ones((2, 3), np.float32), tf.constant(np.zeros(3, np.int32)))
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reduce_sum(x * _core.apply("random_like", [x, state(0)]))
    assert tape.gradient(y, x) is not None  # through the product only: the noise is a constant
