"""SwapEMAWeights: evaluates and predicts with the optimizer's moving averages of the weights."""
import numpy as np

from .callback import Callback


class SwapEMAWeights(Callback):
    """With an optimizer made with `use_ema=True`, puts the exponential moving averages of the weights
    into the model during evaluation (fit's validation too) and predict, and the trained weights back
    afterwards.

    Args:
        swap_on_epoch: also put the averages in at the end of each epoch (so callbacks after this one,
            e.g. a checkpoint, see them) and the trained weights back at the start of the next.

    Where Keras 3 leaves the averages in the model after predict (its `on_predict_end` tests the flag
    the wrong way round), this swaps the trained weights back, as it does after evaluate.

    >>> model.compile(optimizer=keras.optimizers.SGD(use_ema=True), loss="mse")
    >>> model.fit(x, y, validation_data=(xv, yv), callbacks=[keras.callbacks.SwapEMAWeights()])
    """

    def __init__(self, swap_on_epoch=False):
        super().__init__()
        self.swap_on_epoch = swap_on_epoch
        self._ema_weights_in_model = False

    def _pairs(self):
        optimizer = self.model.optimizer
        if not getattr(optimizer, "use_ema", False):
            raise ValueError("SwapEMAWeights must be used when `use_ema=True` is set on the optimizer. "
                             f"Received: use_ema={getattr(optimizer, 'use_ema', None)}")
        return optimizer._moving_averages()

    def _swap(self, ema_in_model):
        for var, average in self._pairs():
            trained = var.numpy().copy()
            var.assign(average.numpy())
            average.assign(trained)
        self._ema_weights_in_model = ema_in_model

    def on_epoch_begin(self, epoch, logs=None):
        if self.swap_on_epoch and self._ema_weights_in_model:
            self._swap(False)

    def on_epoch_end(self, epoch, logs=None):
        if self.swap_on_epoch and not self._ema_weights_in_model:
            self._swap(True)
            if epoch == self.params["epochs"] - 1:  # the averages stay: fit's finalize keeps them
                for var, average in self._pairs():
                    average.assign(np.asarray(var.numpy()))

    def on_test_begin(self, logs=None):
        if not self._ema_weights_in_model:
            self._swap(True)

    def on_test_end(self, logs=None):
        if self._ema_weights_in_model:
            self._swap(False)

    on_predict_begin = on_test_begin
    on_predict_end = on_test_end
