"""keras.regularizers: penalties on weights (`kernel_regularizer=`, `add_weight(regularizer=)`) and on
layer outputs (`activity_regularizer=`), computed with fastfit ops so fit traces them into its program.

A weight's penalty is part of `layer.losses` and `model.losses`, computed from the weight's current
value each time they are read (so each training step's loss has the step's penalty); an output's
penalty is added by each call, divided by the batch size (Keras 3).

>>> L2(0.5)(np.ones((2, 3), "float32")).numpy()
array(3., dtype=float32)
"""
import math
import numbers

import numpy as np

from . import _core, ops
from ._objects import Registry
from .tensor import as_float, convert_to_tensor
from .utils.numerical_utils import normalize


def _factor(value, name):
    """Keras' check of a penalty factor: a finite number >= 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value < 0:
        raise ValueError(f"Invalid value for argument {name}: expected a non-negative float. "
                         f"Received: {name}={value!r}")
    return float(value)


def _penalty(x, l1, l2):
    """l1 * sum(|x|) + l2 * sum(x^2) as one C++ op (one pass over x each way, float64 sums)."""
    return _core.apply("l1_l2_penalty", [as_float(x)], l1=l1, l2=l2)


class Regularizer:
    """Base class of regularizers: `__call__(x)` returns a scalar penalty for the tensor `x`.

    Subclass it with `__call__` (fastfit ops, so a compiled fit can replay it) and `get_config`:

    >>> class L2Like(Regularizer):
    ...     def __init__(self, l2=0.0):
    ...         self.l2 = l2
    ...     def __call__(self, x):
    ...         return self.l2 * ops.reduce_sum(ops.square(x))
    ...     def get_config(self):
    ...         return {"l2": float(self.l2)}

    Any callable taking a tensor and returning a scalar works as a regularizer too.
    """

    def __call__(self, x):
        return 0.0

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def get_config(self):
        raise NotImplementedError(f"{self} does not implement get_config()")


class L1L2(Regularizer):
    """``l1 * sum(abs(x)) + l2 * sum(square(x))``. Both factors default to 0 (Keras 3; `l1_l2` is
    this class)."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = _factor(0.0 if l1 is None else l1, "l1")
        self.l2 = _factor(0.0 if l2 is None else l2, "l2")

    def __call__(self, x):
        return _penalty(x, self.l1, self.l2)

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class L1(Regularizer):
    """``l1 * sum(abs(x))``, l1 = 0.01 by default (also by the name 'l1')."""

    def __init__(self, l1=0.01):
        self.l1 = _factor(0.01 if l1 is None else l1, "l1")

    def __call__(self, x):
        return _penalty(x, self.l1, 0.0)

    def get_config(self):
        return {"l1": self.l1}


class L2(Regularizer):
    """``l2 * sum(square(x))``, l2 = 0.01 by default (also by the name 'l2')."""

    def __init__(self, l2=0.01):
        self.l2 = _factor(0.01 if l2 is None else l2, "l2")

    def __call__(self, x):
        return _penalty(x, 0.0, self.l2)

    def get_config(self):
        return {"l2": self.l2}


class OrthogonalRegularizer(Regularizer):
    """Pushes the rows (mode='rows') or the columns (mode='columns') of a rank-2 weight towards being
    orthogonal: ``factor * 0.5 * sum(|P - diag(P)|) / (n (n - 1) / 2)``, P the products of the
    L2-normalized rows (columns), n their count."""

    def __init__(self, factor=0.01, mode="rows"):
        self.factor = _factor(factor, "factor")
        if mode not in ("rows", "columns"):
            raise ValueError(f'Invalid value for argument `mode`. Expected one of {{"rows", "columns"}}. '
                             f"Received: mode={mode}")
        self.mode = mode

    def __call__(self, inputs):
        x = as_float(inputs)
        if x.ndim != 2:
            raise ValueError(f"Inputs to OrthogonalRegularizer must have rank 2. Received: inputs.shape={x.shape}")
        rows = self.mode == "rows"
        x = normalize(x, axis=1 if rows else 0)
        product = ops.matmul(x, x, transpose_b=True) if rows else ops.matmul(x, x, transpose_a=True)
        size = x.shape[0] if rows else x.shape[1]
        off_diagonal = product * convert_to_tensor(1.0 - np.eye(size, dtype=np.float32))
        pairs = size * (size - 1.0) / 2.0
        return self.factor * 0.5 * ops.reduce_sum(ops.abs(off_diagonal)) / pairs

    def get_config(self):
        return {"factor": self.factor, "mode": self.mode}


l1, l2, l1_l2, orthogonal_regularizer = L1, L2, L1L2, OrthogonalRegularizer
_BY_NAME = {"Regularizer": Regularizer, "regularizer": Regularizer, "L1": L1, "l1": L1, "L2": L2, "l2": L2,
            "L1L2": L1L2, "l1l2": L1L2, "OrthogonalRegularizer": OrthogonalRegularizer,
            "orthogonal_regularizer": OrthogonalRegularizer}


_registry = Registry("regularizer", _BY_NAME)
serialize, deserialize, get = _registry.serialize, _registry.deserialize, _registry.get
