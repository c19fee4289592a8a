"""keras.constraints: projections applied to a weight after each optimizer update
(`kernel_constraint=`, `add_weight(constraint=)`), as Keras 3's optimizers apply them. They are
fastfit ops, so fit's compiled program replays them after its update step.

>>> MaxNorm(1.0)(np.array([[3.0], [4.0]], "float32")).numpy().round(3)
array([[0.6],
       [0.8]], dtype=float32)
"""

from . import backend, ops
from ._objects import Registry
from .tensor import as_float


def _norms(w, axis):
    """The L2 norms of `w` along `axis` (an int or a list), kept as axes of size 1."""
    return ops.sqrt(ops.reduce_sum(ops.square(w), axis=axis, keepdims=True))


class Constraint:
    """Base class of weight constraints: `__call__(w)` returns the projected weight (by default, `w`).

    Subclass it with `__call__` written with fastfit ops (so a compiled fit can replay it):

    >>> class NonNegative(Constraint):
    ...     def __call__(self, w):
    ...         return w * ops.cast(ops.greater_equal(w, 0.0), "float32")
    """

    def __call__(self, w):
        return w

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class MaxNorm(Constraint):
    """Scales the weights incident to each unit down to a norm of at most `max_value`: the norms are
    taken along `axis` (0 for a Dense kernel's columns; [0, 1, 2] for each Conv2D filter)."""

    def __init__(self, max_value=2, axis=0):
        self.max_value, self.axis = max_value, axis

    def __call__(self, w):
        w = as_float(w)
        norms = _norms(w, self.axis)
        desired = ops.clip_by_value(norms, 0.0, float(self.max_value))
        return w * (desired / (backend.epsilon() + norms))

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


class MinMaxNorm(Constraint):
    """Moves the norm along `axis` of the weights incident to each unit into [min_value, max_value]:
    to ``rate * clip(norm, min_value, max_value) + (1 - rate) * norm``."""

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        self.min_value, self.max_value, self.rate, self.axis = min_value, max_value, rate, axis

    def __call__(self, w):
        w = as_float(w)
        norms = _norms(w, self.axis)
        clipped = ops.clip_by_value(norms, float(self.min_value), float(self.max_value))
        desired = self.rate * clipped + (1 - self.rate) * norms
        return w * (desired / (backend.epsilon() + norms))

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate, "axis": self.axis}


class NonNeg(Constraint):
    """Sets negative weights to 0."""

    def __call__(self, w):
        return ops.maximum(as_float(w), 0.0)


class UnitNorm(Constraint):
    """Scales the weights incident to each unit to a norm of 1 along `axis`."""

    def __init__(self, axis=0):
        self.axis = axis

    def __call__(self, w):
        w = as_float(w)
        return w / (backend.epsilon() + _norms(w, self.axis))

    def get_config(self):
        return {"axis": self.axis}


max_norm, min_max_norm, non_neg, unit_norm = MaxNorm, MinMaxNorm, NonNeg, UnitNorm
_BY_NAME = {"Constraint": Constraint, "constraint": Constraint, "MaxNorm": MaxNorm, "max_norm": MaxNorm,
            "MinMaxNorm": MinMaxNorm, "min_max_norm": MinMaxNorm, "NonNeg": NonNeg, "non_neg": NonNeg,
            "UnitNorm": UnitNorm, "unit_norm": UnitNorm}


_registry = Registry("constraint", _BY_NAME)
serialize, deserialize, get = _registry.serialize, _registry.deserialize, _registry.get
