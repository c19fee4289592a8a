"""Merging: concat, maximum/minimum and batch_dot ops (forward against NumPy, backward against finite
differences), and Keras' merging layers and their functional forms, with Keras' errors."""
import numpy as np
import pytest

import fastfit as tf
from fastfit import _core, layers
from helpers import check_op, rand

pytestmark = pytest.mark.usefixtures("device")  # each test on each device (conftest.py)


@pytest.mark.parametrize("shapes,axis", [([(1, 3), (1, 2)], 1), ([(2, 3, 4), (2, 5, 4), (2, 1, 4)], 1),
                                         ([(3, 2, 5), (3, 2, 1)], -1), ([(1, 4), (2, 4), (3, 4)], 0),
                                         ([(5, 3)], 1), ([(2, 3, 4, 1), (2, 3, 4, 2)], 3)])
def test_concat(shapes, axis):
    rng = np.random.default_rng(len(shapes))
    check_op(lambda *t: tf.concat(list(t), axis), lambda *a: np.concatenate(a, axis), [rand(rng, *s) for s in shapes])


@pytest.mark.parametrize("fn,ref", [(tf.maximum, np.maximum), (tf.minimum, np.minimum)])
@pytest.mark.parametrize("sa,sb", [((3, 4), (3, 4)), ((1, 5), (1, 5)), ((2, 3, 4), (4,)), ((3, 1), (1, 6)), ((4,), ())])
def test_maximum_minimum(fn, ref, sa, sb):
    rng = np.random.default_rng(7)  # values on two grids 0.05 apart: no ties, where max/min have no derivative
    a = (rng.integers(-10, 10, sa) * 0.1 + 0.05).astype(np.float32)
    b = (rng.integers(-10, 10, sb) * 0.1).astype(np.float32)
    check_op(fn, ref, [a, b])


def test_maximum_gives_ties_to_the_first_input():
    x, y = tf.constant([1.0, 2.0]), tf.constant([1.0, 3.0])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        tape.watch(y)
        hi, lo = tf.maximum(x, y), tf.minimum(x, y)
    np.testing.assert_array_equal(tape.gradient(hi, x).numpy(), [1, 0])
    np.testing.assert_array_equal(tape.gradient(hi, y).numpy(), [0, 1])
    np.testing.assert_array_equal(tape.gradient(lo, x).numpy(), [1, 1])


def batch_dot_ref(x, y, ax, ay):
    """Keras' batch_dot in NumPy: per row, contract x's axis ax with y's axis ay."""
    out = np.stack([np.tensordot(x[r], y[r], axes=(ax - 1, ay - 1)) for r in range(len(x))])
    return out.reshape(len(x), 1) if out.ndim == 1 else out


@pytest.mark.parametrize("sx,sy,axes", [((4, 5), (4, 5), [1, 1]), ((1, 3), (1, 3), [-1, -1]),
                                        ((3, 4, 5), (3, 6, 5), [2, 2]), ((3, 5, 4), (3, 5, 6), [1, 1]),
                                        ((2, 3, 4), (2, 4, 7), [2, 1]), ((2, 4, 3), (2, 6, 4), [1, 2]),
                                        ((3, 4), (3, 4, 5), [1, 1]), ((3, 2, 5), (3, 5), [2, 1]),
                                        ((2, 3, 2, 4), (2, 4, 3, 1), [3, 1])])
def test_batch_dot(sx, sy, axes):
    rng = np.random.default_rng(sum(sx))
    check_op(lambda x, y: _core.apply("batch_dot", [x, y], axes=axes),
             lambda x, y: batch_dot_ref(x, y, axes[0] % x.ndim, axes[1] % y.ndim), [rand(rng, *sx), rand(rng, *sy)])


@pytest.mark.parametrize("name,attrs,shapes,match", [
    ("concat", {"axis": 1, "n": 2}, [(2, 3), (3, 3)], r"concat: `values\[1\]` must be float32 and match "
                                                      r"`values\[0\]` \(2, 3\) on every axis but axis 1, got "
                                                      r"float32 \(3, 3\)"),
    ("concat", {"axis": 2, "n": 2}, [(2, 3), (2, 3)], r"concat: `axis` 2 is out of range for inputs of rank 2"),
    ("concat", {"n": 0}, [], r"concat: `n` \(the number of inputs\) must be >= 1, got 0"),
    ("maximum", {}, [(2, 3), (2, 4)], r"maximum: shapes \(2, 3\) and \(2, 4\) cannot be broadcast together"),
    ("batch_dot", {"axes": [1, 1]}, [(2, 3), (2, 4)], r"batch_dot: x \(2, 3\) and y \(2, 4\) must have the same batch "
                                                      r"size and the same size on `axes` \[1, 1\]"),
    ("batch_dot", {"axes": [2, 1]}, [(2, 3, 4, 5), (2, 4)], r"each of `axes` \[2, 1\] must be axis 1 or the last"),
    ("batch_dot", {"axes": [1, 1]}, [(2,), (2, 3)], r"batch_dot: `x` must have rank >= 2"),
])
def test_merge_op_errors(name, attrs, shapes, match):
    with pytest.raises(ValueError, match=match):
        _core.apply(name, [tf.constant(np.zeros(s, np.float32)) for s in shapes], **attrs)


# -- layers ------------------------------------------------------------------------------------
@pytest.fixture
def xs():
    rng = np.random.default_rng(9)
    return [rand(rng, 4, 3, 5) for _ in range(3)]


