"""The tf math the guide's custom code calls, on the C++ tape (so it traces into compiled programs):
forward against NumPy float64, backward against central finite differences."""
import numpy as np
import pytest

import fastfit as tf
from helpers import check_op, rand

pytestmark = pytest.mark.usefixtures("device")  # each test on each device (conftest.py)


@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 2)])
@pytest.mark.parametrize("fn,ref", [(tf.reduce_max, np.max), (tf.reduce_min, np.min)])
def test_reduce_max_min(fn, ref, axis):
    x = rand(np.random.default_rng(0), 3, 4, 5)
    check_op(lambda t: fn(t, axis=axis), lambda a: ref(a, axis=axis), [x])
    check_op(lambda t: fn(t, axis=axis, keepdims=True), lambda a: ref(a, axis=axis, keepdims=True), [x])


def test_reduce_max_shares_the_gradient_among_ties():
    x = tf.constant(np.array([[1.0, 3.0, 3.0], [2.0, 0.0, 1.0]], np.float32))
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reduce_max(x, axis=1)
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), [[0, 0.5, 0.5], [1, 0, 0]])


def test_std_variance_pow_clip_where():
    rng = np.random.default_rng(1)
    x, y = rand(rng, 4, 3), rand(rng, 4, 3, low=0.5, high=2.0)
    check_op(lambda t: tf.math.reduce_std(t, axis=0), lambda a: a.std(0), [x])
    check_op(lambda t: tf.math.reduce_variance(t), lambda a: a.var(), [x])
    check_op(lambda a, b: tf.pow(a, b), lambda a, b: a ** b, [y, x])
    check_op(lambda a: a ** 3.0, lambda a: a ** 3, [x])
    check_op(lambda t: tf.clip_by_value(t, -0.5, 0.5), lambda a: np.clip(a, -0.5, 0.5), [x * 0.99])
    check_op(lambda a, b: tf.where(a > 0, a, b), lambda a, b: np.where(a > 0, a, b), [x, y])


def test_stack_and_basic_indexing():
    rng = np.random.default_rng(2)
    x, y = rand(rng, 3, 4), rand(rng, 3, 4)
    check_op(lambda a, b: tf.stack([a, b], axis=1), lambda a, b: np.stack([a, b], 1), [x, y])
    for key in [(0,), (slice(1, 3),), (slice(None), 2), (-1, slice(1, None)), (Ellipsis, 0), (slice(None), slice(0, 2))]:
        check_op(lambda t, k=key: t[k], lambda a, k=key: a[k], [x])


def test_argmax_argmin_comparisons_cast_one_hot():
    x = np.array([[0.1, 0.7, 0.2], [0.9, 0.05, 0.05]], np.float32)
    assert tf.argmax(x, axis=1).numpy().tolist() == [1, 0] and tf.argmax(x, axis=1).dtype_name == "int32"
    assert tf.argmin(x, axis=1).numpy().tolist() == [0, 1]
    assert tf.argmax(x).numpy().tolist() == [1, 0, 0]  # axis 0 by default, as TensorFlow
    a, b = tf.constant([1, 2, 3]), tf.constant([1, 0, 3])
    assert (a == b).numpy().tolist() == [1, 0, 1] and (a != b).numpy().tolist() == [0, 1, 0]
    assert tf.greater(a, 1).numpy().tolist() == [0, 1, 1] and tf.less_equal(a, 2).numpy().tolist() == [1, 1, 0]
    assert tf.cast(tf.constant([1.7, -1.7, 0.0]), "int32").numpy().tolist() == [1, -1, 0]
    assert tf.cast(tf.constant([1.7, 0.0]), "bool").numpy().tolist() == [1, 0]
    assert tf.cast(a, tf.float32).dtype_name == "float32"
    np.testing.assert_array_equal(tf.one_hot([2, 0], 3).numpy(), [[0, 0, 1], [1, 0, 0]])
    with pytest.raises(TypeError, match="dtype"):
        tf.cast(a, "complex64")


def test_stop_gradient_and_comparisons_have_no_gradient():
    x = tf.constant(np.array([1.0, 2.0], np.float32))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = tf.reduce_sum(x * tf.stop_gradient(x))
        z = tf.reduce_sum(tf.cast(x > 1.5, "float32") * x)
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), [1.0, 2.0])
    np.testing.assert_allclose(tape.gradient(z, x).numpy(), [0.0, 1.0])


def test_the_guides_metric_arithmetic_traces():
    """tf.reshape(tf.argmax(...), (-1, 1)), casts and == as the guide's CategoricalTruePositives writes them."""
    y_pred = tf.constant(np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]], np.float32))
    y_true = tf.constant(np.array([[1], [1], [1]], np.float32))
    pred = tf.reshape(tf.argmax(y_pred, axis=1), shape=(-1, 1))
    values = tf.cast(tf.cast(y_true, "int32") == tf.cast(pred, "int32"), "float32")
    assert float(tf.reduce_sum(values)) == 2.0
