"""Keras 3's losses: the per-sample functions (fastfit ops, with the C++ fused ops where Keras' formula
needs a clip, a power or a max per row) and the classes that reduce them. Each function is also a
metric's per-sample values (keras.metrics.MeanMetricWrapper)."""
import inspect
import warnings

import numpy as np

from .. import _core, ops
from ..backend import epsilon
from ..tensor import as_float, convert_to_tensor
from .loss import LossFunctionWrapper, squeeze_or_expand_to_same_rank, with_mask


def _pair(y_true, y_pred):
    """y_true and y_pred as float32, at the same rank."""
    return squeeze_or_expand_to_same_rank(as_float(y_true), as_float(y_pred))


def _clip(x, low, high):
    return ops.minimum(ops.maximum(x, low), high)


def _logits(y_pred, from_logits, name):
    """(what the crossentropy reads, whether it is logits). A softmax's or sigmoid's output stands for
    its logits, as in Keras' TensorFlow backend (which warns when from_logits=True is given too)."""
    if y_pred._logits is None:
        return y_pred, from_logits
    if from_logits:
        warnings.warn(f'"`{name}` received `from_logits=True`, but the `output` argument was produced by an '
                      f'activation and thus does not represent logits. Was this intended?', stacklevel=3)
    return y_pred._logits, True


def _class_axis_last(t, axis):
    """`t` with its class axis `axis` moved to the end (the fused ops reduce the last axis)."""
    axis = axis % t.ndim
    return t if axis == t.ndim - 1 else ops.transpose(t, [a for a in range(t.ndim) if a != axis] + [axis])


def _smooth(y_true, label_smoothing, num_classes):
    return y_true * (1.0 - label_smoothing) + label_smoothing / num_classes if label_smoothing else y_true


def _check_axis(axis):
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise ValueError(f"`axis` must be of type `int`. Received: axis={axis} of type {type(axis)}")


def mean_squared_error(y_true, y_pred):
    """mean(square(y_true - y_pred), axis=-1)."""
    return _core.apply("mean_squared_error", list(_pair(y_true, y_pred)))


def mean_absolute_error(y_true, y_pred):
    """mean(abs(y_true - y_pred), axis=-1)."""
    y_true, y_pred = _pair(y_true, y_pred)
    return ops.reduce_mean(ops.abs(y_true - y_pred), axis=-1)


def mean_absolute_percentage_error(y_true, y_pred):
    """100 * mean(abs((y_true - y_pred) / max(abs(y_true), epsilon)), axis=-1)."""
    y_true, y_pred = _pair(y_true, y_pred)
    diff = ops.abs((y_true - y_pred) / ops.maximum(ops.abs(y_true), epsilon()))
    return 100.0 * ops.reduce_mean(diff, axis=-1)


def mean_squared_logarithmic_error(y_true, y_pred):
    """mean(square(log(max(y_pred, eps) + 1) - log(max(y_true, eps) + 1)), axis=-1)."""
    y_true, y_pred = _pair(y_true, y_pred)
    first = ops.log(ops.maximum(y_pred, epsilon()) + 1.0)
    second = ops.log(ops.maximum(y_true, epsilon()) + 1.0)
    return ops.reduce_mean(ops.square(first - second), axis=-1)


def _l2_normalize(x, axis):
    """x * min(rsqrt(sum(x^2)), 1 / epsilon) along `axis`, as keras.ops.normalize."""
    inv_norm = 1.0 / ops.sqrt(ops.reduce_sum(ops.square(x), axis=axis, keepdims=True))
    return x * ops.minimum(inv_norm, 1.0 / epsilon())


def cosine_similarity(y_true, y_pred, axis=-1):
    """-sum(l2_normalize(y_true) * l2_normalize(y_pred), axis): -1 when they point the same way."""
    y_true, y_pred = _pair(y_true, y_pred)
    return -ops.reduce_sum(_l2_normalize(y_true, axis) * _l2_normalize(y_pred, axis), axis=axis)


def huber(y_true, y_pred, delta=1.0):
    """mean over the last axis of 0.5 e^2 where |e| <= delta, else delta |e| - 0.5 delta^2 (e = y_pred -
    y_true); computed as 0.5 q^2 + delta (|e| - q) with q = min(|e|, delta), the same function."""
    y_true, y_pred = _pair(y_true, y_pred)
    abs_error = ops.abs(y_pred - y_true)
    quadratic = ops.minimum(abs_error, float(delta))
    return ops.reduce_mean(0.5 * ops.square(quadratic) + float(delta) * (abs_error - quadratic), axis=-1)


