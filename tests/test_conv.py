"""Convolution ops and layers: forward against NumPy float64, backward against central finite
differences, shape rules and errors, Keras' arguments, shapes and configs."""
import numpy as np
import pytest

import conv_reference as ref
import fastfit as keras
from fastfit import _core, layers
from helpers import check_op, conv, inputs_off_kinks, rand


# (input shape, kernel shape, strides, padding, dilation): odd sizes, batch 1, channels 1, strides that
# skip inputs, kernel = input size, pointwise (no im2col), dilation, 'same' with odd and even padding.
CONV2D = [
    ((2, 5, 5, 3), (3, 3, 3, 4), (1, 1), "valid", (1, 1)),
    ((1, 6, 7, 2), (3, 2, 2, 3), (2, 2), "same", (1, 1)),
    ((2, 7, 6, 1), (3, 3, 1, 2), (1, 1), "same", (2, 2)),
    ((1, 4, 4, 2), (4, 4, 2, 3), (1, 1), "valid", (1, 1)),
    ((3, 5, 4, 1), (1, 1, 1, 1), (1, 1), "valid", (1, 1)),
    ((2, 3, 3, 3), (1, 1, 3, 5), (1, 1), "same", (1, 1)),
    ((1, 7, 8, 2), (3, 3, 2, 2), (3, 2), "valid", (1, 1)),
    ((2, 5, 6, 3), (2, 3, 3, 2), (2, 1), "same", (1, 1)),
    ((1, 9, 7, 2), (3, 2, 2, 2), (2, 2), "same", (2, 1)),
    ((1, 6, 5, 2), (1, 1, 2, 3), (2, 2), "valid", (1, 1)),
    ((2, 6, 5, 1), (3, 3, 1, 12), (1, 1), "same", (1, 1)),  # patches kept from the forward (9 <= 12)
    # up to 8 filters run the direct kernels, vectorised over 16 output pixels: rows of 1, 2 and 3
    # vectors, partly filled; 9 filters run im2col + GEMM
    ((1, 3, 37, 2), (2, 3, 2, 8), (1, 2), "same", (1, 1)),
    ((2, 2, 40, 1), (1, 3, 1, 5), (1, 1), "valid", (1, 2)),
    ((1, 3, 35, 2), (3, 3, 2, 7), (2, 1), "same", (1, 1)),
    ((1, 4, 36, 1), (2, 2, 1, 3), (1, 1), "valid", (1, 1)),  # blocks of two rows, three vectors along
    ((1, 5, 6, 2), (3, 3, 2, 9), (1, 1), "same", (1, 1)),
    # 16, 32, 48, 64 filters over few channels run the direct kernels vectorised over filters: rows
    # in tiles of 14, 8, 4 and 1 pixels (the last one shifted back to end at the row's end), groups
    # of 32 and 16 filters, kernel gradients in several passes over the entries (27 > 10 for groups
    # of 32, 25 > 20 for groups of 16)
    ((2, 4, 17, 1), (3, 3, 1, 32), (1, 1), "valid", (1, 1)),  # 15 pixels a row: 14 + 1
    ((1, 4, 26, 3), (1, 3, 3, 32), (1, 1), "valid", (1, 1)),  # 24: 14 + 14 shifted
    ((1, 5, 19, 1), (3, 3, 1, 16), (1, 1), "valid", (1, 1)),  # 17: 14 + 4 shifted
    ((1, 3, 15, 2), (3, 3, 2, 16), (1, 1), "valid", (1, 1)),  # 13: 8 + 8 shifted
    ((1, 5, 9, 3), (3, 3, 3, 48), (2, 2), "same", (1, 1)),  # 5: 4 + 1
    ((2, 7, 6, 1), (3, 3, 1, 16), (1, 1), "same", (2, 2)),
    ((1, 3, 4, 2), (2, 2, 2, 64), (1, 1), "valid", (1, 1)),  # 3: 1 + 1 + 1
    ((1, 3, 30, 1), (5, 5, 1, 16), (1, 2), "same", (1, 1)),
]


