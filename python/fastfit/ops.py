"""Math on tensors, differentiable where the maths is: `tf.reduce_sum`, `tf.matmul`, ... and the
arithmetic operators of Tensor. Each call runs a C++ kernel at once and records on active tapes."""
import builtins

import numpy as np

from . import _core
from .keras_tensor import KerasTensor, symbolic
from .tensor import Tensor, as_float as _float, convert_to_tensor

__all__ = ["add", "subtract", "multiply", "divide", "negative", "square", "sqrt", "exp", "log", "abs",
           "reduce_sum", "reduce_mean", "reduce_max", "reduce_min", "reduce_std", "reduce_variance", "matmul",
           "equal", "not_equal", "greater", "greater_equal", "less", "less_equal", "cast", "where", "one_hot",
           "stop_gradient", "pow", "clip_by_value", "stack", "relu", "sigmoid", "tanh", "softmax"]


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


# Comparisons give 0 or 1 in float32 (fastfit's bool) and are not differentiable; int32 inputs work.
def _compare(kind, x, y):
    return _core.apply(kind, [_numeric(x), _numeric(y)])


def _numeric(x):
    """A Tensor as it is (float32 or int32), anything else as a float32 Tensor."""
    return x if isinstance(x, Tensor) else _float(x)


def equal(x, y):
    return _compare("equal", x, y)


def not_equal(x, y):
    return _compare("not_equal", x, y)


def greater(x, y):
    return _compare("greater", x, y)


def greater_equal(x, y):
    return _compare("greater_equal", x, y)


def less(x, y):
    return _compare("less", x, y)


def less_equal(x, y):
    return _compare("less_equal", x, y)


def cast(x, dtype):
    """`x` as float32, int32 or bool (0/1 in float32; fastfit has no bool tensors). float64 and int64 map
    to float32 and int32, the dtypes the core computes in. Float to int truncates toward zero."""
    name = getattr(dtype, "name", str(dtype))
    target = {"float16": "float32", "float32": "float32", "float64": "float32", "bfloat16": "float32",
              "int8": "int32", "int16": "int32", "int32": "int32", "int64": "int32", "uint8": "int32",
              "bool": "bool"}.get(name)
    if target is None:
        raise TypeError(f"cast: `dtype` must be a float, int or bool dtype, got {dtype!r}")
    x = x if isinstance(x, Tensor) else convert_to_tensor(x)
    if target == x.dtype_name:
        return x
    return _core.apply("cast", [x], dtype=target)


def reduce_max(input_tensor, axis=None, keepdims=False):
    """Max over `axis` (all axes when None); the gradient goes to the maxima, shared among ties."""
    return _core.apply("reduce_max", [_float(input_tensor)], axes=_axes(axis), keepdims=keepdims)


def reduce_min(input_tensor, axis=None, keepdims=False):
    """Min over `axis` (all axes when None)."""
    return _core.apply("reduce_min", [_float(input_tensor)], axes=_axes(axis), keepdims=keepdims)


def reduce_variance(input_tensor, axis=None, keepdims=False):
    """Population variance over `axis`: mean((x - mean(x))^2)."""
    x = _float(input_tensor)
    centered = x - reduce_mean(x, axis=axis, keepdims=True)
    return reduce_mean(square(centered), axis=axis, keepdims=keepdims)


def reduce_std(input_tensor, axis=None, keepdims=False):
    """Population standard deviation over `axis` (`keras.backend.std`)."""
    return sqrt(reduce_variance(input_tensor, axis=axis, keepdims=keepdims))


def where(condition, x=None, y=None):
    """x where condition is nonzero (true), else y; broadcasting. Differentiable in x and y."""
    if x is None or y is None:
        raise NotImplementedError("where: the one-argument form (indices of true elements) is not supported yet")
    return _core.apply("select", [cast(_numeric(condition), "bool"), _float(x), _float(y)])


