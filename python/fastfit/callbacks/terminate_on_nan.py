"""TerminateOnNaN: stops training at the first batch whose loss is NaN or infinite."""
import numpy as np

from .callback import Callback


class TerminateOnNaN(Callback):
    """Stops training after the first batch whose (running) loss is NaN or infinite. It watches every
    batch, so fit returns to Python after each one while it is in the list.

    Args:
        raise_error: raise RuntimeError at that batch instead of stopping quietly.

    >>> model.fit(x, y, callbacks=[keras.callbacks.TerminateOnNaN()])
    """

    def __init__(self, raise_error=False):
        super().__init__()
        self.raise_error = raise_error

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None or np.isfinite(loss):
            return
        if self.raise_error:
            raise RuntimeError(f"NaN or Inf loss encountered at batch {batch}. Loss value: {loss}. Terminating "
                               "training immediately.")
        print(f"Batch {batch}: Invalid loss, terminating training")
        self.model.stop_training = True