def log_cosh(y_true, y_pred):
    """mean(log(cosh(y_pred - y_true)), axis=-1), as |x| + log(1 + exp(-2|x|)) - log(2): Keras'
    x + softplus(-2x) - log(2) without overflow."""
    y_true, y_pred = _pair(y_true, y_pred)
    x = ops.abs(y_pred - y_true)
    return ops.reduce_mean(x + ops.log(1.0 + ops.exp(-2.0 * x)) - float(np.log(2.0)), axis=-1)


def kl_divergence(y_true, y_pred):
    """sum(y_true * log(y_true / y_pred), axis=-1), both clipped to [epsilon, 1]."""
    y_true, y_pred = as_float(y_true), as_float(y_pred)
    y_true, y_pred = _clip(y_true, epsilon(), 1.0), _clip(y_pred, epsilon(), 1.0)
    return ops.reduce_sum(y_true * ops.log(y_true / y_pred), axis=-1)


def poisson(y_true, y_pred):
    """mean(y_pred - y_true * log(y_pred + epsilon), axis=-1)."""
    y_true, y_pred = as_float(y_true), as_float(y_pred)
    return ops.reduce_mean(y_pred - y_true * ops.log(y_pred + epsilon()), axis=-1)


def hinge(y_true, y_pred):
    """mean(max(1 - y_true * y_pred, 0), axis=-1); 0/1 labels become -1/1 when the whole batch is 0/1."""
    return ops.reduce_mean(_hinge_margins(y_true, y_pred), axis=-1)


def squared_hinge(y_true, y_pred):
    """mean(square(max(1 - y_true * y_pred, 0)), axis=-1), with hinge's label conversion."""
    return ops.reduce_mean(ops.square(_hinge_margins(y_true, y_pred)), axis=-1)


def _hinge_margins(y_true, y_pred):
    y_pred = as_float(y_pred)
    y_true = _core.apply("hinge_labels", [as_float(y_true)])
    return ops.maximum(1.0 - y_true * y_pred, 0.0)


def categorical_hinge(y_true, y_pred):
    """max(max((1 - y_true) * y_pred, axis=-1) - sum(y_true * y_pred, axis=-1) + 1, 0)."""
    return _core.apply("categorical_hinge", [as_float(y_true), as_float(y_pred)])


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """mean over `axis` of -(y log(p) + (1 - y) log(1 - p)), p clipped to [eps, 1 - eps] (from logits:
    the stable form). label_smoothing moves the targets towards 0.5."""
    y_pred = as_float(y_pred)
    y_true = _smooth(as_float(y_true), label_smoothing, 2.0)
    x, logits = _logits(y_pred, from_logits, "binary_crossentropy")
    return ops.reduce_mean(_core.apply("binary_crossentropy", [y_true, x], from_logits=logits), axis=axis)


def binary_focal_crossentropy(y_true, y_pred, apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False,
                              label_smoothing=0.0, axis=-1):
    """mean over `axis` of (1 - p_t)^gamma * binary_crossentropy, p_t the probability of the true class;
    times alpha (positives) or 1 - alpha (negatives) with apply_class_balancing."""
    y_pred = as_float(y_pred)
    y_true = _smooth(as_float(y_true), label_smoothing, 2.0)
    probs = ops.sigmoid(y_pred) if from_logits else y_pred
    x, logits = _logits(probs, False, "binary_focal_crossentropy")
    focal = _core.apply("binary_focal_crossentropy", [y_true, probs, x], from_logits=logits, gamma=float(gamma),
                        alpha=float(alpha), apply_class_balancing=bool(apply_class_balancing))
    return ops.reduce_mean(focal, axis=axis)


def _warn_one_class(name, y_pred):
    if y_pred.shape[-1] == 1:
        warnings.warn(f"In loss {name}, expected y_pred.shape to be (batch_size, num_classes) with num_classes > 1. "
                      f"Received: y_pred.shape={y_pred.shape}. Consider using 'binary_crossentropy' if you only have "
                      f"2 classes.", SyntaxWarning, stacklevel=3)


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """-sum(y_true * log(y_pred), axis) on y_pred normalised to sum 1 and clipped (from logits: the
    log-softmax). label_smoothing: y_true * (1 - s) + s / num_classes."""
    _check_axis(axis)
    y_pred, y_true = as_float(y_pred), as_float(y_true)
    _warn_one_class("categorical_crossentropy", y_pred)
    y_true = _smooth(y_true, label_smoothing, float(y_true.shape[-1]))
    x, logits = _logits(y_pred, from_logits, "categorical_crossentropy")
    return _core.apply("categorical_crossentropy", [_class_axis_last(y_true, axis), _class_axis_last(x, axis)],
                       from_logits=logits)


