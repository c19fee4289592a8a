"""Every op: forward against NumPy float64, backward against central finite differences."""
import numpy as np
import pytest

import fastfit as tf
from fastfit import _core
from helpers import check_op, rand

pytestmark = pytest.mark.usefixtures("device")  # each test on each device (conftest.py)

SHAPES = [(1, 1, 1), (1, 7, 3), (5, 1, 4), (3, 9, 1), (17, 33, 11),
          (7, 33, 16), (13, 5, 32), (6, 20, 64), (1, 9, 48),  # our AVX2 kernel: every row tail,
          (8, 12, 10), (5, 3, 21), (50, 7, 8)]                # masked column tails


def np_softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


ACTS = {"linear": lambda z: z, "relu": lambda z: np.maximum(z, 0), "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
        "tanh": np.tanh}


def dense(x, kernel, bias=None, activation="linear"):
    return _core.apply("dense", [x, kernel] + ([] if bias is None else [bias]), activation=activation,
                       use_bias=bias is not None)


def sparse_crossentropy(y, p, from_logits):
    return _core.apply("sparse_categorical_crossentropy", [y, p], from_logits=from_logits)


def crossentropy(y, p, from_logits):
    return _core.apply("categorical_crossentropy", [y, p], from_logits=from_logits)


def away_from_zero(a):  # relu's kink: keep finite differences off it
    return np.where(np.abs(a) < 0.05, 0.1, a).astype(np.float32)


@pytest.mark.parametrize("m,k,n", SHAPES)
@pytest.mark.parametrize("ta,tb", [(False, False), (True, False), (False, True), (True, True)])
def test_matmul(m, k, n, ta, tb):
    rng = np.random.default_rng(m * 100 + k)
    a = rand(rng, *((k, m) if ta else (m, k)))
    b = rand(rng, *((n, k) if tb else (k, n)))
    check_op(lambda x, y: tf.matmul(x, y, transpose_a=ta, transpose_b=tb),
             lambda x, y: (x.T if ta else x) @ (y.T if tb else y), [a, b])


@pytest.mark.parametrize("m,k,n", SHAPES)
@pytest.mark.parametrize("act", sorted(ACTS))
@pytest.mark.parametrize("bias", [True, False])
def test_dense(m, k, n, act, bias):
    rng = np.random.default_rng(m + k + n)
    x, w, b = rand(rng, m, k), rand(rng, k, n), rand(rng, n)

    def ref(x, w, b=None):
        z = x @ w + (0 if b is None else b)
        return ACTS[act](z)

    if act == "relu":  # keep pre-activations off 0
        z = x.astype(np.float64) @ w + b
        b = (b + np.where(np.abs(z).min(axis=0) < 0.05, 0.2, 0)).astype(np.float32)
    inputs = [x, w, b] if bias else [x, w]
    check_op(lambda *t: dense(t[0], t[1], t[2] if bias else None, act), ref, inputs)


def test_dense_on_3d_inputs():
    rng = np.random.default_rng(1)
    x, w, b = rand(rng, 2, 3, 4), rand(rng, 4, 5), rand(rng, 5)
    check_op(lambda *t: dense(*t, "tanh"), lambda x, w, b: np.tanh(x @ w + b), [x, w, b])


@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (2, 3, 7)])
def test_bias_add(shape):
    rng = np.random.default_rng(2)
    check_op(lambda x, b: _core.apply("bias_add", [x, b]), lambda x, b: x + b,
             [rand(rng, *shape), rand(rng, shape[-1])])


@pytest.mark.parametrize("act", ["relu", "sigmoid", "tanh"])
@pytest.mark.parametrize("shape", [(1,), (4, 7), (2, 3, 5)])
def test_activation(act, shape):
    x = away_from_zero(rand(np.random.default_rng(3), *shape, low=-3, high=3))
    check_op(lambda t: _core.apply(act, [t]), ACTS[act], [x])


@pytest.mark.parametrize("shape", [(1, 1), (1, 6), (5, 3), (2, 3, 9)])
def test_softmax(shape):
    check_op(tf.nn.softmax, np_softmax, [rand(np.random.default_rng(4), *shape, low=-4, high=4)])


def test_softmax_large_logits_stay_finite():
    out = tf.nn.softmax(tf.constant([[1000.0, 0.0, -1000.0]])).numpy()
    np.testing.assert_allclose(out, [[1, 0, 0]], atol=1e-7)


