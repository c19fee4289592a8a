"""Math on tensors, differentiable where the maths is: `tf.reduce_sum`, `tf.matmul`, ... and the
arithmetic operators of Tensor. Each call runs a C++ kernel at once and records on active tapes."""
import numpy as np

from . import _core
from .tensor import Tensor, as_float as _float, convert_to_tensor

__all__ = ["add", "subtract", "multiply", "divide", "negative", "square", "sqrt", "exp", "log", "abs",
           "reduce_sum", "reduce_mean", "matmul", "argmax", "equal", "not_equal", "greater", "greater_equal", "less",
           "less_equal", "cast", "relu", "sigmoid", "tanh", "softmax"]


def add(x, y):
    return _core.apply("add", [_float(x), _float(y)])


def subtract(x, y):
    return _core.apply("subtract", [_float(x), _float(y)])


def multiply(x, y):
    return _core.apply("multiply", [_float(x), _float(y)])


def divide(x, y):
    return _core.apply("divide", [_float(x), _float(y)])


def negative(x):
    return _core.apply("negative", [_float(x)])


def square(x):
    return _core.apply("square", [_float(x)])


def sqrt(x):
    return _core.apply("sqrt", [_float(x)])


def exp(x):
    return _core.apply("exp", [_float(x)])


def log(x):
    return _core.apply("log", [_float(x)])


def abs(x):  # noqa: A001 - the TensorFlow name
    return _core.apply("abs", [_float(x)])


def _axes(axis):
    if axis is None:
        return []
    return [int(a) for a in (axis if isinstance(axis, (list, tuple)) else [axis])]


def reduce_sum(input_tensor, axis=None, keepdims=False):
    """Sum over `axis` (all axes when None)."""
    return _core.apply("reduce_sum", [_float(input_tensor)], axes=_axes(axis), keepdims=bool(keepdims))


def reduce_mean(input_tensor, axis=None, keepdims=False):
    """Mean over `axis` (all axes when None)."""
    return _core.apply("reduce_mean", [_float(input_tensor)], axes=_axes(axis), keepdims=bool(keepdims))


def matmul(a, b, transpose_a=False, transpose_b=False):
    """Matrix product of 2-D tensors, optionally transposing either operand."""
    return _core.apply("matmul", [_float(a), _float(b)], transpose_a=bool(transpose_a), transpose_b=bool(transpose_b))


def relu(x):
    return _core.apply("relu", [_float(x)])


def sigmoid(x):
    return _core.apply("sigmoid", [_float(x)])


def tanh(x):
    return _core.apply("tanh", [_float(x)])


def softmax(x, axis=-1):
    if axis not in (-1, len(convert_to_tensor(x).shape) - 1):
        raise ValueError(f"softmax: only the last axis is supported, got axis={axis}")
    return _core.apply("softmax", [_float(x)])


# Not differentiable (integer or boolean results): computed on numpy values.
def argmax(input, axis=None):  # noqa: A002 - the TensorFlow name
    return convert_to_tensor(np.argmax(np.asarray(input), axis=0 if axis is None else axis).astype(np.int32))


def equal(x, y):
    return convert_to_tensor((np.asarray(x) == np.asarray(y)).astype(np.float32))


def not_equal(x, y):
    return convert_to_tensor((np.asarray(x) != np.asarray(y)).astype(np.float32))


def greater(x, y):
    return convert_to_tensor((np.asarray(x) > np.asarray(y)).astype(np.float32))


def greater_equal(x, y):
    return convert_to_tensor((np.asarray(x) >= np.asarray(y)).astype(np.float32))


def less(x, y):
    return convert_to_tensor((np.asarray(x) < np.asarray(y)).astype(np.float32))


def less_equal(x, y):
    return convert_to_tensor((np.asarray(x) <= np.asarray(y)).astype(np.float32))


def cast(x, dtype):
    name = getattr(dtype, "name", str(dtype))
    if name == "float32" and isinstance(x, Tensor) and x.dtype_name == "float32":
        return x
    return convert_to_tensor(np.asarray(x).astype(name), "int32" if np.dtype(name).kind in "iu" else "float32")


def _binary_operators():
    def op(fn, swap=False):
        return (lambda a, b: fn(b, a)) if swap else (lambda a, b: fn(a, b))

    Tensor.__add__, Tensor.__radd__ = op(add), op(add, True)
    Tensor.__sub__, Tensor.__rsub__ = op(subtract), op(subtract, True)
    Tensor.__mul__, Tensor.__rmul__ = op(multiply), op(multiply, True)
    Tensor.__truediv__, Tensor.__rtruediv__ = op(divide), op(divide, True)
    Tensor.__matmul__ = op(matmul)
    Tensor.__neg__ = negative
    Tensor.__gt__, Tensor.__ge__ = op(greater), op(greater_equal)
    Tensor.__lt__, Tensor.__le__ = op(less), op(less_equal)
    Tensor.__pow__ = lambda a, p: square(a) if p == 2 else convert_to_tensor(np.asarray(a) ** p)


_binary_operators()
