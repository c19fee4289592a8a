"""CallbackList: the callbacks of one fit/evaluate/predict call, each hook fanned out to all of them."""
import numbers

import numpy as np

from .callback import Callback
from .history import History
from .progbar_logger import ProgbarLogger


def _flatten(callbacks):
    for cb in callbacks:
        if isinstance(cb, (list, tuple)):
            yield from _flatten(cb)
        else:
            yield cb


def _pythonify(logs):
    """A fresh dict of the logs, sorted by key, numbers as floats (nested dicts merged in), as Keras'
    pythonify_logs: every callback of one hook call sees this same dict."""
    out = {}
    for key, value in sorted((logs or {}).items()):
        if isinstance(value, dict):
            out.update(_pythonify(value))
            continue
        if isinstance(value, numbers.Number) or (isinstance(value, np.ndarray) and value.ndim == 0):
            value = float(value)  # a metric of several values stays an array
        out[key] = value
    return out


class CallbackList(Callback):
    """Calls each hook on every callback in order. `fit` adds a History (and, with `verbose`, a
    ProgbarLogger) unless the list has one; a CallbackList passed to fit/evaluate/predict is used as
    it is.

    >>> cbs = CallbackList([EarlyStopping(patience=2)], add_history=True, model=model, epochs=10,
    ...                    steps=100, verbose=0)
    >>> cbs.on_train_begin()
    """

    def __init__(self, callbacks=None, add_history=False, add_progbar=False, model=None, **params):
        super().__init__()
        self.callbacks = list(_flatten(callbacks or []))
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks must be keras.callbacks.Callback instances, got {type(cb).__name__}")
        self._history = next((cb for cb in self.callbacks if isinstance(cb, History)), None)
        if self._history is None and add_history:
            self._history = History()
            self.callbacks.append(self._history)
        if add_progbar and not any(isinstance(cb, ProgbarLogger) for cb in self.callbacks):
            self.callbacks.append(ProgbarLogger())
        self.set_model(model)
        self.set_params(params)

    def append(self, callback):
        """Adds a callback, given the list's model and params."""
        if not isinstance(callback, Callback):
            raise TypeError(f"callbacks must be keras.callbacks.Callback instances, got {type(callback).__name__}")
        self.callbacks.append(callback)
        if self.model is not None:
            callback.set_model(self.model)
        if self.params:
            callback.set_params(self.params)

    def set_model(self, model):
        if model is None:
            return
        super().set_model(model)
        if self._history is not None:
            model.history = self._history
        for cb in self.callbacks:
            cb.set_model(model)

    def set_params(self, params):
        self.params = params
        if params:
            for cb in self.callbacks:
                cb.set_params(params)

    def _needs_batch_hooks(self, mode):
        return any(cb._needs_batch_hooks(mode) for cb in self.callbacks)

    has_batch_hooks = _needs_batch_hooks


def _fan_out(hook, indexed):
    if indexed:
        def call(self, index, logs=None):
            logs = _pythonify(logs)
            for cb in self.callbacks:
                getattr(cb, hook)(index, logs)
    else:
        def call(self, logs=None):
            logs = _pythonify(logs)
            for cb in self.callbacks:
                getattr(cb, hook)(logs)
    call.__name__ = hook
    return call


for _hook in [name for name in vars(Callback) if name.startswith("on_")]:
    setattr(CallbackList, _hook, _fan_out(_hook, indexed="batch" in _hook or "epoch" in _hook))
