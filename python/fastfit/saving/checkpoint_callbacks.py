"""ModelCheckpoint and BackupAndRestore: the callbacks that write files during fit (atomically, through
the savers in this package)."""
import json
import os
import random
import shutil
import warnings

import numpy as np

from .. import backend
from ..callbacks import Callback
from ..callbacks.monitor_callback import monitor_direction
from .atomic import atomic_copy, atomic_path
from .weights_h5 import h5py_module, read_weights, write_weights


def _check_save_freq(save_freq):
    if save_freq != "epoch" and (isinstance(save_freq, bool) or not isinstance(save_freq, int) or save_freq < 1):
        raise ValueError(f"Unrecognized save_freq: {save_freq}. Expected save_freq are 'epoch' or integer values")


class _BatchCounter:
    """Counts the batches fit reports (also when it reports only every few) and says when another
    `every` have passed, as Keras' `_should_save_on_batch` does."""

    def __init__(self, every):
        self.every, self.since, self.last = every, 0, None

    def due(self, batch):
        self.since += batch + 1 if self.last is None or batch <= self.last else batch - self.last
        self.last = batch
        if self.since >= self.every:
            self.since = 0
            return True
        return False


class ModelCheckpoint(Callback):
    """Saves the model (or its weights) during fit.

    >>> keras.callbacks.ModelCheckpoint("ckpt/model_{epoch:02d}-{val_loss:.2f}.keras", save_best_only=True)

    Args:
        filepath: where to save: `.keras` (or a Keras 2 `.h5`) for the whole model, `.weights.h5` with
            `save_weights_only=True`. It may hold `{epoch}` (1-based), `{batch}` (with an integer
            save_freq) and any log name (`{val_loss:.2f}`), filled in at each save.
        monitor: the log `save_best_only` compares, e.g. "val_loss" or "val_accuracy".
        verbose: 1 prints a line at each save (and at each epoch that did not improve).
        save_best_only: save only when `monitor` improved on the best value so far.
        save_weights_only: save the weights (`model.save_weights`) rather than the whole model.
        mode: "min", "max", or "auto" (a loss goes down; a metric goes its known way).
        save_freq: "epoch", or an integer: save every that many batches.
        initial_value_threshold: the value `monitor` must first beat (with save_best_only).

    Each save is atomic: a crash during it leaves the previous file in place.
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False, save_weights_only=False,
                 mode="auto", save_freq="epoch", initial_value_threshold=None):
        super().__init__()
        if mode not in ("auto", "min", "max"):
            warnings.warn(f"ModelCheckpoint mode '{mode}' is unknown, fallback to auto mode.", stacklevel=2)
            mode = "auto"
        _check_save_freq(save_freq)
        self.filepath = os.fspath(filepath)
        if save_weights_only and not self.filepath.endswith(".weights.h5"):
            raise ValueError("When using `save_weights_only=True` in `ModelCheckpoint`, the filepath provided must "
                             f"end in `.weights.h5` (Keras weights format). Received: filepath={self.filepath}")
        if not save_weights_only and not self.filepath.endswith((".keras", ".h5")):
            raise ValueError(f"The filepath provided must end in `.keras` (Keras model format). Received: "
                             f"filepath={self.filepath}")
        self.monitor, self.mode, self.verbose = monitor, mode, verbose
        self.save_best_only, self.save_weights_only, self.save_freq = save_best_only, save_weights_only, save_freq
        self.best = initial_value_threshold
        self.monitor_op = None
        self._counter = _BatchCounter(save_freq) if save_freq != "epoch" else None
        self._current_epoch = 0

    def _needs_batch_hooks(self, mode):
        """Python sees each batch only when saving every few batches."""
        return mode == "train" and self._counter is not None


    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self._counter is not None and self._counter.due(batch):
            self._save(self._current_epoch, batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self._counter is None:
            self._save(epoch, None, logs)

    def _should_save(self, epoch, logs, filepath):
        if not self.save_best_only:
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: saving model to {filepath}")
            return True
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Can save best model only with {self.monitor} available.", stacklevel=3)
            return True
        if np.ndim(current) > 0:
            warnings.warn(f"Can save best model only when `monitor` is a scalar value. Received: {current}. Falling "
                          "back to `save_best_only=False`.", stacklevel=3)
            return True
        if self.monitor_op is None:
            self.monitor_op = monitor_direction("ModelCheckpoint", self.monitor, self.mode, self.model)
        best = "None" if self.best is None else f"{self.best:.5f}"
        if self.best is None or self.monitor_op(current, self.best):
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {best} to {current:.5f}, saving model to "
                      f"{filepath}")
            self.best = current
            return True
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best}")
        return False

    def _file_path(self, epoch, batch, logs):
        try:
            if batch is None or "batch" in logs:
                return self.filepath.format(epoch=epoch + 1, **logs)
            return self.filepath.format(epoch=epoch + 1, batch=batch + 1, **logs)
        except KeyError as e:
            raise KeyError(f'Failed to format this callback filepath: "{self.filepath}". Reason: {e}') from None

    def _save(self, epoch, batch, logs):
        logs = logs or {}
        filepath = self._file_path(epoch, batch, logs)
        if os.path.isdir(filepath):
            raise IOError(f"Please specify a non-directory filepath for ModelCheckpoint. Filepath used is an existing "
                          f"directory: {filepath}")
        if not self._should_save(epoch, logs, filepath):
            return
        if self.save_weights_only:
            self.model.save_weights(filepath, overwrite=True)
        else:
            self.model.save(filepath, overwrite=True)
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: finished saving model to {filepath}")


class BackupAndRestore(Callback):
    """Backs up the training state during fit, so that a fit interrupted (an exception, a kill, a
    preempted machine) and started again with the same arguments continues where the backup was
    taken, and ends bit-identical to an uninterrupted run.

    The backup, `<backup_dir>/latest.weights.h5` (one file, written atomically), holds the weights, the
    optimizer state, the random-generator states of Dropout-like layers, and the training state: the
    epoch and batch reached, that epoch's shuffle seed, the metrics accumulated so far in the epoch, and
    the global random generators (fastfit's, NumPy's and Python's, which `keras.utils.set_random_seed`
    seeds).

    >>> callback = keras.callbacks.BackupAndRestore(backup_dir="/tmp/backup")
    >>> model.fit(x, y, epochs=10, callbacks=[callback])  # run again after a crash: it resumes

    Args:
        backup_dir: the folder for the backup (used by this callback alone).
        save_freq: "epoch" (back up at the end of each epoch), or an integer: every that many batches
            (a resumed run then continues inside the epoch).
        double_checkpoint: also keep the previous backup (`latest.weights.h5.bkp`), restored if the
            latest cannot be read (a damaged disk).
        delete_checkpoint: delete the backup folder when fit ends normally.
    """

    def __init__(self, backup_dir, save_freq="epoch", double_checkpoint=False, delete_checkpoint=True):
        super().__init__()
        if not backup_dir:
            raise ValueError("Empty `backup_dir` argument passed")
        if save_freq is False:
            raise NotImplementedError("BackupAndRestore: `save_freq=False` (preemption checkpointing only) is not "
                                      "supported: fastfit has no preemption checkpointing")
        try:
            _check_save_freq(save_freq)
        except ValueError:
            raise ValueError(f"Invalid value for argument `save_freq`. Received: save_freq={save_freq}. Expected "
                             "either 'epoch' or an integer value.") from None
        self.backup_dir, self.save_freq = os.fspath(backup_dir), save_freq
        self.double_checkpoint, self.delete_checkpoint = double_checkpoint, delete_checkpoint
        self._weights_path = os.path.join(self.backup_dir, "latest.weights.h5")
        self._prev_weights_path = self._weights_path + ".bkp"
        self._counter = _BatchCounter(save_freq) if save_freq != "epoch" else None
        self._current_epoch = 0

    def _needs_batch_hooks(self, mode):
        """Python sees each batch only when backing up every few batches."""
        return mode == "train" and self._counter is not None


    def on_train_begin(self, logs=None):
        if not self.model.built:
            raise ValueError("To use the BackupAndRestore callback, your model must be built before you call "
                             f"`fit()`. Model {self.model.name} is unbuilt. You can build it beforehand by calling it "
                             "on a batch of data.")
        if not os.path.exists(self._weights_path):
            return
        try:
            self._restore(self._weights_path)
        except (OSError, ValueError, KeyError) as e:
            if not os.path.exists(self._prev_weights_path):
                raise
            warnings.warn(f"BackupAndRestore: the latest backup cannot be read ({e}); restoring the previous one.",
                          stacklevel=2)
            atomic_copy(self._prev_weights_path, self._weights_path)
            self._restore(self._weights_path)

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self._counter is not None and self._counter.due(batch):
            self._backup(self._current_epoch, batch + 1)

    def on_epoch_end(self, epoch, logs=None):
        if self._counter is None:
            self._backup(epoch + 1, 0)

    def on_train_end(self, logs=None):
        if self.delete_checkpoint and os.path.exists(self.backup_dir):
            shutil.rmtree(self.backup_dir)

    def _backup(self, epoch, batch):
        """Writes the training state after `batch` batches of epoch `epoch` (0: at its start)."""
        from ..models.resume import ResumePoint
        h5py = h5py_module()
        if self.double_checkpoint and os.path.exists(self._weights_path):
            atomic_copy(self._weights_path, self._prev_weights_path)
        state = {"epoch": epoch, "batch": batch, "shuffle_seed": getattr(self.model, "_epoch_seed", None),
                 "random": _random_state(),
                 "metrics": ResumePoint.save_metrics(self.model) if batch else None}
        with atomic_path(self._weights_path) as tmp:
            with h5py.File(tmp, "w") as h5:
                write_weights(self.model, h5)
                h5.attrs["training_state"] = json.dumps(state)

    def _restore(self, path):
        from ..models.resume import ResumePoint
        h5py = h5py_module()
        try:
            h5 = h5py.File(path, "r")
        except OSError as e:
            raise OSError(f"Cannot read the backup '{path}': {e}") from None
        with h5:
            if "training_state" not in h5.attrs:
                raise ValueError(f"'{path}' is not a BackupAndRestore backup of fastfit (no training state)")
            state = json.loads(h5.attrs["training_state"])
            read_weights(self.model, h5, path)
        _set_random_state(state["random"])
        self.model._resume = ResumePoint(state["epoch"], state["batch"], state["shuffle_seed"], state["metrics"])


def _random_state():
    """The global generators' states (fastfit's, NumPy's legacy one, Python's), JSON-able."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    version, internal, gauss_next = random.getstate()
    return {"fastfit": backend.rng().bit_generator.state, "numpy": [kind, keys.tolist(), pos, has_gauss, gauss],
            "python": [version, list(internal), gauss_next]}


def _set_random_state(state):
    backend.rng().bit_generator.state = state["fastfit"]
    kind, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, np.array(keys, np.uint32), pos, has_gauss, gauss))
    version, internal, gauss_next = state["python"]
    random.setstate((version, tuple(internal), gauss_next))