@pytest.mark.parametrize("xs,ws,strides,padding,dilation", CONV2D)
@pytest.mark.parametrize("act,bias", [("linear", True), ("relu", True), ("tanh", False)])
@pytest.mark.usefixtures("device")  # on each device (conftest.py)
def test_conv2d(xs, ws, strides, padding, dilation, act, bias):
    x, w, b = inputs_off_kinks([xs, ws, (ws[-1],)], sum(xs) + sum(ws),
                               lambda *a: ref.conv2d(*a, strides=strides, padding=padding, dilation=dilation), act)
    inputs = [x, w, b] if bias else [x, w]
    attrs = dict(strides=list(strides), padding=padding, dilation_rate=list(dilation), activation=act)
    check_op(lambda *t: conv("conv2d", *t, **attrs),
             lambda *a: ref.conv2d(*a, strides=strides, padding=padding, dilation=dilation, activation=act), inputs)


@pytest.mark.parametrize("xs,ws,stride,padding,dilation", [
    ((2, 7, 3), (3, 3, 4), 1, "valid", 1), ((1, 8, 2), (3, 2, 3), 2, "same", 1),
    ((2, 6, 1), (2, 1, 2), 1, "causal", 2), ((1, 5, 2), (5, 2, 1), 1, "valid", 1),
    ((3, 4, 2), (1, 2, 2), 1, "valid", 1), ((1, 9, 2), (3, 2, 2), 3, "causal", 1),
    ((2, 40, 3), (3, 3, 6), 1, "causal", 3), ((1, 37, 2), (4, 2, 8), 2, "same", 1)])
@pytest.mark.usefixtures("device")  # on each device (conftest.py)
def test_conv1d(xs, ws, stride, padding, dilation):
    rng = np.random.default_rng(sum(xs))
    x, w, b = rand(rng, *xs), rand(rng, *ws), rand(rng, ws[-1])
    check_op(lambda *t: conv("conv1d", *t, strides=[stride], padding=padding, dilation_rate=[dilation]),
             lambda *a: ref.conv1d(*a, strides=(stride,), padding=padding, dilation=(dilation,)), [x, w, b])


@pytest.mark.parametrize("xs,ws,strides,padding,dilation,output_padding", [
    ((2, 3, 3, 2), (3, 3, 4, 2), (1, 1), "valid", (1, 1), None),
    ((1, 3, 4, 2), (3, 3, 3, 2), (2, 2), "same", (1, 1), None),
    ((1, 2, 3, 1), (2, 3, 2, 1), (2, 1), "valid", (1, 1), None),
    ((2, 2, 2, 3), (1, 1, 2, 3), (3, 3), "valid", (1, 1), None),  # stride > kernel: rows no tap reaches
    ((1, 3, 3, 2), (3, 3, 2, 2), (1, 1), "same", (2, 2), None),
    ((1, 3, 2, 2), (3, 2, 2, 2), (2, 2), "same", (1, 1), (1, 0)),
    ((1, 2, 2, 2), (3, 3, 2, 2), (2, 3), "valid", (1, 1), (1, 2)),
])
@pytest.mark.usefixtures("device")  # on each device (conftest.py)
def test_conv2d_transpose(xs, ws, strides, padding, dilation, output_padding):
    rng = np.random.default_rng(sum(xs) + sum(ws))
    x, w, b = rand(rng, *xs), rand(rng, *ws), rand(rng, ws[2])
    check_op(lambda *t: conv("conv2d_transpose", *t, strides=list(strides), padding=padding,
                             dilation_rate=list(dilation), output_padding=list(output_padding or ())),
             lambda *a: ref.conv2d_transpose(*a, strides=strides, padding=padding, dilation=dilation,
                                             output_padding=output_padding), [x, w, b])


