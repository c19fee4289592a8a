"""Stateful metrics. Each built-in keeps its (total, count) in a C++ accumulator, which fit and
evaluate update on the hot path; Python only reads `result()`. A user's Metric subclass keeps its
state in variables made by `add_weight` and updates them with fastfit ops (`assign_add`): fit traces
its `update_state` into the compiled program like the model, so it runs on the hot path too."""
import numpy as np

from . import _core, _tracing, initializers
from .backend import snake_case
from .tensor import Tensor, Variable, as_float, convert_to_tensor


class Metric:
    """Base class: `update_state(y_true, y_pred, sample_weight=None)`, `result()`, `reset_state()`
    (also spelled `reset_states`, as TF 2 does).

    >>> m = SparseCategoricalAccuracy()
    >>> m.update_state([1, 0], [[0.1, 0.9], [0.2, 0.8]])
    >>> float(m.result())
    0.5

    Subclass it as the Keras guide does: make state with `add_weight`, update it in `update_state`
    with tf ops and `assign_add`, return it from `result`.
    """

    _kind = None        # the C++ accumulator kind of a built-in metric (None: the subclass's own code)
    _threshold = 0.5

    def __init__(self, name=None, dtype=None):
        if getattr(dtype, "name", dtype) not in (None, "float32"):
            raise NotImplementedError(f"{type(self).__name__}: dtype {dtype!r} is not supported yet (float32 only)")
        self.name = name or snake_case(type(self).__name__)
        self._state = _core.MetricState()
        self._variables = []

    def add_weight(self, name=None, shape=(), initializer="zeros", dtype=None, aggregation="sum",
                   synchronization="auto"):
        """A non-trainable Variable holding part of the metric's state (reset to its initial value by
        the default `reset_state`)."""
        dtype = np.dtype(getattr(dtype, "name", dtype) or "float32")
        if dtype not in (np.float32, np.int32):
            raise NotImplementedError(f"Metric.add_weight: dtype {dtype} is not supported yet (float32 or int32)")
        shape = tuple(int(d) for d in (shape or ()))
        init = initializers.get(initializer)
        v = Variable(np.asarray(init(shape), dtype).reshape(shape), trainable=False, name=name or "variable", dtype=dtype)
        v.path = f"{self.name}/{v.name}"
        self._variables.append((v, init))
        return v

    @property
    def variables(self):
        return [v for v, _ in self._variables]

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Folds a batch in; with `sample_weight` (one weight per sample) each sample counts with its
        weight: the result is sum(w * value) / sum(w)."""
        if self._kind is None:
            raise NotImplementedError(f"{type(self).__name__} must implement update_state")
        _fold(self, _tensor(y_true), _tensor(y_pred), _weights(sample_weight))

    def result(self):
        if self._kind is None:
            raise NotImplementedError(f"{type(self).__name__} must implement result")
        state = _tracing.current()
        if state is not None:
            state.note_result(self)
        return convert_to_tensor(np.float32(self._state.result()))

    def reset_state(self):
        """Back to the initial state: what the start of each epoch and of evaluate does."""
        if type(self).reset_states is not Metric.reset_states:  # a subclass written with the TF 2 name
            return self.reset_states()
        self._state.reset()
        for v, init in self._variables:
            v.assign(np.asarray(init(tuple(v.shape)), v.numpy().dtype).reshape(v.shape))

    def reset_states(self):
        """The TF 2 spelling of `reset_state`, which the guide uses."""
        if type(self).reset_state is not Metric.reset_state:
            return self.reset_state()
        Metric.reset_state(self)

    def __call__(self, *args, **kwargs):
        self.update_state(*args, **kwargs)
        return self.result()

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


def _tensor(x):
    return x if isinstance(x, Tensor) else convert_to_tensor(np.asarray(x))


def _fold(metric, y_true, y_pred, weights):
    """Folds a batch into a built-in metric's C++ state (a compiled tf.function step replays it)."""
    state = _tracing.current()
    if state is not None:
        state.note_metric(metric, y_true, y_pred, weights)
    _core.metric_update(metric._kind, y_true, y_pred, metric._state, metric._threshold, weights)


def _weights(sample_weight):
    """Sample weights as a float32 tensor of one weight per sample ((n, 1) squeezed), or None."""
    if sample_weight is None:
        return None
    if isinstance(sample_weight, Tensor):  # with tensor ops: a traced step keeps them
        from .ops import reshape
        w = sample_weight if sample_weight.dtype_name == "float32" else as_float(sample_weight)
        return reshape(w, [w.shape[0]]) if w.ndim == 2 and w.shape[1] == 1 else w
    w = np.asarray(sample_weight, np.float32)
    if w.ndim == 2 and w.shape[1] == 1:
        w = w[:, 0]
    return convert_to_tensor(np.ascontiguousarray(w))


class Mean(Metric):
    """Running mean of the values given to `update_state(values)`."""

    _kind = "mean"

    def update_state(self, values, sample_weight=None):
        v = _tensor(values)
        _fold(self, v, v, _weights(sample_weight))


class ValueMean(Metric):
    """The running mean of values, kept in variables and updated with fastfit ops, so a traced call
    (fit's program) updates it: what `Layer.add_metric` logs."""

    def __init__(self, name=None, dtype=None):
        super().__init__(name, dtype)
        self.total = self.add_weight("total")
        self.count = self.add_weight("count")

    def update_state(self, values, sample_weight=None):
        from . import ops
        if sample_weight is not None:
            raise NotImplementedError("add_metric: sample weights are not supported")
        v = values if isinstance(values, Tensor) else convert_to_tensor(np.asarray(values, np.float32))
        self.total.assign_add(ops.reduce_sum(v))
        self.count.assign_add(float(max(v.size, 1)))

    def result(self):
        from . import ops
        return ops.divide(self.total, ops.maximum(self.count, 1.0))  # 0 before any update, as Keras


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