def test_elementwise_merges(xs):
    a, b, c = xs
    for cls, fn, ref in [(layers.Add, layers.add, a + b + c), (layers.Multiply, layers.multiply, a * b * c),
                         (layers.Average, layers.average, (a + b + c) / 3),
                         (layers.Maximum, layers.maximum, np.maximum(np.maximum(a, b), c)),
                         (layers.Minimum, layers.minimum, np.minimum(np.minimum(a, b), c))]:
        np.testing.assert_allclose(cls()([a, b, c]).numpy(), ref, rtol=1e-6, err_msg=cls.__name__)
        np.testing.assert_allclose(fn([a, b, c]).numpy(), ref, rtol=1e-6, err_msg=fn.__name__)
    np.testing.assert_array_equal(layers.Subtract()([a, b]).numpy(), a - b)
    np.testing.assert_array_equal(layers.subtract([a, b]).numpy(), a - b)
    # a lower-rank input gets axes of size 1 after its batch axis, as in Keras
    np.testing.assert_array_equal(layers.Add()([a, b[:, :1, 0]]).numpy(), a + b[:, :1, :1])
    assert tf.layers.add is layers.add


def test_concatenate(xs):
    a, b, c = xs
    np.testing.assert_array_equal(layers.Concatenate()([a, b, c]).numpy(), np.concatenate([a, b, c], -1))
    np.testing.assert_array_equal(layers.concatenate([a, b[:, :2]], axis=1).numpy(), np.concatenate([a, b[:, :2]], 1))
    x, y = tf.Input(shape=(3, 5)), tf.Input(shape=(2, 5))
    assert layers.Concatenate(axis=1)([x, y]).shape == (None, 5, 5)
    assert layers.Concatenate(axis=1).get_config()["axis"] == 1


@pytest.mark.parametrize("normalize", [False, True])
def test_dot(xs, normalize):
    a, b, _ = xs
    norm = (lambda x, ax: x / np.sqrt(np.sum(x ** 2, axis=ax, keepdims=True))) if normalize else (lambda x, ax: x)
    out = layers.Dot(axes=(1, 1), normalize=normalize)([a, b]).numpy()
    np.testing.assert_allclose(out, np.einsum("bik,bij->bkj", norm(a, 1), norm(b, 1)), rtol=1e-5, atol=1e-6)
    out = layers.dot([a[:, 0], b[:, 0]], axes=-1, normalize=normalize).numpy()
    ref = np.sum(norm(a[:, 0], 1) * norm(b[:, 0], 1), axis=1, keepdims=True)
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-6)
    x4 = rand(np.random.default_rng(10), 4, 2, 3, 6)  # contracted on a middle axis: moved last first
    out = layers.Dot(axes=(2, 1), normalize=normalize)([x4, a]).numpy()
    np.testing.assert_allclose(out, np.einsum("bpkq,bks->bpqs", norm(x4, 2), norm(a, 1)), rtol=1e-5, atol=1e-6)
    assert layers.Dot(axes=(2, 1)).compute_output_shape([(None, 2, 3, 6), (None, 3, 5)]) == (None, 2, 6, 5)
    assert layers.Dot(axes=1).compute_output_shape([(None, 3), (None, 3)]) == (None, 1)
    assert layers.Dot(axes=1, normalize=True).get_config()["axes"] == 1


@pytest.mark.parametrize("make,shapes,match", [
    (layers.Add, [(None, 3), (None, 4)], r"Inputs have incompatible shapes. Received shapes \(3,\) and \(4,\)"),
    (layers.Maximum, [(None, 2, 3), (None, 3, 3)], r"Inputs have incompatible shapes"),
    (layers.Subtract, [(None, 3)] * 3, r"A `Subtract` layer should be called on exactly 2 inputs"),
    (lambda: layers.Concatenate(axis=1), [(None, 2, 3), (None, 2, 4)], r"A `Concatenate` layer requires inputs with "
                                                                       r"matching shapes except for the concatenation "
                                                                       r"axis"),
    (lambda: layers.Concatenate(), [(None, 2, 3), (None, 3)], r"requires inputs with matching shapes"),
    (lambda: layers.Dot(axes=1), [(None, 3), (None, 4)], r"Incompatible input shapes: axis values 3 \(at axis 1\) != "
                                                         r"4 \(at axis 1\)"),
    (lambda: layers.Dot(axes=(0, 1)), [(None, 3), (None, 3)], r"Cannot perform batch_dot over axis 0"),
    (lambda: layers.Dot(axes=3), [(None, 3), (None, 3)], r"Dot: axis 3 of `axes`=3 is out of range"),
])
def test_merge_shape_errors(make, shapes, match):
    with pytest.raises(ValueError, match=match):
        make()([tf.Input(shape=s[1:]) for s in shapes])


def test_merge_needs_a_list():
    with pytest.raises(ValueError, match=r"A `Add` layer should be called on a list of inputs"):
        layers.Add()(np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match=r"Cannot merge tensors with different batch sizes"):
        layers.Add()([np.zeros((2, 3), np.float32), np.zeros((3, 3), np.float32)])
    with pytest.raises(TypeError, match=r"Invalid type for argument `axes`"):
        layers.Dot(axes="1")
    with pytest.raises(ValueError, match=r"it should contain two elements"):
        layers.Dot(axes=(1, 2, 3))
