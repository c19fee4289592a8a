"""Counter-based random numbers (Philox4x32-10) and the Dropout op."""
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