def categorical_focal_crossentropy(y_true, y_pred, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0,
                                   axis=-1):
    """sum over `axis` of alpha (1 - q)^gamma (-y_true log q), q = y_pred normalised to sum 1 and clipped
    (softmax first from logits)."""
    _check_axis(axis)
    y_pred, y_true = as_float(y_pred), as_float(y_true)
    _warn_one_class("categorical_focal_crossentropy", y_pred)
    y_true = _smooth(y_true, label_smoothing, float(y_true.shape[-1]))
    return _core.apply("categorical_focal_crossentropy", [_class_axis_last(y_true, axis), _class_axis_last(y_pred, axis)],
                       from_logits=bool(from_logits), gamma=float(gamma), alpha=float(alpha))


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None, axis=-1):
    """Crossentropy between integer labels (..., ) or (..., 1) and class scores (..., C). Samples
    labelled `ignore_class` lose 0 and are masked out of the reduction."""
    y_true, y_pred = convert_to_tensor(y_true), as_float(y_pred)
    if axis not in (-1, y_pred.ndim - 1):
        raise ValueError(f"Only axis=-1 is currently supported. Received: axis={axis}")
    x, logits = _logits(y_pred, from_logits, "sparse_categorical_crossentropy")
    if ignore_class is None:
        return _core.apply("sparse_categorical_crossentropy", [y_true, x], from_logits=logits)
    values = _core.apply("sparse_categorical_crossentropy", [y_true, x], from_logits=logits,
                         ignore_class=int(ignore_class))
    return with_mask(values, ops.reshape(ops.not_equal(y_true, ignore_class), values.shape))


class _Builtin(LossFunctionWrapper):
    """A built-in loss: its function's keyword arguments are attributes; its config lists those Keras'
    does (`_config`)."""

    _config = ()

    def __init__(self, fn, reduction, name, dtype, **kwargs):
        super().__init__(fn, reduction, name, dtype, **kwargs)
        self.__dict__.update(kwargs)

    def get_config(self):
        """Keras' keys (`_config`), and any other argument not at its default: Keras leaves some out
        (Huber's delta), which would reload a different loss."""
        defaults = {k: p.default for k, p in inspect.signature(type(self).__init__).parameters.items()}
        changed = {k: v for k, v in self._fn_kwargs.items() if k not in self._config and v != defaults.get(k, v)}
        return {"name": self.name, "reduction": self.reduction, **{k: self._fn_kwargs[k] for k in self._config},
                **changed}


class MeanSquaredError(_Builtin):
    """mean(square(y_true - y_pred)) over the last axis, then the reduction."""

    def __init__(self, reduction="sum_over_batch_size", name="mean_squared_error", dtype=None):
        super().__init__(mean_squared_error, reduction, name, dtype)


class MeanAbsoluteError(_Builtin):
    """mean(abs(y_true - y_pred)) over the last axis, then the reduction."""

    def __init__(self, reduction="sum_over_batch_size", name="mean_absolute_error", dtype=None):
        super().__init__(mean_absolute_error, reduction, name, dtype)


class MeanAbsolutePercentageError(_Builtin):
    """100 * mean(abs((y_true - y_pred) / y_true)) over the last axis, then the reduction."""

    def __init__(self, reduction="sum_over_batch_size", name="mean_absolute_percentage_error", dtype=None):
        super().__init__(mean_absolute_percentage_error, reduction, name, dtype)


class MeanSquaredLogarithmicError(_Builtin):
    """mean(square(log(y_true + 1) - log(y_pred + 1))) over the last axis, then the reduction."""

    def __init__(self, reduction="sum_over_batch_size", name="mean_squared_logarithmic_error", dtype=None):
        super().__init__(mean_squared_logarithmic_error, reduction, name, dtype)


class CosineSimilarity(_Builtin):
    """-sum(l2_norm(y_true) * l2_norm(y_pred)) over `axis`, then the reduction."""

    def __init__(self, axis=-1, reduction="sum_over_batch_size", name="cosine_similarity", dtype=None):
        super().__init__(cosine_similarity, reduction, name, dtype, axis=axis)


