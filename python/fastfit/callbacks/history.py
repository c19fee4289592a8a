"""History: what fit returns."""
from .callback import Callback


class History(Callback):
    """Records each epoch's logs: `history.history['loss']` (one value per epoch), `history.epoch`.
    fit adds one to every call and returns it (also as `model.history`).

    >>> history = model.fit(x, y, epochs=3, verbose=0)
    >>> len(history.history["loss"])
    3
    """

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
        self.model.history = self
