"""GradientTape as TensorFlow's: nested tapes (second and third derivatives, Hessian-vector products
through each op that has them), persistent tapes, targets that are not scalars or are several,
unconnected sources, watched constants, stop_gradient. Checked against analytic values, central
finite differences, and TensorFlow where it is installed."""
import numpy as np
import pytest

import fastfit as tf
import fastfit as keras


def test_nested_tapes_give_second_derivatives():
    x = tf.Variable(3.0)
    with tf.GradientTape() as outer:
        with tf.GradientTape() as inner:
            y = x * x * x
        dy = inner.gradient(y, x)
    assert float(dy) == 27.0 and float(outer.gradient(dy, x)) == 18.0


@pytest.mark.parametrize("name, d1, d2", [
    ("log1p", lambda x: 1 / (1 + x), lambda x: -1 / (1 + x) ** 2),
    ("expm1", np.exp, np.exp),
    ("erf", lambda x: 2 / np.sqrt(np.pi) * np.exp(-x * x), lambda x: -4 * x / np.sqrt(np.pi) * np.exp(-x * x)),
    ("softplus", lambda x: 1 / (1 + np.exp(-x)), lambda x: np.exp(-x) / (1 + np.exp(-x)) ** 2),
])
def test_nested_tapes_through_the_unary_math_ops(name, d1, d2):
    values = np.array([-1.5, 0.25, 2.0])
    x = tf.Variable(values.astype("float32"))
    with tf.GradientTape() as outer:
        with tf.GradientTape() as inner:
            y = tf.reduce_sum(getattr(tf.math, name)(x))
        dy = inner.gradient(y, x)
    np.testing.assert_allclose(dy.numpy(), d1(values), rtol=1e-5)
    np.testing.assert_allclose(outer.gradient(dy, x).numpy(), d2(values), rtol=1e-5, atol=1e-6)


def test_a_persistent_tape_differentiates_its_own_gradients():
    x = tf.constant([1.0, 2.0])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = tf.reduce_sum(x * x * x)
        dy = tape.gradient(y, x)          # 3 x^2, recorded: the tape is still recording
        d2y = tape.gradient(dy, x)        # 6 x (the sum of dy's elements)
    np.testing.assert_allclose(dy.numpy(), [3.0, 12.0])
    np.testing.assert_allclose(d2y.numpy(), [6.0, 12.0])
    np.testing.assert_allclose(tape.gradient(d2y, x).numpy(), [6.0, 6.0])


def test_a_non_persistent_tape_computes_one_set_of_gradients():
    v = tf.Variable([1.0])
    with tf.GradientTape() as tape:
        y = v * 2.0
    tape.gradient(y, v)
    with pytest.raises(RuntimeError, match="non-persistent GradientTape"):
        tape.gradient(y, v)


# -- Hessian-vector products through the ops: d/dx sum(df/dx * v) ---------------------------------
rng = np.random.default_rng(0)
X = rng.uniform(-1.5, 1.5, (3, 4)).astype(np.float32)
W = rng.normal(size=(4, 5)).astype(np.float32)
LABELS = np.array([0, 3, 1])
ONE_HOT = np.eye(5, dtype=np.float32)[[2, 0, 4]]


def _elementwise(m, x):
    return m.reduce_sum(x * x * x / (1.0 + x * x) - 2.0 * x + m.maximum(x, 0.5 * x) + m.minimum(x * x, 1.0))


def _math(m, x):
    return m.reduce_sum(m.sqrt(x * x + 1.0) + m.math.log(x * x + 2.0) + m.pow(m.abs(x) + 1.0, 1.5) +
                        m.exp(-x * x) + m.square(x) * m.math.negative(x))


def _activations(m, x):
    return m.reduce_sum(m.math.tanh(x) ** 2 + m.math.sigmoid(x) * x + m.nn.relu(x) * x)


def _softmax(m, x):
    return m.reduce_sum(m.nn.softmax(x) * m.constant(np.arange(12, dtype=np.float32).reshape(3, 4)) ** 2)


