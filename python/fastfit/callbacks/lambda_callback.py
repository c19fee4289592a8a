"""LambdaCallback: a callback made of plain functions."""
from .callback import Callback


class LambdaCallback(Callback):
    """Calls the functions given for the hooks: `on_epoch_begin(epoch, logs)`, `on_epoch_end(epoch,
    logs)`, `on_train_begin(logs)`, `on_train_end(logs)`, `on_train_batch_begin(batch, logs)`,
    `on_train_batch_end(batch, logs)`; any other hook (`on_test_batch_end=...`, ...) by keyword too.
    A batch function makes that loop return to Python per batch.

    >>> print_epoch = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: print(epoch, logs["loss"]))
    """

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None, on_train_end=None,
                 on_train_batch_begin=None, on_train_batch_end=None, **kwargs):
        super().__init__()
        given = dict(kwargs, on_epoch_begin=on_epoch_begin, on_epoch_end=on_epoch_end, on_train_begin=on_train_begin,
                     on_train_end=on_train_end, on_train_batch_begin=on_train_batch_begin,
                     on_train_batch_end=on_train_batch_end)
        for name, value in given.items():
            if name.startswith("on_") and value is not None and not callable(value):
                raise TypeError(f"LambdaCallback: `{name}` must be a function, got {value!r}")
            if value is not None or not name.startswith("on_"):
                setattr(self, name, value)
