"""Reshaping: the C++ copy ops (forward against NumPy, backward against finite differences), the tf
names built on them, and Keras' reshaping layers with their arguments and errors."""
import numpy as np
import pytest

import fastfit as tf
from fastfit import _core, layers
from helpers import check_op, rand

pytestmark = pytest.mark.usefixtures("device")  # each test on each device (conftest.py)


def op(name, **attrs):
    return lambda *t: _core.apply(name, list(t), **attrs)


def repeat(x, sizes):
    for axis, n in enumerate(sizes):
        x = np.repeat(x, n, axis=axis)
    return x


@pytest.mark.parametrize("shape,target,keep_batch", [
    ((1, 6), [-1], True), ((3, 2, 5), [5, -1], True), ((5, 1, 7), [7], True), ((2, 3), [3, 1, 1], True),
    ((4, 6), [2, -1, 3], False), ((2, 3, 1), [-1], False), ((7,), [1, 7], False), ((1, 1), [], False)])
def test_reshape(shape, target, keep_batch):
    rng = np.random.default_rng(len(shape))
    check_op(op("reshape", shape=target, keep_batch=keep_batch),
             lambda x: x.reshape((x.shape[0], *target) if keep_batch else target), [rand(rng, *shape)])


@pytest.mark.parametrize("shape,perm", [((1, 3, 2), [0, 2, 1]), ((2, 3, 5, 7), [0, 3, 1, 2]), ((4, 5), [1, 0]),
                                        ((3, 1, 2, 5), [2, 0, 3, 1]), ((6,), [0])])
def test_transpose(shape, perm):
    rng = np.random.default_rng(1)
    check_op(op("transpose", perm=perm), lambda x: x.transpose(perm), [rand(rng, *shape)])


@pytest.mark.parametrize("shape,factors", [((1, 3), [1, 4]), ((2, 3, 5), [1, 2, 3]), ((3, 1, 2), [2, 3, 1]),
                                           ((2, 2, 3, 1), [1, 3, 2, 5])])
def test_tile_and_upsample(shape, factors):
    rng = np.random.default_rng(2)
    check_op(op("tile", multiples=factors), lambda x: np.tile(x, factors), [rand(rng, *shape)])
    check_op(op("upsample", size=factors), lambda x: repeat(x, factors), [rand(rng, *shape)])


@pytest.mark.parametrize("shape,begin,size", [((1, 5), [0, 1], [-1, 3]), ((4, 7, 3), [1, 2, 0], [2, -1, 3]),
                                              ((3, 5, 6, 2), [0, 1, 2, 1], [-1, 3, 3, 1]), ((2, 3), [0, 3], [-1, 0])])
def test_slice(shape, begin, size):
    rng = np.random.default_rng(3)
    index = tuple(slice(b, None if s == -1 else b + s) for b, s in zip(begin, size))
    check_op(op("slice", begin=begin, size=size), lambda x: x[index], [rand(rng, *shape)])


@pytest.mark.parametrize("shape,paddings", [((1, 3), [0, 0, 2, 1]), ((3, 4, 2), [0, 0, 1, 2, 3, 0]),
                                            ((2, 3, 5, 1), [0, 0, 1, 1, 0, 2, 1, 0]), ((2,), [1, 3])])
def test_pad(shape, paddings):
    rng = np.random.default_rng(4)
    pairs = list(zip(paddings[::2], paddings[1::2]))
    check_op(op("pad", paddings=paddings), lambda x: np.pad(x, pairs), [rand(rng, *shape)])


@pytest.mark.parametrize("name,attrs,shape,match", [
    ("reshape", {"shape": [5, -1]}, (3, 4), r"reshape: `shape` \[5, -1\] does not fit the 12 elements of `tensor`"),
    ("reshape", {"shape": [-1, 5], "keep_batch": True}, (3, 4),
     r"does not fit the 4 elements of each row of `tensor` float32 \(3, 4\)"),
    ("reshape", {"shape": [-1, -1]}, (3, 4), r"reshape: `shape` may hold -1 only once, got \[-1, -1\]"),
    ("reshape", {"shape": [-2, 6]}, (3, 4), r"each entry of `shape` must be >= 0, or -1 once"),
    ("transpose", {"perm": [0, 0]}, (3, 4), r"transpose: `perm` must order the axes 0..1, got \[0, 0\]"),
    ("transpose", {"perm": [1, 0]}, (2, 3, 4), r"must order the 3 axes of `a` float32 \(2, 3, 4\), got \[1, 0\]"),
    ("tile", {"multiples": [1, 0]}, (3, 4), r"tile: each entry of `multiples` must be >= 1, got \[1, 0\]"),
    ("upsample", {"size": [2]}, (3, 4), r"upsample: `size` needs one entry per axis of `input` float32 \(3, 4\)"),
    ("slice", {"begin": [0, 2], "size": [-1, 3]}, (3, 4), r"slice: `begin` \[0, 2\] and `size` \[-1, 3\] must give a "
                                                           r"window inside `input_` float32 \(3, 4\)"),
    ("slice", {"begin": [0], "size": [1, 1]}, (3, 4), r"must have one entry per axis each"),
    ("pad", {"paddings": [0, 0, -1, 1]}, (3, 4), r"pad: `paddings` must be >= 0"),
    ("pad", {"paddings": [1, 1]}, (3, 4), r"`paddings` needs a \(before, after\) pair per axis of `tensor` float32"),
])
def test_shape_op_errors(name, attrs, shape, match):
    with pytest.raises(ValueError, match=match):
        _core.apply(name, [tf.constant(np.zeros(shape, np.float32))], **attrs)


