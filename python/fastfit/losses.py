"""Losses as Keras objects: per-sample values from a C++ op, then the reduction.

Crossentropy on probabilities produced by a softmax works on the softmax's logits, as Keras does,
so the fused softmax-crossentropy kernel is used and the result is numerically stable.
"""
import numpy as np

from . import _core, ops
from .backend import snake_case
from .tensor import Tensor, as_float as _float, convert_to_tensor

_REDUCTIONS = ("sum_over_batch_size", "sum", "none", "mean", None)


class Loss:
    """Base class: subclasses implement `call(y_true, y_pred)` returning per-sample losses."""

    sparse_labels = False  # labels are class ids (fed as int32)

    def __init__(self, name=None, reduction="sum_over_batch_size"):
        if reduction not in _REDUCTIONS:
            raise ValueError(f"Invalid `reduction` {reduction!r}; expected one of {list(_REDUCTIONS)}")
        self.name = name or snake_case(type(self).__name__)
        self.reduction = reduction

    def __call__(self, y_true, y_pred, sample_weight=None):
        y_pred = convert_to_tensor(y_pred, None if isinstance(y_pred, Tensor) else "float32")
        y_true = convert_to_tensor(y_true, ("int32" if self.sparse_labels else "float32")
                                   if not isinstance(y_true, Tensor) else None)
        values = self.call(y_true, y_pred)
        if sample_weight is not None:
            values = ops.multiply(values, _weights_like(values, sample_weight))
        if self.reduction == "none" or self.reduction is None:
            return values
        if self.reduction == "sum":
            return ops.reduce_sum(values)
        return ops.reduce_mean(values)  # sum_over_batch_size: sum / number of elements

    def call(self, y_true, y_pred):
        raise NotImplementedError

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction}


def _weights_like(values, sample_weight):
    """Sample weights of the rank of the per-sample losses, as Keras squeezes or expands them: (n, 1)
    weights for (n,) losses are (n,). A tensor of the right rank is used as it is (a traced one stays
    traced)."""
    if isinstance(sample_weight, Tensor) and sample_weight.ndim == values.ndim:
        return _float(sample_weight)
    w = np.asarray(sample_weight, np.float32)
    while w.ndim > values.ndim and w.shape[-1] == 1:
        w = w[..., 0]
    while w.ndim < values.ndim:
        w = w[..., None]
    return convert_to_tensor(np.ascontiguousarray(w))


def _crossentropy(op, y_true, y_pred, from_logits):
    """The crossentropy op; on a softmax's output, from that softmax's logits, as Keras 3's backends do."""
    if not from_logits and y_pred._logits is not None:
        y_pred, from_logits = y_pred._logits, True
    return _core.apply(op, [y_true, y_pred], from_logits=bool(from_logits))


class SparseCategoricalCrossentropy(Loss):
    """Crossentropy between integer labels (B,) and class scores (B, C).

    >>> SparseCategoricalCrossentropy()([1, 2], [[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]]).numpy()  # 1.177
    """

    sparse_labels = True

    def __init__(self, from_logits=False, ignore_class=None, reduction="sum_over_batch_size",
                 name="sparse_categorical_crossentropy"):
        super().__init__(name, reduction)
        if ignore_class is not None:
            raise NotImplementedError("SparseCategoricalCrossentropy: ignore_class is not supported yet")
        self.from_logits = from_logits

    def call(self, y_true, y_pred):
        return _crossentropy("sparse_categorical_crossentropy", y_true, _float(y_pred), self.from_logits)


class CategoricalCrossentropy(Loss):
    """Crossentropy between one-hot labels and class scores, both (B, C)."""

    def __init__(self, from_logits=False, label_smoothing=0.0, reduction="sum_over_batch_size",
                 name="categorical_crossentropy"):
        super().__init__(name, reduction)
        if label_smoothing:
            raise NotImplementedError("CategoricalCrossentropy: label_smoothing is not supported yet")
        self.from_logits = from_logits

    def call(self, y_true, y_pred):
        return _crossentropy("categorical_crossentropy", _float(y_true), _float(y_pred), self.from_logits)


class MeanSquaredError(Loss):
    """mean((y_pred - y_true)^2) over the last axis, then the reduction."""

    def __init__(self, reduction="sum_over_batch_size", name="mean_squared_error"):
        super().__init__(name, reduction)

    def call(self, y_true, y_pred):
        return _core.apply("mean_squared_error", [_float(y_true), _float(y_pred)])


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False):
    return SparseCategoricalCrossentropy(from_logits=from_logits, reduction="none")(y_true, y_pred)


def categorical_crossentropy(y_true, y_pred, from_logits=False):
    return CategoricalCrossentropy(from_logits=from_logits, reduction="none")(y_true, y_pred)


def mean_squared_error(y_true, y_pred):
    return MeanSquaredError(reduction="none")(y_true, y_pred)


mse = MSE = mean_squared_error

_BY_NAME = {"sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
            "categorical_crossentropy": CategoricalCrossentropy,
            "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError}
_BY_FUNCTION = {sparse_categorical_crossentropy: SparseCategoricalCrossentropy,
                categorical_crossentropy: CategoricalCrossentropy, mean_squared_error: MeanSquaredError}


def get(identifier):
    """A Loss object from a name, a Loss, a loss function of this module, or any callable(y_true, y_pred)."""
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str):
        if identifier not in _BY_NAME:
            raise ValueError(f"Unknown loss: '{identifier}'. Valid names: {sorted(_BY_NAME)}")
        return _BY_NAME[identifier]()
    if identifier in _BY_FUNCTION:
        return _BY_FUNCTION[identifier]()
    if callable(identifier):
        return LossFunctionWrapper(identifier)
    raise TypeError(f"loss must be a string, a Loss or a callable, got {type(identifier).__name__}")


class LossFunctionWrapper(Loss):
    """Wraps a callable(y_true, y_pred) -> per-sample losses."""

    def __init__(self, fn, reduction="sum_over_batch_size", name=None):
        super().__init__(name or getattr(fn, "__name__", "loss"), reduction)
        self.fn = fn

    def call(self, y_true, y_pred):
        return self.fn(y_true, y_pred)