def _matmul(m, x):
    h = m.math.tanh(m.matmul(x, m.constant(W)))
    t = m.matmul(x, m.constant(X), transpose_b=True)
    u = m.matmul(m.transpose(x), x) - m.matmul(x, m.math.tanh(x), transpose_a=True)
    return m.reduce_sum(h * h) + m.reduce_mean(m.reshape(t, (-1,)) ** 2) + m.reduce_sum(u * u)


def _sparse_xent(m, x):
    logits = m.matmul(x, m.constant(W))
    return m.reduce_mean(m.keras.losses.sparse_categorical_crossentropy(LABELS, logits, from_logits=True))


def _categorical_xent(m, x):
    logits = m.matmul(x, m.constant(W))
    return m.reduce_sum(m.keras.losses.categorical_crossentropy(ONE_HOT, logits, from_logits=True))


def _binary_xent_and_mse(m, x):
    logits = m.matmul(x, m.constant(W))
    return (m.reduce_sum(m.keras.losses.binary_crossentropy(ONE_HOT, logits, from_logits=True)) +
            m.reduce_sum(m.keras.losses.mean_squared_error(ONE_HOT, m.math.tanh(logits))))


FUNCTIONS = [_elementwise, _math, _activations, _softmax, _matmul, _sparse_xent, _categorical_xent,
             _binary_xent_and_mse]


def _gradient_and_hvp(m, f, x, v):
    x = m.constant(x)
    with m.GradientTape() as outer:
        outer.watch(x)
        with m.GradientTape() as inner:
            inner.watch(x)
            y = f(m, x)
        g = inner.gradient(y, x)
        gv = m.reduce_sum(g * m.constant(v))
    return np.asarray(g), np.asarray(outer.gradient(gv, x))


class _FastfitAsTF:
    """fastfit under TensorFlow's spellings of the ops these functions use."""

    def __getattr__(self, name):
        return keras if name == "keras" else getattr(tf, name)


@pytest.mark.parametrize("f", FUNCTIONS, ids=lambda f: f.__name__[1:])
def test_hessian_vector_products_match_finite_differences(f):
    v = rng.normal(size=X.shape).astype(np.float32)
    m = _FastfitAsTF()
    _, hvp = _gradient_and_hvp(m, f, X, v)
    eps = 1e-2  # float32: central differences of the gradient along v
    g_plus, _ = _gradient_and_hvp(m, f, X + eps * v, v)
    g_minus, _ = _gradient_and_hvp(m, f, X - eps * v, v)
    np.testing.assert_allclose(hvp, (g_plus - g_minus) / (2 * eps), rtol=2e-2, atol=2e-2)


@pytest.mark.parametrize("f", FUNCTIONS, ids=lambda f: f.__name__[1:])
def test_hessian_vector_products_match_tensorflow(f):
    real_tf = pytest.importorskip("tensorflow")
    import keras as real_keras
    v = rng.normal(size=X.shape).astype(np.float32)

    class TF:
        def __getattr__(self, name):
            return real_keras if name == "keras" else getattr(real_tf, name)

    ours, theirs = _gradient_and_hvp(_FastfitAsTF(), f, X, v), _gradient_and_hvp(TF(), f, X, v)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


