"""`keras.ops` under Keras 3's names and signatures (NumPy-style: `mean`, `sum`, `concatenate`, `take`,
...), written with fastfit's ops, so each is differentiable where the maths is and traceable into a
compiled program. `fastfit.ops` exports these beside the TensorFlow-style names.

>>> from fastfit import ops
>>> float(ops.mean(ops.square(ops.convert_to_tensor([1.0, 2.0, 3.0]))))
4.666666507720947
"""
import math

import numpy as np

from . import _core
from .ops import (_ints, abs as absolute, cast, concat, divide, equal, exp, expand_dims, gather, log, maximum, minimum, multiply,
                  not_equal, pow, reduce_max, reduce_mean, reduce_min, reduce_std, reduce_sum, reduce_variance,
                  relu, reshape, sigmoid, sqrt, square, stop_gradient, tanh, where)
from .tensor import Tensor, as_float as _float, convert_to_tensor

__all__ = ["absolute", "mean", "sum", "max", "min", "std", "var", "concatenate", "clip", "take", "power", "zeros", "ones",
           "full", "zeros_like", "ones_like", "full_like", "arange", "eye", "any", "all", "log_softmax", "logsumexp",
           "isnan", "isfinite", "isinf", "norm", "dot", "argmax", "argmin", "shape", "ndim", "log1p", "expm1", "erf",
           "softplus", "floor", "ceil", "round", "sign", "silu", "swish", "gelu", "elu", "selu", "leaky_relu",
           "relu6", "hard_sigmoid", "hard_silu", "softsign", "mish", "convert_to_numpy", "is_tensor",
           "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy"]


# -- reductions ----------------------------------------------------------------------------------
def mean(x, axis=None, keepdims=False):
    """The mean over `axis` (all axes when None)."""
    return reduce_mean(x, axis=axis, keepdims=keepdims)


def sum(x, axis=None, keepdims=False):  # noqa: A001 - Keras' name
    return reduce_sum(x, axis=axis, keepdims=keepdims)


def max(x, axis=None, keepdims=False, initial=None):  # noqa: A001
    if initial is not None:
        return maximum(reduce_max(x, axis=axis, keepdims=keepdims), initial)
    return reduce_max(x, axis=axis, keepdims=keepdims)


def min(x, axis=None, keepdims=False, initial=None):  # noqa: A001
    if initial is not None:
        return minimum(reduce_min(x, axis=axis, keepdims=keepdims), initial)
    return reduce_min(x, axis=axis, keepdims=keepdims)


def std(x, axis=None, keepdims=False):
    """Population standard deviation, as numpy.std."""
    return reduce_std(x, axis=axis, keepdims=keepdims)


def var(x, axis=None, keepdims=False):
    return reduce_variance(x, axis=axis, keepdims=keepdims)


def any(x, axis=None, keepdims=False):  # noqa: A001
    """Whether any element along `axis` is nonzero (fastfit's bool: 0 or 1 in float32)."""
    return reduce_max(not_equal(x, 0.0), axis=axis, keepdims=keepdims)


def all(x, axis=None, keepdims=False):  # noqa: A001
    return reduce_min(not_equal(x, 0.0), axis=axis, keepdims=keepdims)


