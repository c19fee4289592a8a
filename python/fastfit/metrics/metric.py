"""Stateful metrics. Each built-in folds batches into a C++ accumulator (`_kind`, configured by
`_config()`), which fit and evaluate update on the hot path; Python only reads `result()`."""
import numpy as np

from .. import _core
from ..backend import snake_case, unique_name
from ..losses.loss import apply_mask
from ..tensor import Tensor, convert_to_tensor


class Metric:
    """Base class: `update_state(y_true, y_pred)`, `result()`, `reset_state()`.

    >>> m = SparseCategoricalAccuracy()
    >>> m.update_state([1, 0], [[0.1, 0.9], [0.2, 0.8]])
    >>> float(m.result())
    0.5
    """

    _kind = None  # the C++ accumulator kind

    def __init__(self, name=None, dtype=None):
        if getattr(dtype, "name", dtype) not in (None, "float32"):
            raise NotImplementedError(f"{type(self).__name__}: dtype {dtype!r} is not supported yet (float32 only)")
        self.name = name or unique_name(snake_case(type(self).__name__))
        self._state = _core.MetricState()

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Folds a batch in; with `sample_weight` (a scalar, one weight per sample or per element) each
        value counts with its weight."""
        self._fold(self._state, _tensor(y_true), _tensor(y_pred), _weights(sample_weight))

    def result(self):
        return convert_to_tensor(np.asarray(self._accumulator.result(self._state), np.float32))

    def reset_state(self):
        self._state.reset()

    reset_states = reset_state  # the TF 2 spelling the guide uses

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
        """Folds a batch into `state`: this metric's own, or a program run's."""
        self._accumulator.update(*self._inputs(y_true, y_pred, sample_weight), state)


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
