"""TensorFlow's namespaces: `tf.math` and `tf.nn` (the ops of `fastfit.ops` under TensorFlow's names and
semantics), and the few top-level functions whose TensorFlow meaning differs from keras.ops'
(`tf.argmax` takes axis 0 by default; `keras.ops.argmax` flattens)."""
import types

from . import _core, ops
from .keras_tensor import symbolic
from .tensor import as_float as _float


@symbolic
def argmax(input, axis=None, output_type=None, name=None):  # noqa: A002 - TensorFlow's names
    """Index of the largest value along `axis` (TensorFlow's default: axis 0), as int32."""
    return _core.apply("argmax", [_float(input)], axis=0 if axis is None else int(axis))


@symbolic
def argmin(input, axis=None, output_type=None, name=None):  # noqa: A002
    """Index of the smallest value along `axis` (default 0), as int32."""
    return _core.apply("argmin", [_float(input)], axis=0 if axis is None else int(axis))


# -- tf.math -------------------------------------------------------------------------------------
@symbolic
def reduce_any(input_tensor, axis=None, keepdims=False):
    return ops.any(input_tensor, axis=axis, keepdims=keepdims)


@symbolic
def reduce_all(input_tensor, axis=None, keepdims=False):
    return ops.all(input_tensor, axis=axis, keepdims=keepdims)


@symbolic
def reduce_logsumexp(input_tensor, axis=None, keepdims=False):
    return ops.logsumexp(input_tensor, axis=axis, keepdims=keepdims)


@symbolic
def count_nonzero(input, axis=None, keepdims=False, dtype="int32"):  # noqa: A002
    return ops.cast(ops.reduce_sum(ops.not_equal(input, 0.0), axis=axis, keepdims=keepdims), dtype)


@symbolic
def reciprocal(x):
    return ops.divide(1.0, x)


@symbolic
def squared_difference(x, y):
    return ops.square(ops.subtract(x, y))


@symbolic
def l2_normalize(x, axis=None, epsilon=1e-12):
    """x / sqrt(max(sum(x^2), epsilon)) along `axis`."""
    x = _float(x)
    return x * (1.0 / ops.sqrt(ops.maximum(ops.reduce_sum(ops.square(x), axis=axis, keepdims=True), epsilon)))


_MATH = dict(argmax=argmax, argmin=argmin, reduce_any=reduce_any, reduce_all=reduce_all,
             reduce_logsumexp=reduce_logsumexp, count_nonzero=count_nonzero, reciprocal=reciprocal,
             squared_difference=squared_difference, l2_normalize=l2_normalize, is_nan=ops.isnan,
             is_finite=ops.isfinite, is_inf=ops.isinf)


# -- tf.nn ---------------------------------------------------------------------------------------
@symbolic
def sigmoid_cross_entropy_with_logits(labels=None, logits=None):
    """Per element: max(x, 0) - x z + log(1 + exp(-|x|))."""
    return _core.apply("binary_crossentropy", [_float(labels), _float(logits)], from_logits=True)


@symbolic
def softmax_cross_entropy_with_logits(labels, logits, axis=-1):
    """Per row: -sum(labels * log_softmax(logits))."""
    return ops.categorical_crossentropy(labels, logits, from_logits=True, axis=axis)


@symbolic
def sparse_softmax_cross_entropy_with_logits(labels=None, logits=None):
    return ops.sparse_categorical_crossentropy(labels, logits, from_logits=True)


@symbolic
def l2_loss(t):
    """sum(t ** 2) / 2."""
    return ops.reduce_sum(ops.square(t)) * 0.5


def moments(x, axes, keepdims=False):
    """(mean, variance) over `axes`."""
    return (ops.reduce_mean(x, axis=axes, keepdims=keepdims), ops.reduce_variance(x, axis=axes, keepdims=keepdims))


@symbolic
def gelu(features, approximate=False):
    """TensorFlow's default is the exact (erf) form; keras.ops.gelu's is the tanh approximation."""
    return ops.gelu(features, approximate=approximate)


@symbolic
def leaky_relu(features, alpha=0.2):
    return ops.leaky_relu(features, negative_slope=alpha)


_NN = dict(relu=ops.relu, relu6=ops.relu6, sigmoid=ops.sigmoid, tanh=ops.tanh, softmax=ops.softmax,
           log_softmax=ops.log_softmax, softplus=ops.softplus, softsign=ops.softsign, elu=ops.elu, selu=ops.selu,
           silu=ops.silu, swish=ops.silu, gelu=gelu, leaky_relu=leaky_relu,
           sigmoid_cross_entropy_with_logits=sigmoid_cross_entropy_with_logits,
           softmax_cross_entropy_with_logits=softmax_cross_entropy_with_logits,
           sparse_softmax_cross_entropy_with_logits=sparse_softmax_cross_entropy_with_logits, l2_loss=l2_loss,
           moments=moments, l2_normalize=l2_normalize)



def _namespace(name, **extra):
    """A module of every public op of fastfit.ops, with TensorFlow's versions in `extra` over them."""
    module = types.ModuleType(name)
    module.__dict__.update({k: getattr(ops, k) for k in ops.__all__})
    module.__dict__.update(extra)
    return module


math = _namespace("fastfit.math", **_MATH)
nn = _namespace("fastfit.nn", **_NN)