def one_hot(indices, depth=None, on_value=1.0, off_value=0.0, axis=-1, dtype=None, name=None, num_classes=None,
            sparse=False):
    """A new last axis of `depth` (Keras: `num_classes`): on_value at each index, off_value elsewhere
    (float32, or `dtype`)."""
    depth = num_classes if depth is None else depth
    if depth is None:
        raise TypeError("one_hot: give the number of classes (`depth`, or `num_classes` as keras.ops names it)")
    if sparse:
        raise NotImplementedError("one_hot: sparse=True is not supported (fastfit has no sparse tensors)")
    if dtype is not None and getattr(dtype, "name", dtype) != "float32":
        return cast(one_hot(indices, depth, on_value, off_value, axis), dtype)
    if axis != -1:
        raise NotImplementedError(f"one_hot: only axis=-1 is supported yet, got axis={axis}")
    ids = expand_dims(cast(_numeric(indices), "float32"), -1)
    hot = equal(ids, np.arange(int(depth), dtype=np.float32))
    return hot if (on_value, off_value) == (1.0, 0.0) else hot * (on_value - off_value) + off_value


def stop_gradient(input):  # noqa: A002
    """The same values, with no gradient flowing back through them."""
    return _core.apply("stop_gradient", [_numeric(input)])


def pow(x, y):  # noqa: A001 - the TensorFlow name
    """x ** y elementwise with broadcasting; differentiable in both (d/dy taken as 0 where x <= 0)."""
    return _core.apply("pow", [_float(x), _float(y)])


def clip_by_value(t, clip_value_min, clip_value_max):
    """t clipped to [min, max]; the gradient passes where t is inside."""
    return minimum(maximum(t, clip_value_min), clip_value_max)


def stack(values, axis=0):
    """The tensors, of one shape, joined along a new axis."""
    return concat([expand_dims(v, axis) for v in values], axis)


def _getitem(self, key):
    """Basic indexing (ints, slices with step 1, `...`) is differentiable and traceable; anything else
    (fancy indexing, steps) computes through NumPy."""
    keys = key if isinstance(key, tuple) else (key,)
    if builtins.any(k is Ellipsis for k in keys):
        i = keys.index(Ellipsis)
        keys = keys[:i] + (slice(None),) * (self.ndim - len(keys) + 1) + keys[i + 1:]
    basic = len(keys) <= self.ndim and builtins.all(
        isinstance(k, (int, np.integer)) or (isinstance(k, slice) and k.step in (None, 1)) for k in keys)
    if not basic:
        from .tensor import _to_numpy
        return convert_to_tensor(_to_numpy(self, "indexing")[key])
    begin, size, keep = [], [], []
    for axis, dim in enumerate(self.shape):
        k = keys[axis] if axis < len(keys) else slice(None)
        if isinstance(k, slice):
            start, stop, _ = k.indices(dim)
            begin.append(start)
            size.append(-1 if k.stop is None else builtins.max(stop - start, 0))  # -1: to the end, whatever its length
            keep.append(True)
        else:
            i = int(k) + (dim if k < 0 else 0)
            if not 0 <= i < dim:
                raise IndexError(f"index {int(k)} is out of bounds for axis {axis} with size {dim}")
            begin.append(i)
            size.append(1)
            keep.append(False)
    x = _core.apply("slice", [_float(self)], begin=begin, size=size)
    if builtins.all(keep):
        return x
    shape = [d for d, k in zip(x.shape, keep) if k]
    first_kept = keep[0] and size[0] == -1  # the batch axis kept whole: reshape relative to it
    return reshape(x, shape) if not first_kept else _core.apply("reshape", [x], shape=shape[1:], keep_batch=True)


def _operators(cls, elementwise_eq):
    """The arithmetic, comparison and indexing operators of `cls` as the tf ops (looked up at call
    time, so they reach the symbolic wrappers below)."""
    def op(name, swap=False):
        return (lambda a, b: globals()[name](b, a)) if swap else (lambda a, b: globals()[name](a, b))

    cls.__add__, cls.__radd__ = op("add"), op("add", True)
    cls.__sub__, cls.__rsub__ = op("subtract"), op("subtract", True)
    cls.__mul__, cls.__rmul__ = op("multiply"), op("multiply", True)
    cls.__truediv__, cls.__rtruediv__ = op("divide"), op("divide", True)
    cls.__matmul__ = op("matmul")
    cls.__neg__ = lambda a: negative(a)
    cls.__abs__ = lambda a: abs(a)
    cls.__gt__, cls.__ge__ = op("greater"), op("greater_equal")
    cls.__lt__, cls.__le__ = op("less"), op("less_equal")
    cls.__pow__ = lambda a, p: square(a) if isinstance(p, (int, float)) and p == 2 else pow(a, p)
    cls.__rpow__ = op("pow", True)
    cls.__getitem__ = lambda a, key: _getitem(a, key)
    if elementwise_eq:
        cls.__eq__, cls.__ne__ = op("equal"), op("not_equal")  # elementwise, as TensorFlow's
        cls.__hash__ = object.__hash__  # by identity (TensorFlow refuses; fastfit keeps sets of tensors working)


