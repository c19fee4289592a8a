"""Pooling ops and layers: forward against NumPy float64, backward against central finite differences
(max: the gradient goes to each window's maximum), shape rules, errors, Keras' arguments."""
import numpy as np
import pytest

import conv_reference as ref
import fastfit as keras
from fastfit import _core, layers
from helpers import check_op, rand

pytestmark = pytest.mark.usefixtures("device")  # each test on each device (conftest.py)

# (input shape, pool_size, strides, padding): odd sizes, batch 1, channels 1, overlapping windows,
# strides past the window, pool = input size, 'same' padding on either side.
POOL2D = [
    ((2, 4, 4, 3), (2, 2), (2, 2), "valid"), ((1, 5, 7, 2), (2, 2), (2, 2), "same"),
    ((2, 5, 5, 1), (3, 3), (1, 1), "same"), ((1, 6, 5, 2), (3, 2), (2, 1), "valid"),
    ((1, 3, 3, 4), (3, 3), (1, 1), "valid"), ((3, 7, 7, 2), (2, 2), (3, 3), "valid"),
    ((1, 4, 5, 1), (2, 3), (3, 2), "same"),
    # max pooling runs 16 channels at a time, then the rest one by one
    ((1, 5, 4, 17), (2, 2), (2, 2), "same"), ((1, 4, 4, 32), (3, 3), (1, 1), "valid"),
    # windows of more than 64 taps loop over channels tap by tap (those cut by the padding are vectorised)
    ((1, 9, 8, 3), (9, 8), (2, 1), "same"),
]
POOL1D = [((2, 7, 3), 2, 2, "valid"), ((1, 7, 2), 3, 2, "same"), ((3, 5, 1), 5, 1, "valid"), ((1, 6, 2), 2, 3, "same")]


@pytest.mark.parametrize("xs,size,strides,padding", POOL2D)
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pool2d(xs, size, strides, padding, kind):
    x = rand(np.random.default_rng(sum(xs)), *xs)
    check_op(lambda t: _core.apply(f"{kind}_pool2d", [t], pool_size=list(size), strides=list(strides),
                                   padding=padding),
             lambda a: getattr(ref, f"{kind}_pool")(a, size, strides, padding), [x])


@pytest.mark.parametrize("xs,size,stride,padding", POOL1D)
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pool1d(xs, size, stride, padding, kind):
    x = rand(np.random.default_rng(sum(xs)), *xs)
    check_op(lambda t: _core.apply(f"{kind}_pool1d", [t], pool_size=[size], strides=[stride], padding=padding),
             lambda a: getattr(ref, f"{kind}_pool")(a[:, None], (1, size), (1, stride), padding)[:, 0], [x])


# Global max over at most 16 channels runs vectorised over periods of lcm(channels, 16) floats, with the
# floats after the last whole period scanned: 3 channels (3 vectors a period), 5, 12, 16 (one), 1, and
# 17 (channels vectorised instead).
@pytest.mark.parametrize("xs", [(2, 3, 4, 5), (1, 1, 1, 2), (3, 6, 1), (2, 6, 7, 3), (1, 37, 5), (2, 5, 3, 12),
                                (1, 3, 16), (2, 40, 1), (1, 2, 3, 17), (1, 9, 9, 18)])
@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("keepdims", [False, True])
def test_global_pool(xs, kind, keepdims):
    x = rand(np.random.default_rng(sum(xs)), *xs)
    axes = tuple(range(1, len(xs) - 1))
    np_fn = np.max if kind == "max" else np.mean
    check_op(lambda t: _core.apply(f"global_{kind}_pool{len(xs) - 2}d", [t], keepdims=keepdims),
             lambda a: np_fn(a, axis=axes, keepdims=keepdims), [x])


@pytest.mark.parametrize("size,strides", [((2, 2), (2, 2)), ((3, 3), (1, 1))])  # windows apart, overlapping
def test_max_pool_gradients_accumulate_when_an_input_is_used_twice(size, strides):
    x = rand(np.random.default_rng(5), 2, 5, 6, 3)
    pool = lambda t: _core.apply("max_pool2d", [t], pool_size=list(size), strides=list(strides), padding="same")
    check_op(lambda t: pool(t) + pool(t), lambda a: 2 * ref.max_pool(a, size, strides, "same"), [x])


def test_max_pool_sends_ties_to_the_first_maximum():
    x = keras.constant(np.ones((1, 2, 4, 1), "float32"))
    with keras.GradientTape() as tape:
        tape.watch(x)
        y = _core.apply("max_pool2d", [x], pool_size=[2, 2], strides=[2, 2])
    np.testing.assert_array_equal(tape.gradient(y, x).numpy()[0, :, :, 0], [[1, 0, 1, 0], [0, 0, 0, 0]])


@pytest.mark.parametrize("first,later", [(3, 20), (15, 17), (40, 47)])
def test_global_max_pool_sends_ties_to_the_first_maximum(first, later):
    """Index `later` lies in an earlier lane of the vectorised scan than `first` in (15, 17); 40 and 47 lie
    after the last whole period."""
    x = np.zeros((1, 48, 1), "float32")
    x[0, [first, later], 0] = 5
    t = keras.constant(x)
    with keras.GradientTape() as tape:
        tape.watch(t)
        y = _core.apply("global_max_pool1d", [t])
    expected = np.zeros(48)
    expected[first] = 1
    np.testing.assert_array_equal(tape.gradient(y, t).numpy()[0, :, 0], expected)