@pytest.mark.parametrize("xs,ws,strides,padding,dilation", [
    ((2, 5, 5, 3), (3, 3, 3, 1), (1, 1), "valid", (1, 1)), ((1, 6, 5, 2), (3, 3, 2, 3), (2, 2), "same", (1, 1)),
    ((1, 7, 7, 1), (3, 2, 1, 2), (1, 1), "same", (2, 2)), ((2, 3, 3, 2), (3, 3, 2, 2), (1, 1), "valid", (1, 1))])
@pytest.mark.parametrize("act", ["linear", "sigmoid"])
@pytest.mark.usefixtures("device")  # on each device (conftest.py)
def test_depthwise_conv2d(xs, ws, strides, padding, dilation, act):
    rng = np.random.default_rng(sum(xs) + sum(ws))
    x, w, b = rand(rng, *xs), rand(rng, *ws), rand(rng, ws[2] * ws[3])
    attrs = dict(strides=list(strides), padding=padding, dilation_rate=list(dilation), activation=act)
    check_op(lambda *t: conv("depthwise_conv2d", *t, **attrs),
             lambda *a: ref.depthwise_conv2d(*a, strides=strides, padding=padding, dilation=dilation, activation=act),
             [x, w, b])


@pytest.mark.usefixtures("device")  # on each device (conftest.py)
def test_conv_gradients_accumulate_when_an_input_is_used_twice():
    rng = np.random.default_rng(4)
    x, w = rand(rng, 2, 5, 5, 2), rand(rng, 3, 3, 2, 2)
    check_op(lambda x, w: conv("conv2d", x, w, padding="same") + conv("conv2d", x, w, strides=[1, 1], padding="same"),
             lambda x, w: 2 * ref.conv2d(x, w, padding="same"), [x, w])


@pytest.mark.parametrize("name,x,w,message", [
    ("conv2d", (1, 3, 3, 2), (5, 5, 2, 4),
     r"Conv2D: kernel 5x5 is larger than the input's 3x3 spatial size with padding='valid'"),
    ("conv1d", (1, 4, 2), (3, 2, 1), r"Conv1D: kernel 3 \(dilated to 5\) is larger than the input's 4 spatial size"),
    ("conv2d", (1, 5, 5, 3), (3, 3, 2, 4), r"Conv2D: the kernel \(3, 3, 2, 4\) expects 2 input channels, got inputs "
                                           r"of shape \(1, 5, 5, 3\)"),
    ("conv2d", (5, 5, 3), (3, 3, 3, 4), r"Conv2D: expected inputs of rank 4 \(batch, height, width, channels\)"),
    ("conv2d", (1, 5, 5, 3), (3, 3, 3), r"Conv2D: kernel must have shape \(kh, kw, in, out\), got \(3, 3, 3\)"),
    ("conv2d_transpose", (1, 5, 5, 3), (3, 3, 3, 4), r"Conv2DTranspose: the kernel \(3, 3, 3, 4\) expects 4 input"),
    ("depthwise_conv2d", (1, 2, 5, 3), (3, 3, 3, 1), r"DepthwiseConv2D: kernel 3x3 is larger than the input's 2x5"),
])
def test_conv_shape_errors(name, x, w, message):
    dilation = [2] if name == "conv1d" else [1, 1]
    with pytest.raises(ValueError, match=message):
        conv(name, keras.constant(np.zeros(x, "float32")), keras.constant(np.zeros(w, "float32")),
             dilation_rate=dilation)