def test_tf_names():
    rng = np.random.default_rng(5)
    x = rand(rng, 4, 3, 2)
    np.testing.assert_array_equal(tf.reshape(x, (4, -1)).numpy(), x.reshape(4, -1))
    np.testing.assert_array_equal(tf.reshape(x, [2, 12]).numpy(), x.reshape(2, 12))
    np.testing.assert_array_equal(tf.transpose(x).numpy(), x.T)
    np.testing.assert_array_equal(tf.transpose(x, [0, 2, 1]).numpy(), x.transpose(0, 2, 1))
    np.testing.assert_array_equal(tf.tile(x, [1, 2, 3]).numpy(), np.tile(x, (1, 2, 3)))
    np.testing.assert_array_equal(tf.expand_dims(x, 1).numpy(), x[:, None])
    np.testing.assert_array_equal(tf.expand_dims(x, -1).numpy(), x[..., None])
    np.testing.assert_array_equal(tf.squeeze(x[:, :1, :, None]).numpy(), x[:, 0])
    np.testing.assert_array_equal(tf.squeeze(x[:1, :1], axis=1).numpy(), x[:1, 0])
    assert tf.math.reduce_sum is tf.reduce_sum and tf.math.maximum is tf.maximum
    with pytest.raises(ValueError, match="squeeze: axis 1 of a tensor of shape .* is not an axis of size 1"):
        tf.squeeze(x, axis=1)
    with pytest.raises(ValueError, match="expand_dims: `axis` 4 is out of range"):
        tf.expand_dims(x, 4)


# -- layers ------------------------------------------------------------------------------------
def channels_first(x):
    return np.moveaxis(x, -1, 1)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_flatten(data_format):
    x = rand(np.random.default_rng(6), 2, 3, 4, 5)
    out = layers.Flatten(data_format=data_format)(x).numpy()
    ref = x.reshape(2, -1) if data_format == "channels_last" else np.moveaxis(x, 1, -1).reshape(2, -1)
    np.testing.assert_array_equal(out, ref)
    np.testing.assert_array_equal(layers.Flatten()(x[:, 0, 0, 0]).numpy(), x[:, :1, 0, 0])  # (batch,) -> (batch, 1)
    assert layers.Flatten().compute_output_shape((None, 3, None)) == (None, None)


def test_reshape_permute_repeat_vector():
    x = rand(np.random.default_rng(7), 3, 4, 6)
    np.testing.assert_array_equal(layers.Reshape((-1, 3))(x).numpy(), x.reshape(3, 8, 3))
    np.testing.assert_array_equal(layers.Permute((2, 1))(x).numpy(), x.transpose(0, 2, 1))
    np.testing.assert_array_equal(layers.RepeatVector(5)(x[:, 0]).numpy(), np.repeat(x[:, None, 0], 5, axis=1))
    assert layers.Reshape((2, -1)).compute_output_shape((None, 4, 6)) == (None, 2, 12)
    assert layers.Permute((2, 1)).compute_output_shape((None, 4, 6)) == (None, 6, 4)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_zero_padding_up_sampling_cropping(data_format):
    x = rand(np.random.default_rng(8), 2, 5, 7, 3)  # channels last
    cf = data_format == "channels_first"
    run = lambda layer: layer(channels_first(x) if cf else x).numpy()  # noqa: E731
    back = lambda y: np.moveaxis(y, 1, -1) if cf else y  # noqa: E731
    pad = back(run(layers.ZeroPadding2D(((1, 2), (0, 3)), data_format=data_format)))
    np.testing.assert_array_equal(pad, np.pad(x, ((0, 0), (1, 2), (0, 3), (0, 0))))
    up = back(run(layers.UpSampling2D((2, 3), data_format=data_format)))
    np.testing.assert_array_equal(up, x.repeat(2, axis=1).repeat(3, axis=2))
    crop = back(run(layers.Cropping2D(((1, 0), (2, 1)), data_format=data_format)))
    np.testing.assert_array_equal(crop, x[:, 1:, 2:-1])
    assert layers.ZeroPadding2D(2).padding == ((2, 2), (2, 2))
    assert layers.Cropping2D((1, 2)).cropping == ((1, 1), (2, 2))
    assert layers.UpSampling2D(3).size == (3, 3)


