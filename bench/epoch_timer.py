"""A Keras callback that records each epoch's wall time, for any Keras-like module (fastfit, keras)."""
import time


def epoch_timer(keras, times):
    """A callback instance appending each epoch's seconds to `times`."""

    class EpochTimer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.t0)

    return EpochTimer()
