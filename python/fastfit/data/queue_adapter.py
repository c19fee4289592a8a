"""Batches made by Python code: generators, iterators, PyDatasets and Datasets that cannot run on
the C++ array source. A producer thread converts each batch and pushes it into a bounded C++
QueueSource; the Program pops with the GIL released, so the Python work overlaps the C++ step.

A *pass* is what one epoch (or one evaluate/predict call) reads. A generator has one pass that
continues from epoch to epoch; a PyDataset or a Dataset restarts from its first batch each pass,
unless `steps_per_epoch` is given: then, as Keras does, epochs draw from one continuing pass.
"""
import concurrent.futures
import itertools
import threading

import numpy as np

from .. import _core
from ..tensor import Tensor
from .arrays import signature, unpack_x_y_sample_weight

QUEUE_BATCHES = 8  # batches the producer may run ahead of the step
_JOIN_SECONDS = 5.0  # how long close() waits for the producer to notice it was stopped


class QueueAdapter:
    """Feeds batches from `make_pass()` (a fresh iterator of batches per call) through the queue.

    The first batch is read here, to trace the model on. `steps`: batches per pass (None: until the
    iterator ends). `restarts`: each pass starts over from the first batch (else passes continue). The producer reads up to `capacity` batches ahead; those still unread when a pass
    or the call ends are dropped, so a generator shared by two calls continues a few batches on.
    """

    def __init__(self, make_pass, steps, standardizer, with_targets, restarts, capacity=QUEUE_BATCHES,
                 on_pass_end=None):
        self._make_pass = make_pass
        self._on_pass_end = on_pass_end
        self._standardize = standardizer
        self._with_targets = with_targets
        self._restarts = restarts
        self._capacity = capacity
        self.layout = None  # (inputs, targets, weighted), from the first batch
        self.preprocess = None
        self.steps = steps
        self.num_samples = None
        self.error = None
        self._iterator = make_pass()
        try:
            self._first = self._convert(next(self._iterator))
        except StopIteration:
            raise ValueError("the data yielded no batches") from None
        self.batch_size = len(self._first[0])
        self.signature = signature(self._first)
        self._pending_first = True
        self.source = self._thread = None
        self._start_producer()

    def _convert(self, item):
        x, y, w = unpack_x_y_sample_weight(item)
        if self._with_targets and y is None:
            raise ValueError("fit/evaluate need batches of (x, y) or (x, y, sample_weight), got batches without targets")
        if not self._with_targets:
            y = w = None
        xs, ys, w = self._standardize.batch(x, y, w)
        layout = (len(xs), len(ys or []), w is not None)
        if self.layout is not None and layout != self.layout:
            raise ValueError(f"every batch must have the structure of the first: (inputs, targets, sample weights) "
                             f"counts {self.layout}, then a batch with {layout}")
        self.layout = layout
        return xs + (ys or []) + ([w] if w is not None else [])

    def _start_producer(self):
        self._stop_producer()
        self.source = _core.QueueSource(len(self._first), self._capacity, -1 if self.steps is None else self.steps)
        first = [self._first] if self._pending_first else []
        self._pending_first = False
        self._thread = threading.Thread(target=self._produce, args=(self.source, first, self._iterator),
                                        name="fastfit-data", daemon=True)
        self._thread.start()

    def _stop_producer(self):
        """Stops the producer and waits for it: a thread still blocked in the queue when Python exits
        would be killed inside C++ code. A generator stuck in its own code is left behind (daemon)."""
        if self.source is None:
            return
        self.source.stop()
        self._thread.join(timeout=_JOIN_SECONDS)

    def _produce(self, source, first, iterator):
        try:
            for arrays in itertools.chain(first, (self._convert(item) for item in iterator)):
                if not source.push([Tensor.view(a) for a in arrays]):
                    return  # the consumer stopped
            source.close()
        except BaseException as e:  # noqa: BLE001 - re-raised on the consumer's side
            self.error = e
            source.fail(f"the data producer raised {type(e).__name__}: {e}")

    def sample(self):
        n_in, n_tgt, weighted = self.layout
        arrays = self._first
        return (arrays[:n_in], arrays[n_in:n_in + n_tgt] if self._with_targets else None,
                arrays[n_in + n_tgt] if weighted else None)

    def start_pass(self, shuffle=False, seed=0):
        """A restartable source starts over (its first pass is already running); a generator, or any
        source read `steps_per_epoch` at a time, continues."""
        if self._restarts and (self.source.position > 0 or shuffle):
            self._pending_first = False
            self._iterator = self._make_pass(shuffle, seed)
            self._start_producer()

    def end_pass(self):
        """The caller has run this pass's batches (a PyDataset's on_epoch_end runs now, as in Keras)."""
        if self._on_pass_end is not None:
            self._on_pass_end()

    def raise_error(self):
        """Re-raises the producer's own exception (the generator's, the PyDataset's), if it raised."""
        if self.error is not None:
            raise self.error

    def close(self):
        self._stop_producer()


def for_stream(x, steps, standardizer, with_targets):
    """The adapter for a batch stream: a PyDataset, a Dataset (run in Python), or an iterator."""
    from ..utils.py_dataset import PyDataset
    if isinstance(x, PyDataset):
        return _py_dataset_adapter(x, steps, standardizer, with_targets)
    if hasattr(x, "_numpy_iter"):  # a fastfit Dataset: each pass iterates it from its start
        cardinality = int(x.cardinality())
        if steps is None and cardinality == -1:
            raise ValueError("an infinite Dataset needs `steps_per_epoch` (fit) or `steps` (evaluate, predict)")
        return QueueAdapter(lambda shuffle=False, seed=0: x._numpy_iter(), steps or (cardinality if cardinality >= 0
                            else None), standardizer, with_targets, restarts=steps is None)
    iterator = iter(x)
    return QueueAdapter(lambda shuffle=False, seed=0: iterator, steps, standardizer, with_targets, restarts=False)


def _py_dataset_adapter(ds, steps, standardizer, with_targets):
    """Batch i is ds[i]; a pass runs the batches in order (shuffled when fit shuffles) between
    on_epoch_begin and on_epoch_end, as Keras does. `workers` threads fetch batches ahead, in order."""
    if ds.use_multiprocessing:
        raise NotImplementedError("PyDataset: use_multiprocessing=True is not supported yet (use workers=N threads)")
    n = ds.num_batches
    if n is None and steps is None:
        raise ValueError("an infinite PyDataset (num_batches None) needs `steps_per_epoch` or `steps`")

    def make_pass(shuffle=False, seed=0):
        order = np.arange(n) if n is not None else itertools.count()
        if shuffle and n is not None:
            order = np.random.default_rng(seed).permutation(n)
        ds.on_epoch_begin()
        yield from _fetch(ds, order, ds.workers)

    return QueueAdapter(make_pass, steps or n, standardizer, with_targets, restarts=steps is None,
                        capacity=max(ds.max_queue_size, 1), on_pass_end=ds.on_epoch_end)


def _fetch(ds, order, workers):
    """ds[i] for i in order; with several workers, up to `workers` fetched at once, yielded in order."""
    if workers <= 1:
        for i in order:
            yield ds[int(i)]
        return
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        pending = []
        for i in order:
            pending.append(pool.submit(ds.__getitem__, int(i)))
            if len(pending) >= workers:
                yield pending.pop(0).result()
        for f in pending:
            yield f.result()
