"""keras.random and tf.random: distributions, seeds (global, int, SeedGenerator), errors."""
import numpy as np
import pytest

import fastfit as keras
import fastfit as tf


def test_global_seed_repeats_and_int_seeds_are_stateless():
    tf.random.set_seed(3)
    a = tf.random.normal((4, 5)).numpy()
    tf.random.set_seed(3)
    np.testing.assert_array_equal(a, tf.random.normal((4, 5)).numpy())
    np.testing.assert_array_equal(keras.random.uniform((3,), seed=1).numpy(), keras.random.uniform((3,), seed=1).numpy())
    gen = keras.random.SeedGenerator(5)
    first, second = keras.random.normal((3,), seed=gen).numpy(), keras.random.normal((3,), seed=gen).numpy()
    assert not np.array_equal(first, second)
    gen = keras.random.SeedGenerator(5)
    np.testing.assert_array_equal(first, keras.random.normal((3,), seed=gen).numpy())


def test_distributions():
    n = keras.random.normal((20000,), mean=2.0, stddev=3.0, seed=0).numpy()
    assert abs(n.mean() - 2.0) < 0.1 and abs(n.std() - 3.0) < 0.1 and n.dtype == np.float32
    u = keras.random.uniform((20000,), minval=-1.0, maxval=3.0, seed=0).numpy()
    assert u.min() >= -1.0 and u.max() < 3.0 and abs(u.mean() - 1.0) < 0.05
    t = keras.random.truncated_normal((20000,), stddev=2.0, seed=0).numpy()
    assert np.abs(t).max() <= 4.0
    i = keras.random.randint((1000,), 0, 7, seed=0).numpy()
    assert i.dtype == np.int32 and i.min() == 0 and i.max() == 6
    c = keras.random.categorical(tf.constant([[0.0, 20.0], [20.0, 0.0]]), 5, seed=0).numpy()
    np.testing.assert_array_equal(c, [[1] * 5, [0] * 5])
    s = keras.random.shuffle(np.arange(10, dtype=np.float32), seed=0).numpy()
    assert sorted(s) == list(range(10))
    d = keras.random.dropout(np.ones(10000, np.float32), 0.25, seed=0).numpy()
    assert set(np.unique(d)) <= {0.0, np.float32(1 / 0.75)} and abs((d == 0).mean() - 0.25) < 0.03


def test_errors():
    with pytest.raises(TypeError, match="seed"):
        keras.random.normal((2,), seed="x")
    with pytest.raises(TypeError, match="seed"):
        tf.random.set_seed(1.5)
    with pytest.raises(NotImplementedError, match="float16"):
        keras.random.normal((2,), dtype="float16")
    with pytest.raises(NotImplementedError, match="backend"):
        keras.random.SeedGenerator(1, backend="jax")
    with pytest.raises(ValueError, match="rate"):
        keras.random.dropout(np.ones(3), 1.0)