@pytest.mark.parametrize("b,c", [(1, 1), (1, 5), (6, 3), (13, 10)])
@pytest.mark.parametrize("label_shape", ["flat", "column"])
def test_sparse_crossentropy_from_logits(b, c, label_shape):
    rng = np.random.default_rng(b * c)
    labels = rng.integers(0, c, size=(b,) if label_shape == "flat" else (b, 1)).astype(np.int32)
    logits = rand(rng, b, c, low=-3, high=3)

    def ref(y, x):
        lse = np.log(np.exp(x - x.max(-1, keepdims=True)).sum(-1)) + x.max(-1)
        return lse - x[np.arange(b), y.reshape(-1)]

    check_op(lambda y, x: sparse_crossentropy(y, x, True), ref, [labels, logits])


@pytest.mark.parametrize("b,c", [(1, 2), (7, 4), (9, 10)])
def test_sparse_crossentropy_from_probabilities(b, c):
    rng = np.random.default_rng(5)
    labels = rng.integers(0, c, size=b).astype(np.int32)
    probs = rand(rng, b, c, low=0.05, high=0.9)  # inside the clip; Keras: log(clip(p)) then softmax-xent

    def ref(y, p):
        pc = np.clip(p, 1e-7, 1 - 1e-7)
        return np.log(pc.sum(-1)) - np.log(pc[np.arange(b), y])

    check_op(lambda y, p: sparse_crossentropy(y, p, False), ref, [labels, probs])


@pytest.mark.parametrize("b,c", [(1, 1), (4, 3), (11, 10)])
def test_categorical_crossentropy(b, c):
    rng = np.random.default_rng(6)
    y = rng.dirichlet(np.ones(c), size=b).astype(np.float32)
    logits = rand(rng, b, c, low=-3, high=3)
    probs = rand(rng, b, c, low=0.05, high=0.9)

    def ref_logits(y, x):
        lse = np.log(np.exp(x - x.max(-1, keepdims=True)).sum(-1, keepdims=True)) + x.max(-1, keepdims=True)
        return -(y * (x - lse)).sum(-1)

    def ref_probs(y, p):
        q = np.clip(p / p.sum(-1, keepdims=True), 1e-7, 1 - 1e-7)
        return -(y * np.log(q)).sum(-1)

    check_op(lambda a, x: crossentropy(a, x, True), ref_logits, [y, logits], grad_inputs=[1])
    if c > 1:
        check_op(lambda a, p: crossentropy(a, p, False), ref_probs, [y, probs], grad_inputs=[1])


def test_crossentropy_on_softmax_output_uses_logits():
    logits = tf.constant([[50.0, 0.0, -50.0]])
    probs = tf.nn.softmax(logits)
    loss = tf.losses.sparse_categorical_crossentropy(tf.constant(np.array([2], np.int32)), probs).numpy()
    np.testing.assert_allclose(loss, [100.0], rtol=1e-5)  # clipping the probabilities would give 16.1


@pytest.mark.parametrize("shape", [(1, 1), (5, 3), (2, 4, 6)])
def test_squared_error(shape):
    rng = np.random.default_rng(7)
    check_op(lambda y, p: _core.apply("mean_squared_error", [y, p]), lambda y, p: ((p - y) ** 2).mean(-1),
             [rand(rng, *shape), rand(rng, *shape)])


@pytest.mark.parametrize("fn,np_fn", [(tf.reduce_sum, np.sum), (tf.reduce_mean, np.mean)])
@pytest.mark.parametrize("axis", [None, 0, -1, (0, 2), 1])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions(fn, np_fn, axis, keepdims):
    x = rand(np.random.default_rng(8), 3, 1, 5)
    check_op(lambda t: fn(t, axis=axis, keepdims=keepdims), lambda a: np_fn(a, axis=axis, keepdims=keepdims), [x])


@pytest.mark.parametrize("fn,np_fn", [(tf.add, np.add), (tf.subtract, np.subtract), (tf.multiply, np.multiply),
                                      (tf.divide, np.divide)])
@pytest.mark.parametrize("sa,sb", [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 5), (3, 1)), ((1,), (2, 3)), ((), (2, 2)),
                                   ((4, 1, 6), (1, 5, 1)), ((2, 3, 17), (3, 1)), ((37, 1, 13), ()), ((5, 1), (5, 9))])
