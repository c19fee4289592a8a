"""ReduceLROnPlateau: lowers the learning rate when a monitored quantity stops improving."""
import warnings

import numpy as np

from .callback import check_count, check_number
from .monitor_callback import MonitorCallback


class ReduceLROnPlateau(MonitorCallback):
    """Multiplies the optimizer's learning rate by `factor` after `patience` epochs without improvement
    of `monitor`. The new rate takes effect in the next epoch's C++ updates.

    Args:
        monitor: the log to watch (default "val_loss").
        factor: the multiplier, below 1.
        patience: epochs without improvement before the rate is lowered.
        verbose: 1 prints each change.
        mode: "auto", "min" or "max" (see MonitorCallback).
        min_delta: a change smaller than this is no improvement.
        cooldown: epochs to wait after a change before counting again.
        min_lr: the rate never goes below this.

    Each epoch's logs get `learning_rate` (so History and CSVLogger after it record it, as in Keras).

    >>> reduce_lr = keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.2, patience=5, min_lr=0.001)
    >>> model.fit(x, y, validation_split=0.2, callbacks=[reduce_lr])
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto", min_delta=1e-4,
                 cooldown=0, min_lr=0.0):
        super().__init__(monitor, mode, min_delta=min_delta)
        check_number("ReduceLROnPlateau", "factor", factor)
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau does not support a factor >= 1.0. Received factor={factor}")
        self.factor = factor
        self.min_lr = check_number("ReduceLROnPlateau", "min_lr", min_lr)
        self.patience = check_count("ReduceLROnPlateau", "patience", patience)
        self.verbose = verbose
        self.cooldown = check_count("ReduceLROnPlateau", "cooldown", cooldown)
        self.cooldown_counter = 0
        self.wait = 0

    def on_train_begin(self, logs=None):
        self.best = None
        self.cooldown_counter = 0
        self.wait = 0

    def in_cooldown(self):
        return self.cooldown_counter > 0

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        logs = logs if logs is not None else {}
        optimizer = self.model.optimizer
        logs["learning_rate"] = float(np.asarray(optimizer.learning_rate))
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Learning rate reduction is conditioned on metric `{self.monitor}` which is not "
                          f"available. Available metrics are: {','.join(logs)}.", stacklevel=2)
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current, self.best):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience and self._reduce(optimizer, epoch):
                self.cooldown_counter = self.cooldown
                self.wait = 0

    def _reduce(self, optimizer, epoch):
        old_lr = float(np.asarray(optimizer.learning_rate))
        if not old_lr > np.float32(self.min_lr):
            return False
        new_lr = max(old_lr * self.factor, self.min_lr)
        optimizer.learning_rate = new_lr
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new_lr}.")
        return True