def test_second_derivatives_of_a_model_match_tensorflow():
    """A gradient penalty: the norm of d(model output)/d(input), differentiated w.r.t. the weights."""
    real_tf = pytest.importorskip("tensorflow")
    import keras as real_keras
    x = rng.normal(size=(6, 4)).astype(np.float32)

    def penalty_grads(m, k):
        inputs = k.Input(shape=(4,))
        hidden = k.layers.Dense(8, activation="tanh")(inputs)
        model = k.Model(inputs, k.layers.Dense(1, activation="sigmoid")(k.layers.Dense(8, activation="relu")(hidden)))
        model.set_weights([np.random.default_rng(i).normal(size=w.shape).astype(np.float32)
                           for i, w in enumerate(model.get_weights())])
        xt = m.constant(x)
        with m.GradientTape() as outer:
            with m.GradientTape() as inner:
                inner.watch(xt)
                out = model(xt)
            dx = inner.gradient(out, xt)
            penalty = m.reduce_mean(m.reduce_sum(dx * dx, axis=1))
        return [np.asarray(g) for g in outer.gradient(penalty, model.trainable_weights)]

    for a, b in zip(penalty_grads(tf, keras), penalty_grads(real_tf, real_keras)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_higher_derivatives_through_an_op_without_them_raise():
    x = tf.Variable([1.0, 2.0])
    with tf.GradientTape() as outer:
        with tf.GradientTape() as inner:
            y = tf.reduce_max(x * x)
        with pytest.raises(NotImplementedError, match="second and higher derivatives through Max"):
            inner.gradient(y, x)
    assert outer is not None


# -- targets, sources, unconnected gradients ------------------------------------------------------
def test_non_scalar_and_several_targets_are_summed():
    x = tf.Variable([1.0, 2.0, 3.0])
    with tf.GradientTape(persistent=True) as tape:
        y = x * tf.constant([1.0, 2.0, 3.0])        # shape (3,): d sum(y)/dx
        z = tf.reduce_sum(x * x)
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), [1.0, 2.0, 3.0])
    np.testing.assert_allclose(tape.gradient([y, z], x).numpy(), [3.0, 6.0, 9.0])
    np.testing.assert_allclose(tape.gradient({"a": y, "b": z}, x).numpy(), [3.0, 6.0, 9.0])
    weighted = tape.gradient([y, z], x, output_gradients=[tf.constant([1.0, 0.0, 2.0]), 3.0])
    np.testing.assert_allclose(weighted.numpy(), [1.0 + 6.0, 12.0, 6.0 + 18.0])
    np.testing.assert_allclose(tape.gradient([y, y], x).numpy(), [2.0, 4.0, 6.0])  # a target twice counts twice
    with pytest.raises(ValueError, match="one gradient per target"):
        tape.gradient([y, z], x, output_gradients=[1.0])


def test_unconnected_sources_give_none_or_zeros_in_the_sources_structure():
    a, b = tf.Variable([1.0, 2.0]), tf.Variable([[3.0]])
    with tf.GradientTape(persistent=True) as tape:
        y = tf.reduce_sum(a * 3.0)
    grads = tape.gradient(y, {"a": a, "b": b})
    assert set(grads) == {"a", "b"} and grads["b"] is None
    np.testing.assert_allclose(grads["a"].numpy(), [3.0, 3.0])
    for how in ("zero", tf.UnconnectedGradients.ZERO):
        ga, gb = tape.gradient(y, (a, b), unconnected_gradients=how)
        assert gb.shape == (1, 1) and float(gb.numpy()[0, 0]) == 0.0
    with pytest.raises(ValueError, match="unconnected_gradients"):
        tape.gradient(y, a, unconnected_gradients="zeros")


def test_constants_are_differentiated_only_when_watched():
    c = tf.constant([1.0, 2.0])
    with tf.GradientTape(persistent=True) as tape:
        y = tf.reduce_sum(c * c)
        tape.watch(c)
        z = tf.reduce_sum(c * c)
    assert tape.gradient(y, c) is None
    np.testing.assert_allclose(tape.gradient(z, c).numpy(), [2.0, 4.0])
    with pytest.raises(TypeError, match="watch"):
        tape.watch([np.ones(2)])


def test_stop_gradient_blocks_its_input():
    x = tf.Variable([2.0, -1.0])
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(x * tf.stop_gradient(x))   # d/dx = x, not 2x
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), [2.0, -1.0])


def test_gradients_match_tensorflow_on_structures():
    real_tf = pytest.importorskip("tensorflow")

    def grads(m):
        a, b = m.Variable([1.0, -2.0]), m.Variable([[0.5, 1.5]])
        unused = m.Variable([7.0])
        with m.GradientTape() as tape:
            y = [a * m.reduce_sum(b), m.reduce_sum(m.matmul(b, b, transpose_a=True))]
        out = tape.gradient(y, {"a": a, "b": b, "unused": unused}, unconnected_gradients="zero")
        return {k: np.asarray(v) for k, v in out.items()}

    ours, theirs = grads(tf), grads(real_tf)
    assert ours.keys() == theirs.keys()
    for k in ours:
        np.testing.assert_allclose(ours[k], theirs[k], rtol=1e-6)
