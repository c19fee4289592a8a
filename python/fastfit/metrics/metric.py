"""Stateful metrics. Each built-in folds batches into a C++ accumulator (`_kind`, configured by
`_config()`), which fit and evaluate update on the hot path; Python only reads `result()`. A user's
Metric subclass keeps its state in variables made by `add_weight` and updates them with fastfit ops
(`assign_add`): fit traces its `update_state` into the compiled program like the model, so it runs on
the hot path too."""
import numpy as np

from .. import _core, _tracing, initializers
from ..backend import snake_case, unique_name
from ..losses.loss import apply_mask
from ..tensor import Tensor, Variable, convert_to_tensor


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

    _kind = None  # the C++ accumulator kind of a built-in metric (None: the subclass's own code)
    _direction = None  # "up" or "down": which way is better, as Keras' metrics say (callbacks' mode="auto")

    def __init__(self, name=None, dtype=None):
        if getattr(dtype, "name", dtype) not in (None, "float32"):
            raise NotImplementedError(f"{type(self).__name__}: dtype {dtype!r} is not supported yet (float32 only)")
        self.name = name or unique_name(snake_case(type(self).__name__))
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
        """Folds a batch in; with `sample_weight` (a scalar, one weight per sample or per element) each
        value counts with its weight."""
        if self._kind is None:
            raise NotImplementedError(f"{type(self).__name__} must implement update_state")
        self._fold(self._state, _tensor(y_true), _tensor(y_pred), _weights(sample_weight))

    def result(self):
        if self._kind is None:
            raise NotImplementedError(f"{type(self).__name__} must implement result")
        value = convert_to_tensor(np.asarray(self._accumulator.result(self._state), np.float32))
        state = _tracing.current()
        if state is not None:  # a traced call: the value is the state's now, not a function of the call
            state.note_result(self, value)
        return value

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

    def get_config(self):
        return {"name": self.name, "dtype": "float32"}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"

    # -- the C++ accumulator ----------------------------------------------------------------------
    @property
    def _compiled(self):
        """Whether fit binds this metric's accumulator into its program: a built-in whose update_state
        is the library's (a user's override runs as user code, traced like the model)."""
        return self._kind is not None and type(self).update_state.__module__.startswith("fastfit.")

    def _config(self):
        """The accumulator's attributes."""
        return {}

    @property
    def _accumulator(self):
        """The configured C++ accumulator, built on first use (subclasses finish their __init__ first)."""
        if "_acc" not in self.__dict__:
            self._acc = _core.Metric(self._kind, **self._config())
        return self._acc

    def _inputs(self, y_true, y_pred, sample_weight):
        """What the accumulator folds: (y_true, y_pred, sample weights or None). fit traces this into its
        program, so a metric computing per-sample values from fastfit ops runs on the hot path."""
        return y_true, y_pred, sample_weight

    def _fold(self, state, y_true, y_pred, sample_weight=None):
        """Folds a batch into `state`: this metric's own, or a program run's. (A traced tf.function step
        notes the update, to bind it into its program.)"""
        inputs = self._inputs(y_true, y_pred, sample_weight)
        tracing = _tracing.current()
        if tracing is not None:
            tracing.note_metric(self, state, *inputs)
        self._accumulator.update(*inputs, state)


def _tensor(x):
    return x if isinstance(x, Tensor) else convert_to_tensor(np.asarray(x))


def _weights(sample_weight):
    return None if sample_weight is None else convert_to_tensor(sample_weight, "float32")


class Mean(Metric):
    """Running (weighted) mean of the values given to `update_state(values, sample_weight=None)`:
    each sample's values are averaged, then the samples by their weights."""

    _kind = "mean"

    def __init__(self, name="mean", dtype=None):
        super().__init__(name, dtype)

    def update_state(self, values, sample_weight=None):
        values = _tensor(values)
        self._fold(self._state, values, values, _weights(sample_weight))


class Sum(Metric):
    """Running (weighted) sum of the values given to `update_state(values, sample_weight=None)`."""

    _kind = "sum"

    def __init__(self, name="sum", dtype=None):
        super().__init__(name, dtype)

    def update_state(self, values, sample_weight=None):
        values = _tensor(values)
        self._fold(self._state, values, values, _weights(sample_weight))


class MeanMetricWrapper(Mean):
    """The mean of fn(y_true, y_pred, **kwargs), a function of fastfit ops giving per-sample values (any
    loss function). With sample weights, a mask the function attaches (sparse crossentropy's
    ignore_class) drops values, as in Keras. Compiled into fit's program like the model."""

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        super().__init__(name, dtype)
        self._fn, self._fn_kwargs = fn, kwargs
        if fn in _loss_functions():  # the mean of a loss is better lower, as Keras marks it
            self._direction = "down"

    def update_state(self, y_true, y_pred, sample_weight=None):
        Metric.update_state(self, y_true, y_pred, sample_weight)

    def _inputs(self, y_true, y_pred, sample_weight):
        values = self._fn(y_true, y_pred, **self._fn_kwargs)
        if sample_weight is not None:  # as Keras' Mean, the mask applies to weighted values only
            sample_weight = apply_mask(sample_weight, getattr(values, "_keras_mask", None), reduction="sum")
        return values, values, sample_weight

    def get_config(self):
        config = {**super().get_config(), **self._fn_kwargs}
        return config if type(self) is not MeanMetricWrapper else {**config, "fn": self._fn.__name__}


def _loss_functions():
    from .. import losses
    return {v for v in losses.ALL_OBJECTS_DICT.values() if not isinstance(v, type)}


class ValueMean(Metric):
    """The running mean of values, kept in variables and updated with fastfit ops, so a traced call
    (fit's program) updates it: what `Layer.add_metric` logs."""

    def __init__(self, name=None, dtype=None):
        super().__init__(name, dtype)
        self.total = self.add_weight("total")
        self.count = self.add_weight("count")

    def update_state(self, values, sample_weight=None):
        from .. import ops
        if sample_weight is not None:
            raise NotImplementedError("add_metric: sample weights are not supported")
        v = values if isinstance(values, Tensor) else convert_to_tensor(np.asarray(values, np.float32))
        self.total.assign_add(ops.reduce_sum(v))
        self.count.assign_add(float(max(v.size, 1)))

    def result(self):
        from .. import ops
        return ops.divide(self.total, ops.maximum(self.count, 1.0))  # 0 before any update, as Keras
