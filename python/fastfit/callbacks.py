"""Callbacks: the Keras hooks, History and the progress-bar logger.

fit/evaluate/predict run stretches of batches in C++; they return to Python per batch only when a
callback overrides a batch hook (then every batch hook sees every batch, as in Keras)."""
from .utils.progbar import Progbar

_BATCH_HOOKS = {
    "train": ("on_train_batch_begin", "on_train_batch_end", "on_batch_begin", "on_batch_end"),
    "test": ("on_test_batch_begin", "on_test_batch_end"),
    "predict": ("on_predict_batch_begin", "on_predict_batch_end"),
}


class Callback:
    """Base class: override any hook. `self.model` is the model being trained; `self.params` holds
    epochs, steps and verbose."""

    def __init__(self):
        self.model = None
        self.params = {}

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def on_train_begin(self, logs=None): pass
    def on_train_end(self, logs=None): pass
    def on_epoch_begin(self, epoch, logs=None): pass
    def on_epoch_end(self, epoch, logs=None): pass
    def on_train_batch_begin(self, batch, logs=None): self.on_batch_begin(batch, logs)
    def on_train_batch_end(self, batch, logs=None): self.on_batch_end(batch, logs)
    def on_batch_begin(self, batch, logs=None): pass
    def on_batch_end(self, batch, logs=None): pass
    def on_test_begin(self, logs=None): pass
    def on_test_end(self, logs=None): pass
    def on_test_batch_begin(self, batch, logs=None): pass
    def on_test_batch_end(self, batch, logs=None): pass
    def on_predict_begin(self, logs=None): pass
    def on_predict_end(self, logs=None): pass
    def on_predict_batch_begin(self, batch, logs=None): pass
    def on_predict_batch_end(self, batch, logs=None): pass

    def _overrides_batch_hooks(self, mode):
        return any(getattr(type(self), h) is not getattr(Callback, h) for h in _BATCH_HOOKS[mode])


class History(Callback):
    """Records epoch logs: `history.history['loss']`, `history.epoch`."""

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)


class ProgbarLogger(Callback):
    """Prints `Epoch i/n` and a Keras progress bar (verbose 1), or one line per epoch (verbose 2)."""

    def __init__(self, verbose=1):
        super().__init__()
        self.verbose = verbose
        self._bar = None
        self._seen = 0

    def _start(self, steps):
        self._bar = Progbar(steps, verbose=self.verbose)
        self._seen = 0

    def on_epoch_begin(self, epoch, logs=None):
        if self.params.get("epochs", 1) > 1 or self.verbose:
            print(f"Epoch {epoch + 1}/{self.params['epochs']}")
        self._start(self.params.get("steps"))

    def on_train_batch_end(self, batch, logs=None):
        self._seen = batch + 1
        self._bar.update(self._seen, list((logs or {}).items()), finalize=False)

    def on_epoch_end(self, epoch, logs=None):
        self._bar.update(self._seen, list((logs or {}).items()), finalize=True)

    def on_test_begin(self, logs=None):
        if not self.model or not getattr(self.model, "_in_fit", False):
            self._start(self.params.get("steps"))

    on_predict_begin = on_test_begin

    def on_test_batch_end(self, batch, logs=None):
        if not getattr(self.model, "_in_fit", False):
            self._seen = batch + 1
            self._bar.update(self._seen, list((logs or {}).items()), finalize=False)

    on_predict_batch_end = on_test_batch_end

    def on_test_end(self, logs=None):
        if not getattr(self.model, "_in_fit", False):
            self._bar.update(self._seen, list((logs or {}).items()), finalize=True)

    def on_predict_end(self, logs=None):
        self.on_test_end(None)


class CallbackList:
    """Fans each hook out to the callbacks; History and the progress bar are added as Keras does."""

    def __init__(self, callbacks=None, model=None, add_history=False, verbose=0, **params):
        self.callbacks = list(callbacks or [])
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks must be keras.callbacks.Callback instances, got {type(cb).__name__}")
        self._user = list(self.callbacks)
        if verbose:
            self.callbacks.append(ProgbarLogger(verbose))
        self.history = None
        if add_history:
            self.history = History()
            self.callbacks.append(self.history)
        for cb in self.callbacks:
            cb.set_model(model)
            cb.set_params(dict(params, verbose=verbose))

    def has_batch_hooks(self, mode):
        """Whether a user callback needs Python per batch (ours only need it every few hundred ms)."""
        return any(cb._overrides_batch_hooks(mode) for cb in self._user)

    def __getattr__(self, hook):
        if not hook.startswith("on_"):
            raise AttributeError(hook)

        def call(*args):
            for cb in self.callbacks:
                getattr(cb, hook)(*args)
        return call
from .saving.checkpoint_callbacks import BackupAndRestore, ModelCheckpoint  # noqa: E402  (saving/ owns them)
