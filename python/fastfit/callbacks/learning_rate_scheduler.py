"""LearningRateScheduler: sets the learning rate at the start of each epoch."""
import numpy as np

from .callback import Callback


class LearningRateScheduler(Callback):
    """At the start of each epoch, sets the optimizer's learning rate to `schedule(epoch, lr)` (or
    `schedule(epoch)` for a function of one argument); the C++ updates of that epoch use it.

    Args:
        schedule: a function of the epoch index (0-based) and the current rate, returning a float.
        verbose: 1 prints each rate set.

    Each epoch's logs get `learning_rate`.

    >>> def scheduler(epoch, lr):
    ...     return lr if epoch < 10 else lr * 0.9
    >>> model.fit(x, y, epochs=15, callbacks=[keras.callbacks.LearningRateScheduler(scheduler)])
    """

    def __init__(self, schedule, verbose=0):
        super().__init__()
        if not callable(schedule):
            raise TypeError(f"LearningRateScheduler: `schedule` must be a function of the epoch (and the rate), "
                            f"got {schedule!r}")
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = self.model.optimizer
        if not hasattr(optimizer, "learning_rate"):
            raise ValueError('Optimizer must have a "learning_rate" attribute.')
        try:
            learning_rate = self.schedule(epoch, float(np.asarray(optimizer.learning_rate)))
        except TypeError:  # a schedule of the epoch only
            learning_rate = self.schedule(epoch)
        if not isinstance(learning_rate, (float, np.float32, np.float64)):
            raise ValueError(f"The output of the `schedule` function should be a float. Got: {learning_rate}")
        optimizer.learning_rate = learning_rate
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {learning_rate}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(np.asarray(self.model.optimizer.learning_rate))
