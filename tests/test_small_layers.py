"""ReLU, LeakyReLU, PReLU, ELU, Softmax, Rescaling, Normalization, CategoryEncoding, Cropping1D,
ZeroPadding1D, UpSampling1D and ActivityRegularization: forward against NumPy float64, backward against
finite differences, Keras' argument errors, output shapes in functional models, and fit compiling them.
(Their parity with Keras 3 is in test_parity_layers.py.)"""

import numpy as np
import pytest

import fastfit as keras
from fastfit import layers
from helpers import check_op, fit_compiled_and_eager, runner_of


def x_of(*shape, seed=0):
    x = np.random.default_rng(seed).normal(size=shape).astype(np.float32)
    return np.where(np.abs(x) < 0.05, 0.3, x).astype(np.float32)  # away from the kinks at 0


def relu_reference(x, max_value=None, negative_slope=0.0, threshold=0.0):
    out = np.where(x > threshold, x, negative_slope * (x - threshold))
    return out if max_value is None else np.minimum(out, max_value)


def softmax_reference(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@pytest.mark.parametrize("make,reference", [
    (lambda: layers.ReLU(), relu_reference),
    (lambda: layers.ReLU(max_value=0.7, negative_slope=0.1, threshold=0.2),
     lambda x: relu_reference(x, 0.7, 0.1, 0.2)),
    (lambda: layers.LeakyReLU(), lambda x: np.where(x > 0, x, 0.3 * x)),
    (lambda: layers.ELU(), lambda x: np.where(x > 0, x, np.expm1(x))),
    (lambda: layers.ELU(alpha=0.5), lambda x: np.where(x > 0, x, 0.5 * np.expm1(x))),
    (lambda: layers.PReLU(alpha_initializer=keras.initializers.Constant(0.25)), lambda x: np.where(x > 0, x, 0.25 * x)),
    (lambda: layers.Softmax(), lambda x: softmax_reference(x, -1)),
    (lambda: layers.Softmax(axis=1), lambda x: softmax_reference(x, 1)),
    (lambda: layers.Softmax(axis=[1, 2]), lambda x: softmax_reference(x, (1, 2))),
    (lambda: layers.Rescaling(np.array([0.5, 2.0, -1.0, 3.0]), offset=0.25),
     lambda x: x * np.array([0.5, 2.0, -1.0, 3.0]) + 0.25),
    (lambda: layers.Normalization(mean=[1.0, 2.0, 0.0, -1.0], variance=[4.0, 0.25, 1.0, 2.0]),
     lambda x: (x - np.array([1.0, 2.0, 0.0, -1.0])) / np.sqrt([4.0, 0.25, 1.0, 2.0])),
    (lambda: layers.Normalization(axis=None, mean=2.0, variance=9.0, invert=True), lambda x: 2.0 + 3.0 * x),
    (lambda: layers.Cropping1D((1, 2)), lambda x: x[:, 1:-2]),
    (lambda: layers.ZeroPadding1D((2, 1)), lambda x: np.pad(x, ((0, 0), (2, 1), (0, 0)))),
    (lambda: layers.ZeroPadding1D(1, data_format="channels_first"), lambda x: np.pad(x, ((0, 0), (0, 0), (1, 1)))),
    (lambda: layers.UpSampling1D(3), lambda x: np.repeat(x, 3, axis=1)),
    (lambda: layers.ActivityRegularization(l1=0.1), lambda x: x),
])
def test_forward_and_backward(make, reference):
    layer = make()
    check_op(lambda x: layer(x), reference, [x_of(3, 5, 4)])


def test_prelu_alpha_per_position_and_shared_axes():
    x = x_of(2, 3, 4)
    layer = layers.PReLU(shared_axes=[1])
    layer(x)
    assert layer.weights[0].shape == (1, 4) and layer.weights[0].name == "alpha"
    alpha = np.array([[0.1, -0.2, 0.3, 0.5]], np.float32)
    layer.set_weights([alpha])
    np.testing.assert_allclose(layer(x).numpy(), np.where(x > 0, x, alpha * x), rtol=1e-6)
    assert layers.PReLU()(x) is not None and layers.PReLU(shared_axes=2).shared_axes == [2]
    with pytest.raises(ValueError, match="shared_axes"):
        layers.PReLU(shared_axes=[0])(x)


def test_normalization_divides_by_at_least_epsilon():
    out = layers.Normalization(mean=[1.0, 0.0], variance=[0.0, 1.0])(np.array([[1.5, 2.0]], np.float32)).numpy()
    np.testing.assert_allclose(out, [[0.5 / 1e-7, 2.0]], rtol=1e-6)


def test_softmax_mask_zeroes_masked_positions():
    x = x_of(2, 4)
    mask = np.array([[1, 1, 0, 1], [0, 1, 1, 1]], np.float32)
    out = layers.Softmax()(x, mask=mask).numpy()
    expected = np.where(mask > 0, np.exp(x), 0)
    np.testing.assert_allclose(out, expected / expected.sum(1, keepdims=True), rtol=1e-5)


@pytest.mark.parametrize("mode,ids,expected", [
    ("one_hot", [3, 0, 5], np.eye(6)[[3, 0, 5]]),
    ("one_hot", [[3], [0]], np.eye(6)[[3, 0]]),
    ("one_hot", [[1, 2], [0, 9]], np.stack([np.eye(6)[[1, 2]], [np.eye(6)[0], np.zeros(6)]])),  # 9: no token
    ("multi_hot", [[1, 2, 1], [0, 0, 5]], [[0, 1, 1, 0, 0, 0], [1, 0, 0, 0, 0, 1]]),
    ("multi_hot", [0, 3], [1, 0, 0, 1, 0, 0]),  # rank 1: one sample, as Keras
    ("count", [[1, 2, 1], [0, 0, 5]], [[0, 2, 1, 0, 0, 0], [2, 0, 0, 0, 0, 1]]),
    ("count", [[[0, 1], [2, 1]]], [[[1, 0, 1, 0, 0, 0], [0, 2, 0, 0, 0, 0]]]),  # rank 3: over axis 1, as Keras
])
def test_category_encoding(mode, ids, expected):
    layer = layers.CategoryEncoding(6, output_mode=mode)
    ids = np.array(ids)
    out = layer(ids).numpy()
    np.testing.assert_array_equal(out, expected)
    assert layer.compute_output_shape(ids.shape) == out.shape


def test_category_encoding_count_weights_and_errors():
    layer = layers.CategoryEncoding(4, output_mode="count")
    out = layer(np.array([[0, 1, 1]]), count_weights=np.array([[0.5, 1.0, 2.0]])).numpy()
    np.testing.assert_allclose(out, [[0.5, 3.0, 0.0, 0.0]])
    with pytest.raises(ValueError, match="count_weights"):
        layers.CategoryEncoding(4)(np.array([[0]]), count_weights=np.array([[1.0]]))
    with pytest.raises(ValueError, match="num_tokens must be set"):
        layers.CategoryEncoding()
    with pytest.raises(ValueError, match="num_tokens"):
        layers.CategoryEncoding(0)
    with pytest.raises(ValueError, match="Unknown arg for output_mode"):
        layers.CategoryEncoding(3, output_mode="tf_idf")
    with pytest.raises(NotImplementedError, match="sparse"):
        layers.CategoryEncoding(3, sparse=True)
    assert layers.CategoryEncoding(3, output_mode="binary").output_mode == "multi_hot"


@pytest.mark.parametrize("make,error,match", [
    (lambda: layers.ReLU(max_value=-1.0), ValueError, "max_value"),
    (lambda: layers.ReLU(negative_slope=-0.1), ValueError, "negative_slope"),
    (lambda: layers.ReLU(threshold=None), ValueError, "threshold"),
    (lambda: layers.LeakyReLU(negative_slope=-1), ValueError, "negative_slope"),
    (lambda: layers.Normalization(mean=1.0), ValueError, "both `mean` and `variance`"),
    (lambda: layers.Normalization(mean=[1.0, 2.0], variance=[1.0]), ValueError, "same shape"),
    (lambda: layers.Normalization(axis=-1, mean=[[1.0]], variance=[[1.0]]), ValueError, "rank of `mean`"),
    (lambda: layers.Normalization(axis=3)(np.ones((2, 3), np.float32)), ValueError, r"range \[-ndim, ndim\)"),
    (lambda: layers.Normalization(mean=[1.0, 2.0], variance=[1.0, 1.0])(np.ones((2, 3), np.float32)), ValueError,
     "do not broadcast"),
    (lambda: layers.Cropping1D((2, 2))(np.ones((1, 4, 2), np.float32)), ValueError, "smaller than the input length"),
    (lambda: layers.Cropping1D(-1), ValueError, "cropping"),
    (lambda: layers.ZeroPadding1D((1, 2, 3)), ValueError, "padding"),
    (lambda: layers.ZeroPadding1D(1, data_format="nwc"), ValueError, "data_format"),
    (lambda: layers.UpSampling1D(2.0), TypeError, "integer"),
    (lambda: layers.UpSampling1D(0), ValueError, "positive"),
    (lambda: layers.UpSampling1D()(np.ones((2, 3), np.float32)), ValueError, "expected ndim=3"),
])
def test_argument_errors(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_leaky_relu_alpha_is_deprecated():
    with pytest.warns(UserWarning, match="`alpha` is deprecated"):
        layer = layers.LeakyReLU(alpha=0.1)
    assert layer.negative_slope == 0.1 and layer.get_config()["negative_slope"] == 0.1


def test_configs_rebuild_the_layers():
    for layer in (layers.ReLU(max_value=2.0, threshold=0.5), layers.ELU(alpha=0.3), layers.Softmax(axis=(1, 2)),
                  layers.Rescaling(2.0, offset=1.0), layers.Normalization(axis=None, mean=1.0, variance=4.0),
                  layers.CategoryEncoding(5, output_mode="count"), layers.Cropping1D((0, 3)), layers.UpSampling1D(4),
                  layers.ZeroPadding1D(3), layers.ActivityRegularization(l2=0.5), layers.PReLU(shared_axes=[1, 2])):
        config = layer.get_config()
        rebuilt = type(layer)(**{k: v for k, v in config.items() if k != "name"})
        assert rebuilt.get_config() == {**config, "name": rebuilt.name}


def test_activity_regularization_adds_its_penalty_over_the_batch_size():
    layer = layers.ActivityRegularization(l1=0.1, l2=0.2)
    x = x_of(4, 3)
    layer(x)
    (penalty,) = layer.losses
    expected = (0.1 * np.abs(x.astype(np.float64)).sum() + 0.2 * np.square(x.astype(np.float64)).sum()) / 4
    assert float(penalty) == pytest.approx(expected, rel=1e-6)
    assert "activity_regularizer" not in layer.get_config()


def test_a_model_of_them_has_the_right_shapes_and_fits_compiled():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(96, 10, 3)).astype(np.float32)
    y = rng.integers(0, 4, 96).astype(np.float32)

    def build(eager):
        keras.utils.set_random_seed(0)
        inputs = keras.Input(shape=(10, 3))
        h = layers.Normalization(mean=[0.1, 0.0, -0.1], variance=[1.0, 2.0, 0.5])(inputs)
        h = layers.Rescaling(0.5)(layers.ZeroPadding1D((1, 1))(h))
        h = layers.UpSampling1D(2)(layers.Cropping1D((2, 0))(h))
        h = layers.Conv1D(8, 3)(h)
        h = layers.PReLU()(layers.LeakyReLU(0.1)(layers.ReLU(max_value=3.0, negative_slope=0.05)(h)))
        h = layers.ELU()(layers.ActivityRegularization(l2=1e-3)(layers.Flatten()(h)))
        outputs = layers.Softmax()(layers.Dense(4)(h))
        model = keras.Model(inputs, outputs)
        assert [t.shape for t in (h, outputs)] == [(None, 144), (None, 4)]  # ((10 + 2 - 2) * 2 - 2) * 8
        model.compile(optimizer=keras.optimizers.SGD(0.05), loss="sparse_categorical_crossentropy", run_eagerly=eager)
        return model
    (loss, w, model), (loss_eager, w_eager, _) = fit_compiled_and_eager(build, x, y, batch_size=16, epochs=2)
    assert runner_of(model, "train").program.splits("train")
    np.testing.assert_allclose(loss, loss_eager, rtol=1e-5)
    for a, b in zip(w, w_eager):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
