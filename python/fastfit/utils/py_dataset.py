"""keras.utils.PyDataset (and its older name, Sequence): batches by index, for data that does not fit
in memory or is made on the fly."""


class PyDataset:
    """Subclass it: `__getitem__(index)` returns batch `index` as `x`, `(x, y)` or
    `(x, y, sample_weight)`; `__len__` (or the `num_batches` property) says how many batches there
    are. `on_epoch_begin`/`on_epoch_end` run around each epoch.

    fit/evaluate/predict fetch the batches on a thread ahead of the training step (`workers` threads
    when more than one), keeping up to `max_queue_size` batches ready.

    >>> class Squares(PyDataset):
    ...     def __len__(self):
    ...         return 4
    ...     def __getitem__(self, i):
    ...         x = np.full((8, 1), i, "float32")
    ...         return x, x ** 2
    """

    def __init__(self, workers=1, use_multiprocessing=False, max_queue_size=10):
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ValueError(f"PyDataset: `workers` must be a positive integer, got {workers!r}")
        if isinstance(max_queue_size, bool) or not isinstance(max_queue_size, int) or max_queue_size < 1:
            raise ValueError(f"PyDataset: `max_queue_size` must be a positive integer, got {max_queue_size!r}")
        self.workers = workers
        self.use_multiprocessing = bool(use_multiprocessing)
        self.max_queue_size = max_queue_size

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__(index)")

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must implement __len__ (or the num_batches property)")

    @property
    def num_batches(self):
        """How many batches a pass has (None: infinite). Defaults to len(self)."""
        return len(self)

    def on_epoch_begin(self):
        pass

    def on_epoch_end(self):
        pass

    # Subclasses written for older Keras may not call super().__init__: fall back to the defaults.
    workers = 1
    use_multiprocessing = False
    max_queue_size = 10


Sequence = PyDataset  # the TF 2 name the guide uses