def logsumexp(x, axis=None, keepdims=False):
    """log(sum(exp(x))) over `axis`, computed from the max so it does not overflow."""
    x = _float(x)
    m = stop_gradient(reduce_max(x, axis=axis, keepdims=True))
    out = log(reduce_sum(exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else _drop_axes(out, axis)


def log_softmax(x, axis=-1):
    x = _float(x)
    return x - logsumexp(x, axis=axis, keepdims=True)


def norm(x, ord=None, axis=None, keepdims=False):  # noqa: A002 - Keras' name
    """The 2-norm of a vector, the Frobenius norm of a matrix (the default `ord` only)."""
    if ord not in (None, 2, "fro", "euclidean"):
        raise NotImplementedError(f"norm: ord={ord!r} is not supported yet (the default 2-norm only)")
    return sqrt(reduce_sum(square(x), axis=axis, keepdims=keepdims))


def argmax(x, axis=None, keepdims=False):
    """The index of the largest value along `axis`; of the flattened tensor when `axis` is None
    (Keras 3; `tf.argmax` takes axis 0 instead)."""
    return _arg_extreme("argmax", x, axis, keepdims)


def argmin(x, axis=None, keepdims=False):
    return _arg_extreme("argmin", x, axis, keepdims)


def _arg_extreme(name, x, axis, keepdims):
    x = _float(x)
    if axis is None:
        out = _core.apply(name, [reshape(x, [-1])], axis=0)
        return reshape(out, [1] * x.ndim) if keepdims else out
    out = _core.apply(name, [x], axis=int(axis))
    return expand_dims(out, axis) if keepdims else out


def _drop_axes(x, axis):
    if axis is None:
        return reshape(x, [])
    axes = sorted(a % x.ndim for a in _ints(axis))
    return reshape(x, [d for i, d in enumerate(x.shape) if i not in axes])


# -- structure -----------------------------------------------------------------------------------
def concatenate(xs, axis=0):
    return concat(xs, axis)


def take(x, indices, axis=None):
    """Elements of `x` at `indices` along `axis` (of the flattened `x` when None), as numpy.take."""
    x = _float(x)
    if axis is None:
        return gather(reshape(x, [-1]), indices)
    axis = int(axis) % x.ndim
    if axis == 0:
        return gather(x, indices)
    from .ops import transpose
    perm = [axis] + [i for i in range(x.ndim) if i != axis]
    picked = gather(transpose(x, perm), indices)
    k = picked.ndim - (x.ndim - 1)  # the indices' axes lead
    back = list(range(k, k + axis)) + list(range(k)) + list(range(k + axis, picked.ndim))
    return transpose(picked, back)


def clip(x, x_min, x_max):
    return minimum(maximum(x, x_min), x_max)


def power(x1, x2):
    return pow(x1, x2)


def dot(x1, x2):
    """numpy.dot: the inner product of vectors, the matrix product otherwise."""
    a, b = _float(x1), _float(x2)
    if a.ndim == 1 and b.ndim == 1:
        return reduce_sum(a * b)
    from .ops import matmul
    if b.ndim == 1:
        return reshape(matmul(a, reshape(b, [-1, 1])), list(a.shape[:-1]))
    if a.ndim == 1:
        return reshape(matmul(reshape(a, [1, -1]), b), [b.shape[-1]])
    return matmul(a, b)


def shape(x):
    """The static shape, a tuple of ints."""
    return tuple(convert_to_tensor(x).shape)


def ndim(x):
    return len(shape(x))


# -- constants -----------------------------------------------------------------------------------
def _const(value, dtype):
    name = getattr(dtype, "name", dtype) or "float32"
    return convert_to_tensor(np.asarray(value, "int32" if name in ("int32", "int64") else "float32"))


def zeros(shape, dtype=None):  # noqa: F811 - Keras' argument name
    return _const(np.zeros(_ints(shape)), dtype)


def ones(shape, dtype=None):  # noqa: F811
    return _const(np.ones(_ints(shape)), dtype)


def full(shape, fill_value, dtype=None):  # noqa: F811
    return _const(np.full(_ints(shape), fill_value), dtype)


def full_like(x, fill_value, dtype=None):
    """`fill_value` in the shape of `x`; computed from `x` (0 * (x == x) is 0 even where x is inf or
    nan), so a traced model replays it at any batch size."""
    out = multiply(equal(x, x), 0.0) + float(fill_value)
    return out if getattr(dtype, "name", dtype) in (None, "float32") else cast(out, dtype)


def zeros_like(x, dtype=None):
    return full_like(x, 0.0, dtype)


def ones_like(x, dtype=None):
    return full_like(x, 1.0, dtype)


def arange(start, stop=None, step=1, dtype=None):
    values = np.arange(start, stop, step) if stop is not None else np.arange(start)
    kind = dtype or ("int32" if values.dtype.kind in "iu" else "float32")
    return _const(values, kind)


def eye(N, M=None, k=0, dtype=None):  # noqa: N803 - Keras' names
    return _const(np.eye(N, M, k), dtype)


# -- elementwise ---------------------------------------------------------------------------------
def _unary(name):
    def fn(x):
        return _core.apply(name, [_float(x)])
    fn.__name__ = name
    fn.__doc__ = f"Elementwise {name}" + (" (no gradient: a step function)" if name in
                                          ("floor", "ceil", "round", "sign") else "") + "."
    return fn


log1p, expm1, erf, softplus = _unary("log1p"), _unary("expm1"), _unary("erf"), _unary("softplus")
floor, ceil, round, sign = _unary("floor"), _unary("ceil"), _unary("round"), _unary("sign")  # noqa: A001


def isnan(x):
    x = _float(x)
    return not_equal(x, x)


def isfinite(x):
    x = _float(x)
    return equal(x - x, 0.0)  # inf - inf and nan - nan are nan


def isinf(x):
    x = _float(x)
    return equal(x, x) * not_equal(x - x, 0.0)


# -- activations ---------------------------------------------------------------------------------
def silu(x):
    x = _float(x)
    return x * sigmoid(x)


swish = silu


def gelu(x, approximate=True):
    """Gaussian error linear unit; `approximate` (keras.ops' default) uses the tanh form."""
    x = _float(x)
    if approximate:
        return 0.5 * x * (1.0 + tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x * x * x)))
    return 0.5 * x * (1.0 + erf(x * (1.0 / math.sqrt(2.0))))


def elu(x, alpha=1.0):
    x = _float(x)
    return where(x > 0.0, x, alpha * expm1(minimum(x, 0.0)))  # the min keeps exp from overflowing


def selu(x):
    return 1.0507009873554805 * elu(x, 1.6732632423543772)


def leaky_relu(x, negative_slope=0.2):
    x = _float(x)
    return where(x > 0.0, x, x * negative_slope)


def relu6(x):
    return minimum(relu(x), 6.0)


def hard_sigmoid(x):
    """relu6(x + 3) / 6, as Keras 3."""
    return relu6(_float(x) + 3.0) * (1.0 / 6.0)


def hard_silu(x):
    x = _float(x)
    return x * hard_sigmoid(x)


def softsign(x):
    from .ops import abs as abs_
    x = _float(x)
    return divide(x, abs_(x) + 1.0)


def mish(x):
    x = _float(x)
    return x * tanh(softplus(x))


# -- crossentropies, per element or per sample, unreduced (keras.ops') --------------------------------
def binary_crossentropy(target, output, from_logits=False):
    from .losses.losses import _logits  # a sigmoid's output carries its logits, as in Keras
    x, logits = _logits(_float(output), from_logits, "binary_crossentropy")
    return _core.apply("binary_crossentropy", [_float(target), x], from_logits=logits)


def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    from .losses import categorical_crossentropy as loss
    return loss(target, output, from_logits=from_logits, axis=axis)


def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    from .losses import sparse_categorical_crossentropy as loss
    return loss(target, output, from_logits=from_logits, axis=axis)


# -- conversions ---------------------------------------------------------------------------------
def convert_to_numpy(x):
    return np.asarray(convert_to_tensor(x).numpy())


def is_tensor(x):
    return isinstance(x, Tensor)

