"""The Loss base class and Keras 3's reductions: per-sample values (from fastfit ops, so fit traces
them into its C++ program), weighted by the sample weights and a mask, then reduced."""
import numpy as np

from .. import ops
from ..backend import snake_case, unique_name
from ..tensor import Tensor, as_float, convert_to_tensor

_REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)
_TINY = float(np.finfo(np.float32).tiny)


class Loss:
    """Base class: subclasses implement `call(y_true, y_pred)` returning per-sample losses.

    Args:
        reduction: "sum_over_batch_size" (default) and "mean" divide the sum of the weighted losses by
            their number; "sum" sums them; "mean_with_sample_weight" divides the sum by the sum of the
            sample weights; "none" or None returns them as they are.
        name: defaults to the class name in snake_case.
        dtype: float32 only (None means it).
    """

    sparse_labels = False  # labels are class ids (fed as int32)

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        if reduction not in _REDUCTIONS:
            raise ValueError(f"Invalid value for argument `reduction`. Expected one of {list(_REDUCTIONS)}. "
                             f"Received: reduction={reduction!r}")
        if getattr(dtype, "name", dtype) not in (None, "float32"):
            raise NotImplementedError(f"{type(self).__name__}: dtype {dtype!r} is not supported yet (float32 only)")
        self.name = name or unique_name(snake_case(type(self).__name__))
        self.reduction = reduction

    def __call__(self, y_true, y_pred, sample_weight=None):
        y_pred = convert_to_tensor(y_pred, None if isinstance(y_pred, Tensor) else "float32")
        y_true = convert_to_tensor(y_true, ("int32" if self.sparse_labels else "float32")
                                   if not isinstance(y_true, Tensor) else None)
        values = self.call(y_true, y_pred)
        return reduce_weighted_values(values, sample_weight, getattr(values, "_keras_mask", None), self.reduction)

    def call(self, y_true, y_pred):
        raise NotImplementedError

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class LossFunctionWrapper(Loss):
    """A Loss from a function fn(y_true, y_pred, **kwargs) -> per-sample losses. y_true and y_pred are
    first brought to the same rank when they differ by a trailing axis of 1, as Keras does."""

    def __init__(self, fn, reduction="sum_over_batch_size", name=None, dtype=None, **kwargs):
        super().__init__(name or snake_case(getattr(fn, "__name__", "loss")), reduction, dtype)
        self.fn, self._fn_kwargs = fn, kwargs

    def call(self, y_true, y_pred):
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self):
        return {**super().get_config(), "fn": getattr(self.fn, "__name__", repr(self.fn)), **self._fn_kwargs}

    def __repr__(self):
        return f"<LossFunctionWrapper({self.fn}, kwargs={self._fn_kwargs})>"


class _Masked(Tensor):
    """Per-sample losses with the mask Keras attaches (`_keras_mask`): which of them count."""


def with_mask(values, mask):
    """`values` (the same C++ tensor) carrying `mask`, as Keras' backend.set_keras_mask."""
    out = _Masked.__new__(_Masked)
    Tensor.__init__(out, shares=values)
    out._keras_mask = mask
    return out


def squeeze_or_expand_to_same_rank(x1, x2, expand_rank_1=True):
    """Keras' rule: when the ranks differ by one and the longer ends in an axis of 1, that axis goes
    (or, for a rank-1 partner, the partner gains one)."""
    r1, r2 = len(x1.shape), len(x2.shape)
    if r1 == r2 + 1 and x1.shape[-1] == 1:
        return (x1, ops.expand_dims(x2, -1)) if r2 == 1 and expand_rank_1 else (ops.squeeze(x1, -1), x2)
    if r2 == r1 + 1 and x2.shape[-1] == 1:
        return (ops.expand_dims(x1, -1), x2) if r1 == 1 and expand_rank_1 else (x1, ops.squeeze(x2, -1))
    return x1, x2


def divide_no_nan(x, y):
    """x / y, and 0 where y is 0, for y >= 0 (sums of weights, counts): x is then 0 too."""
    return ops.divide(x, ops.maximum(y, _TINY))


def apply_mask(sample_weight, mask, reduction):
    """The sample weights with the mask folded in. For the mean reductions the kept entries weigh
    1 / (the kept fraction), so that the mean over all entries is the mean over the kept ones."""
    if mask is None:
        return sample_weight
    mask = as_float(mask)
    if reduction in ("mean", "sum_over_batch_size"):
        mask = ops.multiply(mask, divide_no_nan(1.0, ops.reduce_mean(mask)))
    if sample_weight is None:
        return mask
    mask, sample_weight = squeeze_or_expand_to_same_rank(mask, as_float(sample_weight))
    return ops.multiply(sample_weight, mask)


def reduce_weighted_values(values, sample_weight=None, mask=None, reduction="sum_over_batch_size"):
    """Keras 3's reduce_weighted_values: weigh the per-sample values, then reduce them."""
    sample_weight = apply_mask(sample_weight, mask, reduction)
    if sample_weight is not None:
        values, sample_weight = squeeze_or_expand_to_same_rank(values, as_float(sample_weight))
        for _ in range(sample_weight.ndim, values.ndim):  # one weight per sample: over all its values
            sample_weight = ops.expand_dims(sample_weight, -1)
        values = ops.multiply(values, sample_weight)
    if reduction in ("none", None) or values.ndim == 0 or tuple(values.shape) == (0,):
        return values
    if reduction == "sum":
        return ops.reduce_sum(values)
    if reduction == "mean_with_sample_weight" and sample_weight is not None:
        return divide_no_nan(ops.reduce_sum(values), ops.reduce_sum(sample_weight))
    return ops.reduce_mean(values)  # sum / number of values