@pytest.mark.parametrize("name,attrs,shape,message", [
    ("max_pool2d", {"pool_size": [3, 3]}, (1, 2, 4, 1),
     r"MaxPool2D: pool_size 3x3 is larger than the input's 2x4 spatial size with padding='valid'"),
    ("avg_pool1d", {}, (2, 3),
     r"AvgPool1D: expected inputs of rank 3 \(batch, steps, channels\), got float32 \(2, 3\)"),
    ("global_max_pool2d", {}, (2, 3, 4), r"GlobalMaxPool2D: expected inputs of rank 4"),
])
def test_pool_shape_errors(name, attrs, shape, message):
    with pytest.raises(ValueError, match=message):
        _core.apply(name, [keras.constant(np.zeros(shape, "float32"))], **attrs)


@pytest.mark.parametrize("name,attrs,message", [
    ("max_pool2d", {"pool_size": [2]}, r"MaxPool2D: `pool_size` must be 2 positive integer\(s\), got \[2\]"),
    ("avg_pool2d", {"strides": [1, 0]}, r"AvgPool2D: `strides` must be 2 positive integer\(s\), got \[1, 0\]"),
    ("max_pool1d", {"padding": "causal"}, r"MaxPool1D: `padding` must be 'valid' or 'same', got 'causal'"),
    ("max_pool2d", {"dilation_rate": [1, 1]}, r"max_pool2d: unknown attribute 'dilation_rate'"),
])
def test_pool_attribute_errors(name, attrs, message):
    with pytest.raises(ValueError, match=message):
        _core.Op(name, **attrs)


# -- layers ------------------------------------------------------------------------------------------

LAYERS = [
    (layers.MaxPooling2D, {}, (2, 7, 6, 3), (2, 3, 3, 3)),
    (layers.MaxPooling2D, dict(pool_size=3, strides=2, padding="same"), (1, 5, 5, 2), (1, 3, 3, 2)),
    (layers.AveragePooling2D, dict(pool_size=(2, 3), padding="same"), (1, 5, 5, 2), (1, 3, 2, 2)),
    (layers.MaxPooling1D, {}, (2, 7, 3), (2, 3, 3)),
    (layers.AveragePooling1D, dict(pool_size=3, strides=1), (2, 7, 3), (2, 5, 3)),
    (layers.GlobalMaxPooling2D, {}, (2, 4, 5, 3), (2, 3)),
    (layers.GlobalAveragePooling2D, dict(keepdims=True), (2, 4, 5, 3), (2, 1, 1, 3)),
    (layers.GlobalMaxPooling1D, dict(keepdims=True), (2, 4, 3), (2, 1, 3)),
    (layers.GlobalAveragePooling1D, {}, (2, 4, 3), (2, 3)),
]


@pytest.mark.parametrize("cls,kwargs,shape,out", LAYERS)
def test_layer_shapes_and_config(cls, kwargs, shape, out):
    layer = cls(**kwargs)
    assert layer(np.zeros(shape, "float32")).shape == out
    assert layer.compute_output_shape((None,) + shape[1:]) == (None,) + out[1:]
    assert cls(**kwargs)(keras.Input(shape=shape[1:])).shape == (None,) + out[1:]
    assert cls(**layer.get_config()).get_config() == layer.get_config()
    assert not layer.weights


def test_strides_default_to_the_pool_size():
    assert layers.MaxPooling2D(3).get_config()["strides"] == (3, 3)
    assert layers.AveragePooling1D(2, strides=1).get_config()["strides"] == (1,)


def test_aliases():
    assert layers.MaxPool2D is layers.MaxPooling2D and layers.AvgPool1D is layers.AveragePooling1D
    assert layers.GlobalMaxPool2D is layers.GlobalMaxPooling2D
    assert layers.GlobalAvgPool1D is layers.GlobalAveragePooling1D


def test_symbolic_rank_errors():
    with pytest.raises(ValueError, match=r"MaxPooling2D: expected inputs of rank 4"):
        layers.MaxPooling2D()(keras.Input(shape=(8, 3)))
    with pytest.raises(ValueError, match=r"GlobalAveragePooling1D: expected inputs of rank 3"):
        layers.GlobalAveragePooling1D()(keras.Input(shape=(8, 8, 3)))


@pytest.mark.parametrize("make,error,message", [
    (lambda: layers.MaxPooling2D(data_format="channels_first"), NotImplementedError, "channels_first"),
    (lambda: layers.GlobalAveragePooling2D(data_format="channels_first"), NotImplementedError, "channels_first"),
    (lambda: layers.AveragePooling2D(2, padding="full"), ValueError, "padding"),
    (lambda: layers.MaxPooling2D((2, 0)), ValueError, "pool_size"),
    (lambda: layers.GlobalAveragePooling1D()(np.zeros((1, 3, 2), "float32"), mask=np.ones((1, 3))),
     NotImplementedError, "mask"),
])
def test_layer_argument_errors(make, error, message):
    with pytest.raises(error, match=message):
        make()