@pytest.mark.parametrize("name,attrs,message", [
    ("conv2d", {"padding": "causal"}, r"Conv2D: `padding` must be 'valid' or 'same', got 'causal'"),
    ("conv1d", {"padding": "full"}, r"Conv1D: `padding` must be 'valid', 'same' or 'causal', got 'full'"),
    ("conv2d", {"strides": [0, 1]}, r"Conv2D: `strides` must be 2 positive integer\(s\), got \[0, 1\]"),
    ("conv2d", {"dilation_rate": [1]}, r"`dilation_rate` must be 2 positive integer\(s\), got \[1\]"),
    ("conv2d", {"activation": "softmax"}, r"Conv2D: unknown activation 'softmax'"),
    ("conv2d_transpose", {"strides": [2, 2], "output_padding": [2, 0]}, r"`output_padding` must be in \[0, strides\)"),
])
def test_conv_attribute_errors(name, attrs, message):
    with pytest.raises(ValueError, match=message):
        _core.Op(name, **attrs)


# -- layers ------------------------------------------------------------------------------------------

LAYERS = [
    (layers.Conv2D, dict(filters=4, kernel_size=3), (2, 8, 7, 3), [(3, 3, 3, 4), (4,)]),
    (layers.Conv2D, dict(filters=2, kernel_size=(2, 3), strides=2, padding="same", use_bias=False), (1, 5, 6, 1),
     [(2, 3, 1, 2)]),
    (layers.Conv1D, dict(filters=3, kernel_size=2, padding="causal", dilation_rate=2), (2, 9, 4), [(2, 4, 3), (3,)]),
    (layers.Conv2DTranspose, dict(filters=3, kernel_size=3, strides=2, padding="same"), (1, 4, 5, 2),
     [(3, 3, 3, 2), (3,)]),
    (layers.Conv2DTranspose, dict(filters=2, kernel_size=2, strides=3, output_padding=1), (2, 3, 3, 1),
     [(2, 2, 2, 1), (2,)]),
    (layers.DepthwiseConv2D, dict(kernel_size=3, depth_multiplier=2, padding="same"), (1, 6, 6, 3),
     [(3, 3, 3, 2), (6,)]),
    (layers.SeparableConv2D, dict(filters=5, kernel_size=3, depth_multiplier=2, strides=2), (2, 7, 7, 3),
     [(3, 3, 3, 2), (1, 1, 6, 5), (5,)]),
]


@pytest.mark.parametrize("cls,kwargs,shape,weights", LAYERS)
def test_layer_shapes_weights_and_config(cls, kwargs, shape, weights):
    keras.utils.set_random_seed(1)
    layer = cls(**kwargs, activation="relu")
    y = layer(np.random.default_rng(0).normal(size=shape).astype("float32"))
    assert layer.compute_output_shape((None,) + shape[1:]) == (None,) + y.shape[1:]
    assert [tuple(w.shape) for w in layer.get_weights()] == weights
    assert (y.numpy() >= 0).all()
    inputs = keras.Input(shape=shape[1:])
    assert cls(**kwargs)(inputs).shape == (None,) + y.shape[1:]
    copy = cls(**layer.get_config())  # the config rebuilds the layer
    ones = np.ones(shape, "float32")
    copy(ones)
    copy.set_weights(layer.get_weights())
    np.testing.assert_array_equal(copy(ones).numpy(), layer(ones).numpy())


def test_glorot_uniform_kernel_uses_the_receptive_field():
    keras.utils.set_random_seed(0)
    layer = layers.Conv2D(64, 3)
    layer.build((None, 28, 28, 32))
    limit = np.sqrt(6 / (3 * 3 * 32 + 3 * 3 * 64))
    k = layer.kernel.numpy()
    assert k.min() >= -limit and k.max() <= limit and k.max() > 0.9 * limit
    assert not layer.bias.numpy().any()


def test_other_activations_run_after_the_op():
    x = np.random.default_rng(0).normal(size=(2, 5, 5, 3)).astype("float32")
    layer = layers.Conv2D(4, 3, activation="softmax")
    np.testing.assert_allclose(layer(x).numpy().sum(-1), 1, rtol=1e-6)