_operators(Tensor, elementwise_eq=True)
_operators(KerasTensor, elementwise_eq=False)  # == stays identity: graphs keep KerasTensors in lists


# -- shapes ----------------------------------------------------------------------------------
__all__ += ["reshape", "transpose", "concat", "maximum", "minimum", "tile", "squeeze", "expand_dims", "gather", "zeros",
            "ones", "zeros_like", "ones_like"]


def zeros(shape, dtype="float32"):
    """A constant tensor of zeros (float32, or int32 for an integer dtype: the dtypes fastfit computes in).

    >>> tf.zeros((2, 3)).shape
    (2, 3)
    """
    return convert_to_tensor(np.zeros(_ints(shape)), dtype)


def ones(shape, dtype="float32"):
    """A constant tensor of ones (float32, or int32 for an integer dtype)."""
    return convert_to_tensor(np.ones(_ints(shape)), dtype)


def zeros_like(input, dtype=None):  # noqa: A002 - the TensorFlow name
    """Zeros of `input`'s shape, in its dtype unless `dtype` is given (a constant: no gradient flows)."""
    x = input if isinstance(input, Tensor) else convert_to_tensor(input)
    return zeros(x.shape, dtype or x.dtype_name)


def ones_like(input, dtype=None):  # noqa: A002
    """Ones of `input`'s shape, in its dtype unless `dtype` is given (a constant: no gradient flows)."""
    x = input if isinstance(input, Tensor) else convert_to_tensor(input)
    return ones(x.shape, dtype or x.dtype_name)


def _ints(values):
    return [int(v) for v in (values if isinstance(values, (list, tuple, np.ndarray)) else [values])]


def reshape(tensor, shape=None, newshape=None):
    """`tensor` with the same elements in `shape`, which may hold one -1 (what is left).

    A shape whose first entry is the tensor's first dimension is recorded relative to it, so a traced
    model replays it at any batch size: ``tf.reshape(x, (len(x), -1))`` flattens every batch.
    """
    x, shape = _float(tensor), _ints(newshape if shape is None else shape)  # newshape: keras.ops' name
    if x.ndim and shape and shape[0] == x.shape[0]:
        return _core.apply("reshape", [x], shape=shape[1:], keep_batch=True)
    return _core.apply("reshape", [x], shape=shape)


def transpose(a, perm=None, axes=None):
    """Permutes the axes: output axis k is input axis perm[k] (reversed when perm is None); `axes` is
    keras.ops' name for `perm`."""
    x, perm = _float(a), perm if axes is None else axes
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


def tile(input, multiples=None, repeats=None):  # noqa: A002 - the TensorFlow name
    """`input` repeated multiples[k] times along each axis k (`repeats`: keras.ops' name)."""
    return _core.apply("tile", [_float(input)], multiples=_ints(multiples if repeats is None else repeats))


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


# -- keras.ops' NumPy-style names (Keras 3 semantics where they differ from TensorFlow's: argmax) ----
from . import numpy_ops as _numpy_ops  # noqa: E402 - it builds on the ops above

for _name in _numpy_ops.__all__:
    globals()[_name] = getattr(_numpy_ops, _name)
__all__ += [n for n in _numpy_ops.__all__ if n not in __all__]

# -- on KerasTensors: each op called on symbolic tensors becomes a node of the functional graph ----
for _name in __all__ + ["_getitem"]:
    globals()[_name] = symbolic(globals()[_name])
del _name
