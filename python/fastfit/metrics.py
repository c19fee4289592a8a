"""Stateful metrics. Each built-in keeps its (total, count) in a C++ accumulator, which fit and
evaluate update on the hot path; Python only reads `result()`."""
import numpy as np

from . import _core
from .backend import snake_case
from .tensor import Tensor, convert_to_tensor


class Metric:
    """Base class: `update_state(y_true, y_pred)`, `result()`, `reset_state()`.

    >>> m = SparseCategoricalAccuracy()
    >>> m.update_state([1, 0], [[0.1, 0.9], [0.2, 0.8]])
    >>> float(m.result())
    0.5
    """

    _kind = None        # the C++ accumulator kind
    _threshold = 0.5

    def __init__(self, name=None, dtype=None):
        if getattr(dtype, "name", dtype) not in (None, "float32"):
            raise NotImplementedError(f"{type(self).__name__}: dtype {dtype!r} is not supported yet (float32 only)")
        self.name = name or snake_case(type(self).__name__)
        self._state = _core.MetricState()

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Folds a batch in; with `sample_weight` (one weight per sample) each sample counts with its
        weight: the result is sum(w * value) / sum(w)."""
        _core.metric_update(self._kind, _tensor(y_true), _tensor(y_pred), self._state, self._threshold,
                            _weights(sample_weight))

    def result(self):
        return convert_to_tensor(np.float32(self._state.result()))

    def reset_state(self):
        self._state.reset()

    reset_states = reset_state  # the TF 2 spelling the guide uses

    def __call__(self, *args, **kwargs):
        self.update_state(*args, **kwargs)
        return self.result()

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


def _tensor(x):
    return x if isinstance(x, Tensor) else convert_to_tensor(np.asarray(x))


def _weights(sample_weight):
    """Sample weights as a float32 tensor of one weight per sample ((n, 1) squeezed), or None."""
    if sample_weight is None:
        return None
    w = np.asarray(sample_weight, np.float32)
    if w.ndim == 2 and w.shape[1] == 1:
        w = w[:, 0]
    return convert_to_tensor(np.ascontiguousarray(w))


class Mean(Metric):
    """Running mean of the values given to `update_state(values)`."""

    _kind = "mean"

    def update_state(self, values, sample_weight=None):
        v = _tensor(values)
        _core.metric_update("mean", v, v, self._state, 0.5, _weights(sample_weight))


class SparseCategoricalAccuracy(Metric):
    """How often the argmax of y_pred (B, C) equals the integer label y_true (B,) or (B, 1)."""

    _kind = "sparse_categorical_accuracy"


class CategoricalAccuracy(Metric):
    """How often argmax(y_pred) equals argmax(y_true) for one-hot labels."""

    _kind = "categorical_accuracy"


class Accuracy(Metric):
    """How often y_pred equals y_true, element by element."""

    _kind = "accuracy"


class BinaryAccuracy(Metric):
    """How often (y_pred > threshold) equals y_true."""

    _kind = "binary_accuracy"

    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        super().__init__(name, dtype)
        self._threshold = float(threshold)


class MeanSquaredError(Metric):
    """Running mean of mean((y_pred - y_true)^2, axis=-1)."""

    _kind = "mean_squared_error"


_BY_NAME = {"sparse_categorical_accuracy": SparseCategoricalAccuracy, "categorical_accuracy": CategoricalAccuracy,
            "binary_accuracy": BinaryAccuracy, "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError}
_ACCURACY = ("accuracy", "acc")


def get(identifier, y_true_shape=None, y_pred_shape=None, loss=None):
    """A Metric from a name or object. 'accuracy' picks binary, sparse or categorical accuracy from the
    shapes of the targets and predictions and the loss, as Keras does, and keeps the name 'accuracy'."""
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    if isinstance(identifier, str):
        if identifier in _ACCURACY:
            from . import losses
            if y_pred_shape is not None and y_pred_shape[-1] == 1:
                cls = BinaryAccuracy
            elif isinstance(loss, losses.SparseCategoricalCrossentropy) or (
                    y_true_shape is not None and y_pred_shape is not None and
                    (len(y_true_shape) < len(y_pred_shape) or y_true_shape[-1] == 1)):
                cls = SparseCategoricalAccuracy
            else:
                cls = CategoricalAccuracy
            return cls(name=identifier)
        if identifier not in _BY_NAME:
            raise ValueError(f"Unknown metric: '{identifier}'. Valid names: {sorted(list(_BY_NAME) + list(_ACCURACY))}")
        return _BY_NAME[identifier](name=identifier)
    raise TypeError(f"metric must be a string or a Metric, got {type(identifier).__name__}")
