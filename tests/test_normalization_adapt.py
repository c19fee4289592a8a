"""Normalization.adapt against NumPy's mean and variance (float64), for arrays, tensors, Datasets,
lists, generators and PyDatasets of batches, per feature, per position of several axes or over all."""
import numpy as np
import pytest

import fastfit as keras
from fastfit import layers


def data(*shape, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=shape) * rng.uniform(0.5, 3, size=shape[-1]) + rng.normal(size=shape[-1]) * 5).astype(
        np.float32)


def assert_adapted(layer, x, axes):
    reduce = tuple(a for a in range(x.ndim) if a not in axes)
    mean, variance = x.astype(np.float64).mean(axis=reduce), x.astype(np.float64).var(axis=reduce)
    got_mean, got_variance, count = layer.get_weights()
    np.testing.assert_allclose(got_mean, mean, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got_variance, variance, rtol=1e-5, atol=1e-6)
    assert count == 0  # kept, as Keras keeps it, for old saved models
    out = layer(x).numpy()
    np.testing.assert_allclose(out, (x - mean.reshape(layer._broadcast_shape)) /
                               np.sqrt(variance).reshape(layer._broadcast_shape), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("axis,shape,axes", [
    (-1, (200, 3), (1,)),
    (None, (50, 4), ()),
    ((1, 2), (40, 3, 2), (1, 2)),
    (1, (40, 3, 2), (1,)),
])
def test_adapt_an_array(axis, shape, axes):
    x = data(*shape)
    layer = layers.Normalization(axis=axis)
    layer.adapt(x)
    assert [w.name for w in layer.weights] == ["mean", "variance", "count"]
    assert all(not w.trainable for w in layer.weights)
    assert_adapted(layer, x, axes)


def test_adapt_a_tensor_and_keras_documented_values():
    layer = layers.Normalization(axis=-1)
    layer.adapt(keras.constant(np.array([[0.0, 7.0, 4.0], [2.0, 9.0, 6.0], [0.0, 7.0, 4.0], [2.0, 9.0, 6.0]])))
    np.testing.assert_allclose(layer(np.array([[0.0, 7.0, 4.0]], np.float32)).numpy(), [[-1.0, -1.0, -1.0]])
    inverse = layers.Normalization(axis=-1, invert=True)
    inverse.adapt(np.array([[0.0, 7.0, 4.0], [2.0, 9.0, 6.0], [0.0, 7.0, 4.0], [2.0, 9.0, 6.0]], np.float32))
    np.testing.assert_allclose(inverse(np.array([[1.0, 2.0, 3.0]], np.float32)).numpy(), [[2.0, 10.0, 8.0]])


@pytest.mark.parametrize("make", [
    lambda x: keras.data.Dataset.from_tensor_slices(x).batch(33),
    lambda x: keras.data.Dataset.from_tensor_slices((x, np.zeros(len(x)))).batch(50),  # (x, y): x counts
    lambda x: keras.data.Dataset.from_tensor_slices(x),  # unbatched samples: batched by 128, as Keras
    lambda x: [x[:70], x[70:100], x[100:]],
    lambda x: (x[i:i + 64] for i in range(0, len(x), 64)),
])
def test_adapt_batches_merges_them_exactly(make):
    x = data(230, 4)
    layer = layers.Normalization()
    layer.adapt(make(x))
    assert_adapted(layer, x, (1,))


def test_adapt_a_py_dataset():
    x = data(90, 2)

    class Batches(keras.utils.PyDataset):
        def __len__(self):
            return 3

        def __getitem__(self, i):
            return x[30 * i:30 * (i + 1)], np.zeros(30)

    layer = layers.Normalization()
    layer.adapt(Batches())
    assert_adapted(layer, x, (1,))


def test_adapt_again_replaces_the_statistics_and_models_use_them():
    layer = layers.Normalization()
    layer.adapt(data(100, 3, seed=1))
    x = data(100, 3, seed=2)
    layer.adapt(x)
    assert_adapted(layer, x, (1,))
    inputs = keras.Input(shape=(3,))
    model = keras.Model(inputs, layer(inputs))
    np.testing.assert_allclose(model.predict(x, verbose=0), layer(x).numpy(), rtol=1e-6)


@pytest.mark.parametrize("make_layer,data_arg,error,match", [
    (lambda: layers.Normalization(), [], ValueError, "empty iterable"),
    (lambda: layers.Normalization(), "text", TypeError, "Unsupported data type"),
    (lambda: layers.Normalization(), [1.0, 2.0], TypeError, "`.shape` attribute"),
    (lambda: layers.Normalization(), [np.ones((4, 3)), np.ones((4, 2))], ValueError, "incompatible shape"),
    (lambda: layers.Normalization(mean=1.0, variance=1.0), np.ones((4, 3)), ValueError, "given to the constructor"),
])
def test_adapt_errors(make_layer, data_arg, error, match):
    layer = make_layer()
    if layer.input_mean is not None:
        layer(np.ones((4, 3), np.float32))
    with pytest.raises(error, match=match):
        layer.adapt(data_arg)


def test_adapt_checks_the_shape_the_layer_was_built_for():
    layer = layers.Normalization()
    layer(np.ones((2, 3), np.float32))
    with pytest.raises(ValueError, match="built with input_shape"):
        layer.adapt(np.ones((5, 4), np.float32))