def test_binary_broadcasting(fn, np_fn, sa, sb):
    rng = np.random.default_rng(9)
    a = rand(rng, *sa, low=0.5, high=2)
    b = rand(rng, *sb, low=0.5, high=2)
    check_op(fn, np_fn, [a, b])


@pytest.mark.parametrize("fn,np_fn", [(tf.maximum, np.maximum), (tf.minimum, np.minimum), (tf.pow, np.power)])
@pytest.mark.parametrize("sa,sb", [((3, 4), (4,)), ((4, 1, 6), (1, 5, 1))])
def test_binary_broadcasting_of_maximum_minimum_and_pow(fn, np_fn, sa, sb):
    rng = np.random.default_rng(12)
    check_op(fn, np_fn, [rand(rng, *sa, low=0.5, high=2), rand(rng, *sb, low=0.5, high=2)])


def test_a_product_of_a_tensor_with_itself_gets_both_gradients():
    x = tf.constant(rand(np.random.default_rng(13), 3, 5))
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reduce_sum(x * x)
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), 2 * x.numpy(), rtol=1e-6)


@pytest.mark.parametrize("axis", [None, 0, (0, 1), 2])
def test_long_reductions(axis):  # the partial sums of a whole tensor, the row passes of leading axes
    x = rand(np.random.default_rng(14), 37, 1, 41)
    check_op(lambda t: tf.reduce_sum(t, axis=axis), lambda a: np.sum(a, axis=axis), [x])


@pytest.mark.parametrize("fn,np_fn,low", [(tf.negative, np.negative, -2), (tf.square, np.square, -2),
                                          (tf.sqrt, np.sqrt, 0.1), (tf.exp, np.exp, -2), (tf.log, np.log, 0.1),
                                          (tf.abs, np.abs, 0.1)])
@pytest.mark.parametrize("shape", [(1,), (3, 7)])
def test_unary(fn, np_fn, low, shape):
    check_op(fn, np_fn, [rand(np.random.default_rng(10), *shape, low=low, high=2)])


def test_operators_record_on_tape():
    x = tf.Variable([[1.0, 2.0]])
    with tf.GradientTape() as tape:
        y = tf.reduce_sum((x * 3.0 + 1.0) / 2.0 - x @ tf.constant([[1.0], [1.0]]))
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), [[-0.5, -0.5]])  # 3/2 - 2 (broadcast twice)


@pytest.mark.parametrize("call,match", [
    (lambda: tf.matmul(np.ones((2, 3), np.float32), np.ones((4, 2), np.float32)), r"inner dimensions differ"),
    (lambda: tf.add(np.ones((2, 3), np.float32), np.ones((4,), np.float32)), r"cannot be broadcast"),
    (lambda: tf.reduce_sum(np.ones((2, 3), np.float32), axis=2), r"axis 2 is out of range"),
    (lambda: dense(tf.constant(np.ones((2, 3), np.float32)), tf.constant(np.ones((4, 2), np.float32)), None,
                   "relu"), r"last dimension 4"),
    (lambda: sparse_crossentropy(tf.constant(np.array([0, 5], np.int32)),
                                 tf.constant(np.ones((2, 3), np.float32)), True), r"labels must be in \[0, 3\)"),
    (lambda: sparse_crossentropy(tf.constant(np.array([0, 1, 2], np.int32)),
                                 tf.constant(np.ones((2, 3), np.float32)), True), r"`y_true` must have shape"),
])
def test_op_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_non_numeric_input_is_a_type_error():
    with pytest.raises(TypeError, match="numeric"):
        tf.convert_to_tensor(np.array(["a", "b"]))


def test_denormals_are_flushed_to_zero_as_tensorflow_does():
    """Every fastfit computation treats denormal floats as zero (TensorFlow's setting, so Keras'
    numbers); NumPy, outside fastfit's calls, keeps them."""
    tiny = np.float32(1e-39)  # denormal
    assert tf.multiply(tf.constant([tiny]), 1.0).numpy()[0] == 0
    assert tf.multiply(tf.constant([1e-20]), 1e-20).numpy()[0] == 0  # a denormal result
    assert np.float32(1e-39) * np.float32(1.0) != 0  # NumPy's thread state is untouched
