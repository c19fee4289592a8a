"""Regression metrics: means of the loss functions' per-sample values (fastfit ops, traced into fit's
program like the model), the root mean squared error, and R2Score (train/class_metrics.cpp)."""
import warnings

from .. import losses, ops
from ..losses.loss import squeeze_or_expand_to_same_rank
from ..tensor import as_float
from .metric import MeanMetricWrapper, Metric


def cosine_similarity(y_true, y_pred, axis=-1):
    """sum(l2_normalize(y_true) * l2_normalize(y_pred), axis): 1 when they point the same way."""
    return -losses.cosine_similarity(y_true, y_pred, axis)


def _squared_error(y_true, y_pred):
    y_true, y_pred = squeeze_or_expand_to_same_rank(as_float(y_true), as_float(y_pred))
    return ops.square(y_pred - y_true)


class MeanSquaredError(MeanMetricWrapper):
    """Mean of mean_squared_error(y_true, y_pred)."""

    def __init__(self, name="mean_squared_error", dtype=None):
        super().__init__(losses.mean_squared_error, name, dtype)


class MeanAbsoluteError(MeanMetricWrapper):
    """Mean of mean_absolute_error(y_true, y_pred)."""

    def __init__(self, name="mean_absolute_error", dtype=None):
        super().__init__(losses.mean_absolute_error, name, dtype)


class MeanAbsolutePercentageError(MeanMetricWrapper):
    """Mean of mean_absolute_percentage_error(y_true, y_pred)."""

    def __init__(self, name="mean_absolute_percentage_error", dtype=None):
        super().__init__(losses.mean_absolute_percentage_error, name, dtype)


class MeanSquaredLogarithmicError(MeanMetricWrapper):
    """Mean of mean_squared_logarithmic_error(y_true, y_pred)."""

    def __init__(self, name="mean_squared_logarithmic_error", dtype=None):
        super().__init__(losses.mean_squared_logarithmic_error, name, dtype)


class RootMeanSquaredError(MeanMetricWrapper):
    """sqrt of the mean of square(y_pred - y_true)."""

    _direction = "down"
    _kind = "root_mean"

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(_squared_error, name, dtype)


class CosineSimilarity(MeanMetricWrapper):
    """Mean cosine similarity of y_true and y_pred along `axis`."""

    _direction = "up"

    def __init__(self, name="cosine_similarity", dtype=None, axis=-1):
        super().__init__(cosine_similarity, name, dtype, axis=axis)


class LogCoshError(MeanMetricWrapper):
    """Mean of log_cosh(y_true, y_pred)."""

    def __init__(self, name="logcosh", dtype=None):
        super().__init__(losses.log_cosh, name, dtype)


class R2Score(Metric):
    """Coefficient of determination, 1 - sum((y - p)^2) / sum((y - mean(y))^2) per output of (batch, outputs)
    data; class_aggregation "uniform_average", "variance_weighted_average" or None (per output).
    num_regressors > 0: the adjusted R2."""

    _direction = "up"
    _kind = "r2_score"

    def __init__(self, class_aggregation="uniform_average", num_regressors=0, name="r2_score", dtype=None):
        super().__init__(name, dtype)
        if class_aggregation not in (None, "uniform_average", "variance_weighted_average"):
            raise ValueError(f"Invalid value for argument `class_aggregation`. Expected one of (None, "
                             f"'uniform_average', 'variance_weighted_average'). Received: "
                             f"class_aggregation={class_aggregation}")
        if num_regressors < 0:
            raise ValueError(f"Invalid value for argument `num_regressors`. Expected a value >= 0. Received: "
                             f"num_regressors={num_regressors}")
        self.class_aggregation, self.num_regressors = class_aggregation, num_regressors

    def _config(self):
        return {"class_aggregation": self.class_aggregation or "none", "num_regressors": int(self.num_regressors)}

    def result(self):
        samples = self._state.acc[-1] if self._state.acc else 0.0
        if self.num_regressors > samples - 1:
            warnings.warn("More independent predictors than datapoints in adjusted R2 score. Falling back to "
                          "standard R2 score.", stacklevel=2)
        elif self.num_regressors and self.num_regressors == samples - 1:
            warnings.warn("Division by zero in Adjusted R2 score. Falling back to standard R2 score.", stacklevel=2)
        return super().result()

    def get_config(self):
        return {**super().get_config(), "class_aggregation": self.class_aggregation,
                "num_regressors": self.num_regressors}
