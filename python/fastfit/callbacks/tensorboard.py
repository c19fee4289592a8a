"""TensorBoard: event files of the training, written through tensorboardX, laid out as Keras writes them."""
import numbers
import os
import time

import numpy as np

from .callback import Callback


def _summary_writer():
    try:
        from tensorboardX import SummaryWriter
    except ImportError:
        raise ImportError("The TensorBoard callback needs the tensorboardX package: `pip install tensorboardX` "
                          "(or `pip install fastfit[tensorboard]`).") from None
    return SummaryWriter


class TensorBoard(Callback):
    """Writes event files for TensorBoard (`tensorboard --logdir logs`): training scalars under
    `log_dir/train`, validation ones under `log_dir/validation`, as Keras 3 names them:

    - each epoch: `epoch_loss`, `epoch_<metric>` and `epoch_learning_rate` (step: the epoch),
      validation's `epoch_loss`, ... in the validation run;
    - with `update_freq` "batch" or an integer n: `batch_loss`, `batch_<metric>` every n-th batch
      (step: the batch count since fit began); fit then returns to Python after each batch;
    - after each evaluation (fit's validation too): `evaluation_<name>_vs_iterations` in the
      validation run (step: the optimizer's iterations).

    Args:
        log_dir: the directory of the runs.
        histogram_freq: every this many epochs, a histogram of each weight, tagged
            `<layer>/<weight>/histogram` (0: none).
        write_graph: write the model's layer graph (TensorBoard's Graphs tab shows it: a node per
            layer with its output shape, an edge per connection).
        write_images: with histograms, also each weight as an image (`<layer>/<weight>/image`).
        write_steps_per_second: also log the training speed (`epoch_steps_per_second`, and
            `batch_steps_per_second` with batch updates).
        update_freq: "epoch", "batch" or an integer (see above).
        profile_batch: 0. Profiling is not supported (anything else raises NotImplementedError).
        embeddings_freq, embeddings_metadata: 0 and None. Embedding projection is not supported
            (anything else raises NotImplementedError).

    The writers flush as tensorboardX's do (every 2 minutes, or 10 events queued), after each
    histogram pass, and when fit ends (which closes them).

    Logs that hold several values (a metric per class or threshold) are not written: a scalar
    summary holds one number. Importing tensorboardX imports PyTorch when it is installed (its own
    doing), which takes a moment when the callback is made.

    >>> tensorboard = keras.callbacks.TensorBoard(log_dir="./logs", histogram_freq=1)
    >>> model.fit(x, y, epochs=2, validation_split=0.2, callbacks=[tensorboard])
    """

    def __init__(self, log_dir="logs", histogram_freq=0, write_graph=True, write_images=False,
                 write_steps_per_second=False, update_freq="epoch", profile_batch=0, embeddings_freq=0,
                 embeddings_metadata=None):
        super().__init__()
        if profile_batch not in (0, None, "0", (0, 0), [0, 0]):
            raise NotImplementedError(f"TensorBoard: profile_batch={profile_batch!r}: profiling is not supported by "
                                      "fastfit; pass profile_batch=0")
        if embeddings_freq or embeddings_metadata is not None:
            raise NotImplementedError(f"TensorBoard: embeddings_freq={embeddings_freq!r}, embeddings_metadata="
                                      f"{embeddings_metadata!r}: embedding projection is not supported by fastfit; "
                                      "pass embeddings_freq=0 and no embeddings_metadata")
        if update_freq == "batch":
            update_freq = 1
        if update_freq != "epoch" and (isinstance(update_freq, bool) or not isinstance(update_freq, numbers.Integral)
                                       or update_freq < 1):
            raise ValueError(f"TensorBoard: `update_freq` must be 'epoch', 'batch' or a positive integer, "
                             f"got {update_freq!r}")
        if isinstance(histogram_freq, bool) or not isinstance(histogram_freq, numbers.Integral) or histogram_freq < 0:
            raise ValueError(f"TensorBoard: `histogram_freq` must be an integer >= 0, got {histogram_freq!r}")
        self._writer_class = _summary_writer()  # fail here, not after the first epoch, without tensorboardX
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = histogram_freq
        self.write_graph = write_graph
        self.write_images = write_images
        self.write_steps_per_second = write_steps_per_second
        self.update_freq = update_freq
        self.embeddings_freq, self.embeddings_metadata = embeddings_freq, embeddings_metadata
        self._writers = {}
        self._global_train_batch = 0
        self._batch_start_time = 0.0
        self._epoch_start = (0.0, 0)  # (time, optimizer iterations) at the epoch's start

    def _needs_batch_hooks(self, mode):
        return mode == "train" and self.update_freq != "epoch"

    def _writer(self, run):
        if run not in self._writers:
            self._writers[run] = self._writer_class(os.path.join(self.log_dir, run))
        return self._writers[run]

    def _close_writers(self):
        for writer in self._writers.values():
            writer.close()
        self._writers = {}

    # -- hooks ---------------------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        self._global_train_batch = 0
        if self.write_graph:
            from .tensorboard_graph import write_graph
            write_graph(self._writer("train"), self.model)

    def on_train_end(self, logs=None):
        self._close_writers()

    def on_train_batch_begin(self, batch, logs=None):
        self._global_train_batch += 1
        if self.write_steps_per_second:
            self._batch_start_time = time.time()

    def on_train_batch_end(self, batch, logs=None):
        if self.update_freq == "epoch" or self._global_train_batch % self.update_freq:
            return  # without batch updates this runs once per stretch of batches: nothing to write
        writer, step = self._writer("train"), self._global_train_batch
        if self.write_steps_per_second:
            writer.add_scalar("batch_steps_per_second", 1.0 / max(time.time() - self._batch_start_time, 1e-9), step)
        for name, value in _scalars(logs):
            writer.add_scalar(f"batch_{name}", value, step)

    def on_epoch_begin(self, epoch, logs=None):
        if self.write_steps_per_second:
            self._epoch_start = (time.time(), int(self.model.optimizer.iterations))

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        train = {k: v for k, v in logs.items() if not k.startswith("val_")}
        train["learning_rate"] = float(np.asarray(self.model.optimizer.learning_rate))
        if self.write_steps_per_second:
            start_time, start_iterations = self._epoch_start
            train["steps_per_second"] = ((int(self.model.optimizer.iterations) - start_iterations) /
                                         max(time.time() - start_time, 1e-9))
        for name, value in _scalars(train):
            self._writer("train").add_scalar(f"epoch_{name}", value, epoch)
        val = {k[len("val_"):]: v for k, v in logs.items() if k.startswith("val_")}
        for name, value in _scalars(val):
            self._writer("validation").add_scalar(f"epoch_{name}", value, epoch)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self._log_weights(epoch)

    def on_test_end(self, logs=None):
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is None:
            return
        writer, step = self._writer("validation"), int(optimizer.iterations)
        for name, value in _scalars(logs):
            writer.add_scalar(f"evaluation_{name}_vs_iterations", value, step)

    # -- weights -------------------------------------------------------------------------------
    def _log_weights(self, epoch):
        writer = self._writer("train")
        for layer in self.model.layers:
            for weight in layer.weights:
                name = getattr(weight, "path", weight.name).replace(":", "_")
                values = weight.numpy()
                writer.add_histogram(f"{name}/histogram", values, epoch)
                if self.write_images:
                    image = _weight_image(values)
                    if image is not None:
                        writer.add_images(f"{name}/image", image, epoch, dataformats="NHWC")
        writer.flush()


def _scalars(logs):
    """(name, float) of the logs that are single numbers."""
    for name, value in (logs or {}).items():
        if isinstance(value, numbers.Number) or (isinstance(value, np.ndarray) and value.ndim == 0):
            yield name, float(value)


def _weight_image(w):
    """A weight as Keras draws it: (1, rows, cols, 1) for a vector or matrix (its longer side across),
    (channels, h, w, 1) for a 3-d kernel; None for other shapes."""
    w = np.squeeze(w)
    if w.ndim == 1:
        w = w.reshape(1, w.shape[0], 1, 1)
    elif w.ndim == 2:
        if w.shape[0] > w.shape[1]:
            w = w.T
        w = w.reshape(1, w.shape[0], w.shape[1], 1)
    elif w.ndim == 3:
        w = np.transpose(w, (2, 0, 1))[..., None]  # channels last: one image per channel
    return w if w.ndim == 4 and w.shape[-1] in (1, 3, 4) else None
