"""keras.utils.to_categorical and keras.utils.normalize against Keras 3's documented results and
NumPy, for arrays and fastfit tensors."""
import numpy as np
import pytest

import fastfit as tf
import fastfit as keras


def test_to_categorical_of_arrays():
    out = keras.utils.to_categorical([0, 2, 1, 2], num_classes=3)
    assert out.dtype == np.float64  # as Keras' NumPy path
    np.testing.assert_array_equal(out, np.eye(3)[[0, 2, 1, 2]])
    np.testing.assert_array_equal(keras.utils.to_categorical(np.array([[1], [3]])), np.eye(4)[[1, 3]])  # (n, 1)
    np.testing.assert_array_equal(keras.utils.to_categorical(np.array([[0, 1], [1, 0]]), 2),
                                  np.eye(2)[[[0, 1], [1, 0]]])
    np.testing.assert_array_equal(keras.utils.to_categorical(np.array([2.0, 0.0])), np.eye(3)[[2, 0]])


def test_to_categorical_of_a_tensor():
    out = keras.utils.to_categorical(tf.constant(np.array([[2], [0]], np.int32)), num_classes=3)
    assert isinstance(out, tf.Tensor)
    np.testing.assert_array_equal(out.numpy(), np.eye(3)[[2, 0]])
    with pytest.raises(ValueError, match="num_classes"):
        keras.utils.to_categorical(tf.constant(np.array([1], np.int32)))


@pytest.mark.parametrize("x,num_classes,match", [
    ([0, 3], 3, r"class ids must be in \[0, 3\)"),
    ([-1, 0], None, r"class ids must be in"),
    ([0.5, 1], None, "integer class ids"),
    ([0, 1], 0, "positive integer"),
])
def test_to_categorical_errors(x, num_classes, match):
    with pytest.raises(ValueError, match=match):
        keras.utils.to_categorical(x, num_classes)


@pytest.mark.parametrize("axis,order", [(-1, 2), (0, 2), (1, 1), (-1, 3)])
def test_normalize_arrays_and_tensors(axis, order):
    x = np.random.default_rng(0).normal(size=(4, 5))
    x[1] = 0
    norm = np.linalg.norm(x, order, axis, keepdims=True)
    expected = x / np.where(norm == 0, 1, norm)
    np.testing.assert_allclose(keras.utils.normalize(x, axis, order), expected, rtol=1e-12)
    got = keras.utils.normalize(tf.constant(x.astype(np.float32)), axis, order)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-5, atol=1e-6)  # zero norms: x / epsilon = 0


def test_normalize_documented_value_and_order_error():
    np.testing.assert_allclose(keras.utils.normalize(np.array([[3.0, 4.0]])), [[0.6, 0.8]])
    with pytest.raises(ValueError, match="order"):
        keras.utils.normalize(np.ones(3), order=0)
