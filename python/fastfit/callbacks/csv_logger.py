"""CSVLogger: one CSV row per epoch."""
import collections.abc
import csv
import os

import numpy as np

from .callback import Callback


class CSVLogger(Callback):
    """Writes each epoch's logs to a CSV file: a header `epoch,<sorted log names>` (the `val_` columns
    included from the first epoch, "NA" where an epoch has no value), then one row per epoch.

    Args:
        filename: the CSV file's path (a str or os.PathLike).
        separator: the field separator.
        append: add to an existing file (writing the header only if the file is empty) rather than
            overwrite it.

    >>> model.fit(x, y, epochs=2, callbacks=[keras.callbacks.CSVLogger("training.log")])
    """

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        if not isinstance(separator, str) or len(separator) != 1:
            raise ValueError(f"CSVLogger: `separator` must be one character, got {separator!r}")
        self.sep = separator
        self.filename = os.fspath(filename)
        self.append = append
        self.writer = None
        self.keys = None
        self.append_header = True
        self.csv_file = None

    def on_train_begin(self, logs=None):
        if self.append:
            if os.path.exists(self.filename):
                with open(self.filename) as f:
                    self.append_header = not f.readline()
            mode = "a"
        else:
            mode = "w"
        if self.csv_file and not self.csv_file.closed:
            self.csv_file.close()
        self.csv_file = open(self.filename, mode, newline="")
        self.writer = None
        self.keys = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
            if self.keys and not any(k.startswith("val_") for k in self.keys):
                self.keys += [f"val_{k}" for k in self.keys]  # validation may start in a later epoch
        if self.writer is None:
            class Dialect(csv.excel):
                delimiter = self.sep
            self.writer = csv.DictWriter(self.csv_file, fieldnames=["epoch"] + self.keys, dialect=Dialect)
            if self.append_header:
                self.writer.writeheader()
        row = {"epoch": epoch}
        row.update((key, _cell(logs.get(key, "NA"))) for key in self.keys)
        self.writer.writerow(row)
        self.csv_file.flush()

    def on_train_end(self, logs=None):
        if self.csv_file and not self.csv_file.closed:
            self.csv_file.close()
        self.writer = None


def _cell(value):
    """A value as Keras writes it: a string or number as it is, a list or array as "[a, b, ...]"."""
    if isinstance(value, str) or not isinstance(value, collections.abc.Iterable) or (
            isinstance(value, np.ndarray) and value.ndim == 0):
        return value
    return f"\"[{', '.join(map(str, value))}]\""