def test_aliases():
    assert layers.Convolution2D is layers.Conv2D and layers.Convolution1D is layers.Conv1D
    assert layers.Convolution2DTranspose is layers.Conv2DTranspose
    assert layers.SeparableConvolution2D is layers.SeparableConv2D


@pytest.mark.parametrize("make,error,message", [
    (lambda: layers.Conv2D(4, 3, data_format="channels_first"), NotImplementedError, "channels_first"),
    (lambda: layers.Conv2D(4, 3, kernel_regularizer="l3"), ValueError, "Could not interpret regularizer identifier"),
    (lambda: layers.Conv2D(4, 3, bias_constraint=3), ValueError, "Could not interpret constraint identifier"),
    (lambda: layers.Conv2D(4, 3, groups=2), NotImplementedError, "groups"),
    (lambda: layers.Conv2D(0, 3), ValueError, "filters"),
    (lambda: layers.Conv2D(4, (3, 0)), ValueError, "kernel_size"),
    (lambda: layers.Conv2D(4, 3, strides=2, dilation_rate=2), ValueError, "dilation_rate > 1"),
    (lambda: layers.Conv2D(4, 3, padding="causal"), ValueError, "padding"),
    (lambda: layers.Conv2D(4, 3, data_format="nhwc"), ValueError, "data_format"),
    (lambda: layers.Conv2DTranspose(4, 3, strides=2, output_padding=2), ValueError, "output_padding"),
    (lambda: layers.DepthwiseConv2D(3, depth_multiplier=0), ValueError, "depth_multiplier"),
])
def test_layer_argument_errors(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_layer_size_error_in_a_functional_model():
    with pytest.raises(ValueError, match=r"Conv2D: kernel 5x5 is larger than the input's 3x3 spatial size"):
        layers.Conv2D(4, 5)(keras.Input(shape=(3, 3, 1)))


# -- training: rows split across two threads ----------------------------------------------------------

def cnn_2d():
    return keras.Sequential([
        keras.Input(shape=(12, 12, 1)), layers.Conv2D(4, 3, activation="relu"), layers.MaxPooling2D(),
        layers.SeparableConv2D(6, 3, padding="same", activation="relu"), layers.Conv2DTranspose(4, 2, strides=2),
        layers.AveragePooling2D(2, padding="same"), layers.DepthwiseConv2D(3, depth_multiplier=2, activation="tanh"),
        layers.GlobalMaxPooling2D(), layers.Dense(10, activation="softmax")])


def cnn_1d():
    return keras.Sequential([
        keras.Input(shape=(16, 9)), layers.Conv1D(4, 3, padding="causal", activation="relu"), layers.MaxPooling1D(),
        layers.Conv1D(5, 2, dilation_rate=2), layers.AveragePooling1D(2), layers.GlobalAveragePooling1D(),
        layers.Dense(10, activation="softmax")])


@pytest.fixture
def restore_threads():
    before = _core.get_num_threads()
    yield
    _core.set_num_threads(before)


@pytest.mark.parametrize("make,shape", [(cnn_2d, (12, 12, 1)), (cnn_1d, (16, 9))])
def test_two_threads_train_a_cnn_bit_for_bit_as_one(make, shape, restore_threads):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(150,) + shape).astype("float32")
    y = np.abs(x.reshape(150, -1)[:, :10]).argmax(1)
    runs = []
    for threads in (1, 2):
        _core.set_num_threads(threads)
        keras.utils.set_random_seed(3)
        model = make()
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        history = model.fit(x, y, batch_size=32, epochs=2, validation_split=0.2, verbose=0).history
        assert next(r for k, r in model._programs.items() if k[0] == "train").program.splits("train")
        runs.append((history, model.get_weights(), model.predict(x, verbose=0)))
    (h1, w1, p1), (h2, w2, p2) = runs
    assert h1 == h2
    for a, b in zip(w1 + [p1], w2 + [p2]):
        np.testing.assert_array_equal(a, b)
