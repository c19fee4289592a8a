"""The Callback base class: every hook Keras 3 has, each a no-op until a subclass overrides it."""
import numbers

# The batch hooks of each loop. fit/evaluate/predict run stretches of batches in C++ and return to
# Python per batch only for a callback that needs one of these (see `Callback._needs_batch_hooks`).
_BATCH_HOOKS = {
    "train": ("on_train_batch_begin", "on_train_batch_end", "on_batch_begin", "on_batch_end"),
    "test": ("on_test_batch_begin", "on_test_batch_end"),
    "predict": ("on_predict_batch_begin", "on_predict_batch_end"),
}


class Callback:
    """Base class of callbacks: override the hooks you need.

    `self.model` is the model being trained, evaluated or predicted with; `self.params` holds
    `verbose`, `epochs` and `steps` (batches per epoch; None when unknown). Each hook's `logs` is a
    dict of floats: the running loss and metrics for batch hooks, the epoch's (with `val_` ones after
    validation) for `on_epoch_end`; `on_predict_batch_end` gets `{"outputs": ...}`.

    A callback that overrides a batch hook (`on_train_batch_end`, `on_batch_end`, ...) makes the loop
    return to Python after every batch (or every `steps_per_execution` batches); without one, the
    batches of an epoch run in C++ between returns.

    >>> class StopAt(Callback):
    ...     def on_epoch_end(self, epoch, logs=None):
    ...         if logs["loss"] < 0.2:
    ...             self.model.stop_training = True
    """

    def __init__(self):
        self.model = None
        self.params = {}

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def _needs_batch_hooks(self, mode):
        """Whether this callback must see every batch of `mode` ('train', 'test' or 'predict'): by
        default, when it overrides one of that loop's batch hooks (in its class, or per instance)."""
        return any(getattr(getattr(self, hook), "__func__", None) is not getattr(Callback, hook)
                   for hook in _BATCH_HOOKS[mode])

    def on_batch_begin(self, batch, logs=None):
        """The older name of `on_train_batch_begin`, called by its default."""

    def on_batch_end(self, batch, logs=None):
        """The older name of `on_train_batch_end`, called by its default."""

    def on_epoch_begin(self, epoch, logs=None):
        """At the start of epoch `epoch` (0-based) of fit."""

    def on_epoch_end(self, epoch, logs=None):
        """At the end of an epoch of fit, after validation: `logs` has the epoch's loss and metrics,
        and `val_` ones when the epoch validated."""

    def on_train_batch_begin(self, batch, logs=None):
        """Before training batch `batch` (0-based within the epoch)."""
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch, logs=None):
        """After training batch `batch`: `logs` has the running loss and metrics of the epoch."""
        self.on_batch_end(batch, logs=logs)

    def on_test_batch_begin(self, batch, logs=None):
        """Before a batch of evaluate (or of fit's validation)."""

    def on_test_batch_end(self, batch, logs=None):
        """After a batch of evaluate (or of fit's validation), with the running loss and metrics."""

    def on_predict_batch_begin(self, batch, logs=None):
        """Before a batch of predict."""

    def on_predict_batch_end(self, batch, logs=None):
        """After a batch of predict: `logs["outputs"]` holds the batch's outputs."""

    def on_train_begin(self, logs=None):
        """At the start of fit."""

    def on_train_end(self, logs=None):
        """At the end of fit: `logs` are the last epoch's."""

    def on_test_begin(self, logs=None):
        """At the start of evaluate (or of fit's validation)."""

    def on_test_end(self, logs=None):
        """At the end of evaluate (or of fit's validation), with its loss and metrics."""

    def on_predict_begin(self, logs=None):
        """At the start of predict."""

    def on_predict_end(self, logs=None):
        """At the end of predict."""


def check_count(owner, name, value):
    """`value` if it is an integer >= 0, else ValueError naming the argument."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"{owner}: `{name}` must be an integer >= 0, got {value!r}")
    return value


def check_number(owner, name, value, optional=False):
    """`value` if it is a real number (or None when optional), else TypeError naming the argument."""
    if (value is None and optional) or (isinstance(value, numbers.Real) and not isinstance(value, bool)):
        return value
    raise TypeError(f"{owner}: `{name}` must be a number{' or None' if optional else ''}, got {value!r}")
