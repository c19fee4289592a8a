"""LayerNormalization: the fused op against Keras 3's formula in NumPy float64 (forward) and finite
differences (backward, for x, gamma and beta), and the layer's arguments and axes."""
import numpy as np
import pytest

import fastfit as tf
from fastfit import _core, layers
from helpers import check_op, rand

pytestmark = pytest.mark.usefixtures("device")  # each test on each device (conftest.py)


def layer_norm_ref(x, gamma=None, beta=None, axes=(-1,), epsilon=1e-3):
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    y = (x - mean) / np.sqrt(var + epsilon)
    return y * (1 if gamma is None else gamma) + (0 if beta is None else beta)


@pytest.mark.parametrize("shape,begin", [((1, 1), -1), ((5, 7), -1), ((3, 4, 6), -1), ((3, 4, 6), 1),
                                         ((2, 3, 2, 5), -2), ((1, 9), 1), ((4, 3), 0)])
@pytest.mark.parametrize("scale,center", [(True, True), (True, False), (False, True), (False, False)])
def test_layer_norm_op(shape, begin, scale, center):
    rng = np.random.default_rng(len(shape) + begin)
    axes = tuple(range(begin % len(shape), len(shape)))
    params = [rand(rng, *shape[axes[0]:], low=0.5, high=1.5) for _ in range(scale + center)]

    def ref(x, *p):
        return layer_norm_ref(x, p[0] if scale else None, p[-1] if center else None, axes, epsilon=1e-2)
    check_op(lambda x, *p: _core.apply("layer_norm", [x, *p], begin_norm_axis=begin, scale=scale, center=center,
                                       epsilon=1e-2), ref, [rand(rng, *shape)] + params, grad_rtol=2e-3)


@pytest.mark.parametrize("attrs,shapes,match", [
    ({}, [(3, 4), (5,), (4,)], r"layer_norm: `gamma` must have shape \(4,\) \(the normalized axes of x \(3, 4\)\), "
                               r"got \(5,\)"),
    ({"scale": False}, [(3, 4), (3, 4)], r"layer_norm: `beta` must have shape \(4,\)"),
    ({"begin_norm_axis": 2, "scale": False, "center": False}, [(3, 4)], r"`begin_norm_axis` 2 is out of range"),
    ({"epsilon": 0.0}, [(3, 4), (4,), (4,)], r"layer_norm: `epsilon` must be positive"),
])
def test_layer_norm_op_errors(attrs, shapes, match):
    with pytest.raises(ValueError, match=match):
        _core.apply("layer_norm", [tf.constant(np.ones(s, np.float32)) for s in shapes], **attrs)


@pytest.mark.parametrize("axis,shape", [(-1, (4, 6)), ([1, 2], (3, 4, 5)), (1, (3, 4, 5)), ([1, 3], (2, 3, 4, 5)),
                                        (0, (3, 4))])
def test_layer_normalization(axis, shape):
    rng = np.random.default_rng(4)
    x = rand(rng, *shape)
    layer = layers.LayerNormalization(axis=axis, epsilon=1e-5)
    layer(x)
    axes = sorted(a % len(shape) for a in (axis if isinstance(axis, list) else [axis]))
    assert [w.name for w in layer.weights] == ["gamma", "beta"]
    assert layer.gamma.shape == tuple(shape[a] for a in axes)
    gamma, beta = rand(rng, *layer.gamma.shape), rand(rng, *layer.beta.shape)
    layer.set_weights([gamma, beta])
    view = [shape[a] if a in axes else 1 for a in range(len(shape))]  # gamma and beta broadcast along the others
    ref = layer_norm_ref(x.astype(np.float64), gamma.reshape(view), beta.reshape(view), tuple(axes), 1e-5)
    np.testing.assert_allclose(layer(x).numpy(), ref, rtol=1e-5, atol=1e-5)


def test_layer_normalization_arguments():
    layer = layers.LayerNormalization(scale=False)
    layer(np.ones((2, 3), np.float32))
    assert [w.name for w in layer.weights] == ["beta"]
    config = layers.LayerNormalization(axis=[1, 2], epsilon=1e-5, center=False).get_config()
    assert {k: config[k] for k in ("axis", "epsilon", "center", "scale")} == {"axis": [1, 2], "epsilon": 1e-5,
                                                                           "center": False, "scale": True}
    with pytest.raises(NotImplementedError, match="`rms_scaling`"):
        layers.LayerNormalization(rms_scaling=True)
    with pytest.raises(TypeError, match="Expected an int or a list/tuple of ints for the argument 'axis'"):
        layers.LayerNormalization(axis="last")
    with pytest.raises(ValueError, match=r"Axis 2 is out of bounds for input shape \(None, 3\)"):
        layers.LayerNormalization(axis=2)(tf.Input(shape=(3,)))