def test_reshaping_layers_in_a_functional_model_give_their_shapes():
    inputs = tf.Input(shape=(6, 4, 3))
    shapes = {
        "flatten": layers.Flatten()(inputs).shape,
        "reshape": layers.Reshape((3, -1))(inputs).shape,
        "permute": layers.Permute((3, 1, 2))(inputs).shape,
        "pad": layers.ZeroPadding2D((1, 2))(inputs).shape,
        "up": layers.UpSampling2D((2, 1))(inputs).shape,
        "crop": layers.Cropping2D(((1, 1), (0, 2)))(inputs).shape,
        "repeat": layers.RepeatVector(2)(layers.Flatten()(inputs)).shape,
    }
    assert shapes == {"flatten": (None, 72), "reshape": (None, 3, 24), "permute": (None, 3, 6, 4),
                      "pad": (None, 8, 8, 3), "up": (None, 12, 4, 3), "crop": (None, 4, 2, 3), "repeat": (None, 2, 72)}


@pytest.mark.parametrize("make,error,match", [
    (lambda: layers.Reshape((-1, -1)), ValueError, r"at most one unknown dimension \(-1\) in `target_shape`"),
    (lambda: layers.Reshape((-2, 3)), ValueError, r"must be a non-negative integer, or `-1`"),
    (lambda: layers.Permute((1, 3)), ValueError, r"Invalid permutation argument `dims` for Permute Layer"),
    (lambda: layers.RepeatVector(2.0), TypeError, r"Expected an integer value for `n`"),
    (lambda: layers.RepeatVector(0), ValueError, r"Argument `n` should be a positive integer. Received: n=0"),
    (lambda: layers.ZeroPadding2D((1, 2, 3)), ValueError, r"`padding` should have two elements"),
    (lambda: layers.ZeroPadding2D(((1, -1), 2)), ValueError, r"The `1st entry of padding` argument must be a tuple "
                                                             r"of 2 integers.*do not satisfy `value >= 0`"),
    (lambda: layers.Cropping2D(-1), ValueError, r"`cropping` cannot be negative"),
    (lambda: layers.UpSampling2D((2, 0)), ValueError, r"The `size` argument must be a tuple of 2 integers"),
    (lambda: layers.UpSampling2D(interpolation="bilinear"), NotImplementedError, r"interpolation='bilinear'"),
    (lambda: layers.Flatten(data_format="channels_middle"), ValueError, r"The `data_format` argument must be one of"),
])
def test_reshaping_argument_errors(make, error, match):
    with pytest.raises(error, match=match):
        make()


@pytest.mark.parametrize("layer,shape,match", [
    (layers.Reshape((5, -1)), (None, 4, 3), r"The total size of the tensor must be unchanged. Received: "
                                            r"input_shape=\(4, 3\), target_shape=\(5, -1\)"),
    (layers.Permute((2, 1)), (None, 4, 3, 2), r"expected ndim=3, found ndim=4"),
    (layers.RepeatVector(3), (None, 4, 3), r"expected ndim=2, found ndim=3"),
    (layers.ZeroPadding2D(), (None, 4, 3), r"expected ndim=4, found ndim=3"),
    (layers.Cropping2D(((2, 2), (0, 0))), (None, 4, 3, 1), r"Values in `cropping` argument should be smaller"),
])
def test_reshaping_shape_errors(layer, shape, match):
    with pytest.raises(ValueError, match=match):
        layer(tf.Input(shape=shape[1:]))


def test_reshaping_configs():
    assert layers.Reshape((2, -1), name="r").get_config() == {
        "name": "r", "trainable": True, "target_shape": (2, -1),
        "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": None}}
    assert layers.Permute([2, 1]).get_config()["dims"] == (2, 1)
    assert layers.RepeatVector(3).get_config()["n"] == 3
    assert layers.Flatten().get_config()["data_format"] == "channels_last"
    assert layers.ZeroPadding2D(1).get_config()["padding"] == ((1, 1), (1, 1))
    config = layers.UpSampling2D((2, 3), data_format="channels_first").get_config()
    assert (config["size"], config["data_format"], config["interpolation"]) == ((2, 3), "channels_first", "nearest")
    assert layers.Cropping2D(((1, 2), (3, 4))).get_config()["cropping"] == ((1, 2), (3, 4))
