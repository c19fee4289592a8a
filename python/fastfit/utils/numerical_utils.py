"""keras.utils.to_categorical and keras.utils.normalize."""
import numbers

import numpy as np

from .. import backend, ops
from ..tensor import Tensor, as_float


def to_categorical(x, num_classes=None):
    """Class ids as one-hot rows: an array of ids of shape (..., ) or (..., 1) becomes (..., num_classes).

    NumPy input gives a float64 NumPy array, as Keras 3 does; a fastfit Tensor gives a float32 Tensor
    (traceable), for which `num_classes` is required. `num_classes` defaults to the largest id + 1.

    >>> to_categorical([0, 2, 1], num_classes=3)
    array([[1., 0., 0.],
           [0., 0., 1.],
           [0., 1., 0.]])
    """
    if num_classes is not None and (isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral)
                                    or num_classes < 1):
        raise ValueError(f"to_categorical: `num_classes` must be a positive integer, got {num_classes!r}")
    if isinstance(x, Tensor):
        if num_classes is None:
            raise ValueError("to_categorical: `num_classes` is required for a Tensor (reading the largest id would "
                             "convert it to NumPy)")
        if x.ndim > 1 and x.shape[-1] == 1:
            x = ops.squeeze(x, -1)
        return ops.one_hot(x, int(num_classes))
    values = np.asarray(x)
    if values.dtype.kind not in "iuf" or (values.dtype.kind == "f" and np.any(values != np.floor(values))):
        raise ValueError(f"to_categorical: `x` must hold integer class ids, got {values.dtype} values")
    ids = values.astype(np.int64)
    shape = ids.shape[:-1] if ids.ndim > 1 and ids.shape[-1] == 1 else ids.shape
    ids = ids.reshape(-1)
    if num_classes is None:
        num_classes = int(ids.max()) + 1 if ids.size else 0
    if ids.size and (ids.min() < 0 or ids.max() >= num_classes):
        raise ValueError(f"to_categorical: class ids must be in [0, {num_classes}), got ids in "
                         f"[{ids.min()}, {ids.max()}]")
    out = np.zeros((ids.size, num_classes))
    out[np.arange(ids.size), ids] = 1
    return out.reshape(shape + (num_classes,))


def normalize(x, axis=-1, order=2):
    """`x` divided by its `order`-norm along `axis`.

    NumPy input: NumPy's norm, a zero norm left as 1 (Keras 3's NumPy path). A Tensor: Keras'
    `ops.normalize` (traceable), the norm at least `backend.epsilon()`. Keras' NumPy path turns
    axis=0 into -1 (its `axis or -1`); here every axis divides by the norm along itself.

    >>> normalize(np.array([[3.0, 4.0]]))
    array([[0.6, 0.8]])
    """
    if isinstance(order, bool) or not isinstance(order, numbers.Integral) or order < 1:
        raise ValueError(f"Argument `order` must be an int >= 1. Received: order={order!r}")
    if not isinstance(x, Tensor):
        values = np.asarray(x)
        norm = np.atleast_1d(np.linalg.norm(values, order, axis))
        norm[norm == 0] = 1
        return values / np.expand_dims(norm, axis)
    x = as_float(x)
    if order == 2:  # as Keras: x * min(rsqrt(sum of squares), 1 / epsilon)
        inv = ops.divide(1.0, ops.sqrt(ops.reduce_sum(ops.square(x), axis=axis, keepdims=True)))
        return x * ops.minimum(inv, 1.0 / backend.epsilon())
    norm = ops.reduce_sum(ops.abs(x) if order == 1 else ops.pow(ops.abs(x), float(order)), axis=axis, keepdims=True)
    if order != 1:
        norm = ops.pow(norm, 1.0 / order)
    return x / ops.maximum(norm, backend.epsilon())
