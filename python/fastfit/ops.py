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


# -- shapes ----------------------------------------------------------------------------------
__all__ += ["reshape", "transpose", "concat", "maximum", "minimum", "tile", "squeeze", "expand_dims", "gather"]


def _ints(values):
    return [int(v) for v in (values if isinstance(values, (list, tuple, np.ndarray)) else [values])]


def reshape(tensor, shape):
    """`tensor` with the same elements in `shape`, which may hold one -1 (what is left).

    A shape whose first entry is the tensor's first dimension is recorded relative to it, so a traced
    model replays it at any batch size: ``tf.reshape(x, (len(x), -1))`` flattens every batch.
    """
    x, shape = _float(tensor), _ints(shape)
    if x.ndim and shape and shape[0] == x.shape[0]:
        return _core.apply("reshape", [x], shape=shape[1:], keep_batch=True)
    return _core.apply("reshape", [x], shape=shape)


def transpose(a, perm=None):
    """Permutes the axes: output axis k is input axis perm[k] (reversed when perm is None)."""
    x = _float(a)
    return _core.apply("transpose", [x], perm=list(range(x.ndim))[::-1] if perm is None else _ints(perm))


def concat(values, axis):
    """The tensors joined along `axis`; they must match on every other axis."""
    return _core.apply("concat", [_float(v) for v in values], axis=int(axis), n=len(values))


def maximum(x, y):
    """Elementwise max with broadcasting; where x == y the gradient goes to x, as in TensorFlow."""
    return _core.apply("maximum", [_float(x), _float(y)])


def minimum(x, y):
    """Elementwise min with broadcasting; where x == y the gradient goes to x, as in TensorFlow."""
    return _core.apply("minimum", [_float(x), _float(y)])


def tile(input, multiples):  # noqa: A002 - the TensorFlow name
    """`input` repeated multiples[k] times along each axis k."""
    return _core.apply("tile", [_float(input)], multiples=_ints(multiples))


def squeeze(input, axis=None):  # noqa: A002
    """Removes axes of size 1: those in `axis`, or all of them."""
    x = _float(input)
    drop = [i for i, d in enumerate(x.shape) if d == 1] if axis is None else _ints(axis)
    for a in drop:
        if not -x.ndim <= a < x.ndim or x.shape[a] != 1:
            raise ValueError(f"squeeze: axis {a} of a tensor of shape {x.shape} is not an axis of size 1")
    drop = [a % x.ndim for a in drop]
    return reshape(x, [d for i, d in enumerate(x.shape) if i not in drop])


def expand_dims(input, axis):  # noqa: A002
    """Inserts an axis of size 1 at `axis` (negative: counted from the end of the result)."""
    x = _float(input)
    if not -x.ndim - 1 <= axis <= x.ndim:
        raise ValueError(f"expand_dims: `axis` {axis} is out of range for a tensor of rank {x.ndim}")
    shape = list(x.shape)
    shape.insert(axis % (x.ndim + 1), 1)
    return reshape(x, shape)


def gather(params, indices, validate_indices=None, axis=None, batch_dims=0):
    """Rows of `params` picked by `indices` (int32, along axis 0): shape indices.shape + params.shape[1:].
    An index outside [0, len(params)) raises ValueError. Differentiable w.r.t. params. `validate_indices`
    does nothing, as in TensorFlow."""
    if axis not in (None, 0) or batch_dims != 0:
        raise NotImplementedError(f"gather: only axis=0 and batch_dims=0 are supported yet, got axis={axis}, "
                                  f"batch_dims={batch_dims}")
    return _core.apply("gather", [_float(params), convert_to_tensor(indices)])