class Huber(_Builtin):
    """Quadratic for errors up to `delta`, linear beyond; mean over the last axis."""

    def __init__(self, delta=1.0, reduction="sum_over_batch_size", name="huber_loss", dtype=None):
        super().__init__(huber, reduction, name, dtype, delta=delta)


class LogCosh(_Builtin):
    """mean(log(cosh(y_pred - y_true))) over the last axis, then the reduction."""

    def __init__(self, reduction="sum_over_batch_size", name="log_cosh", dtype=None):
        super().__init__(log_cosh, reduction, name, dtype)


class Hinge(_Builtin):
    """mean(max(1 - y_true * y_pred, 0)); labels -1/1 (or 0/1, converted)."""

    def __init__(self, reduction="sum_over_batch_size", name="hinge", dtype=None):
        super().__init__(hinge, reduction, name, dtype)


class SquaredHinge(_Builtin):
    """mean(square(max(1 - y_true * y_pred, 0))); labels -1/1 (or 0/1, converted)."""

    def __init__(self, reduction="sum_over_batch_size", name="squared_hinge", dtype=None):
        super().__init__(squared_hinge, reduction, name, dtype)


class CategoricalHinge(_Builtin):
    """max(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0) per sample."""

    def __init__(self, reduction="sum_over_batch_size", name="categorical_hinge", dtype=None):
        super().__init__(categorical_hinge, reduction, name, dtype)


class KLDivergence(_Builtin):
    """sum(y_true * log(y_true / y_pred)) over the last axis, then the reduction."""

    def __init__(self, reduction="sum_over_batch_size", name="kl_divergence", dtype=None):
        super().__init__(kl_divergence, reduction, name, dtype)


class Poisson(_Builtin):
    """mean(y_pred - y_true * log(y_pred)) over the last axis, then the reduction."""

    def __init__(self, reduction="sum_over_batch_size", name="poisson", dtype=None):
        super().__init__(poisson, reduction, name, dtype)


class BinaryCrossentropy(_Builtin):
    """Crossentropy between 0/1 (or soft) targets and probabilities (or logits), mean over `axis`."""

    _config = ("from_logits", "label_smoothing", "axis")

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1, reduction="sum_over_batch_size",
                 name="binary_crossentropy", dtype=None):
        super().__init__(binary_crossentropy, reduction, name, dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)


class BinaryFocalCrossentropy(_Builtin):
    """Binary crossentropy down-weighting easy examples by (1 - p_t)^gamma (Lin et al., 2018)."""

    _config = ("apply_class_balancing", "alpha", "gamma", "from_logits", "label_smoothing", "axis")

    def __init__(self, apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0,
                 axis=-1, reduction="sum_over_batch_size", name="binary_focal_crossentropy", dtype=None):
        super().__init__(binary_focal_crossentropy, reduction, name, dtype,
                         apply_class_balancing=apply_class_balancing, alpha=alpha, gamma=gamma,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)


class CategoricalCrossentropy(_Builtin):
    """Crossentropy between one-hot (or soft) targets and class scores along `axis`."""

    _config = ("from_logits", "label_smoothing", "axis")

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1, reduction="sum_over_batch_size",
                 name="categorical_crossentropy", dtype=None):
        super().__init__(categorical_crossentropy, reduction, name, dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)


class CategoricalFocalCrossentropy(_Builtin):
    """Categorical crossentropy down-weighting easy examples by alpha (1 - q)^gamma."""

    _config = ("alpha", "gamma", "from_logits", "label_smoothing", "axis")

    def __init__(self, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name="categorical_focal_crossentropy", dtype=None):
        super().__init__(categorical_focal_crossentropy, reduction, name, dtype, alpha=alpha, gamma=gamma,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)


class SparseCategoricalCrossentropy(_Builtin):
    """Crossentropy between integer labels (B,) or (B, 1) and class scores (B, C).

    >>> SparseCategoricalCrossentropy()([1, 2], [[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]]).numpy()  # 1.177
    """

    sparse_labels = True
    _config = ("from_logits", "ignore_class")  # as Keras': not axis

    def __init__(self, from_logits=False, ignore_class=None, reduction="sum_over_batch_size", axis=-1,
                 name="sparse_categorical_crossentropy", dtype=None):
        super().__init__(sparse_categorical_crossentropy, reduction, name, dtype, from_logits=from_logits,
                         ignore_class=ignore_class, axis=axis)
