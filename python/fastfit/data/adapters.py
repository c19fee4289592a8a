"""Data adapters: each turns one kind of input to fit/evaluate/predict into a C++ batch source.

- Arrays (numpy, lists, pandas, Tensors): the C++ ArraySource cuts and shuffles them, viewing rows
  in place where it can.
- Python generators and other iterators of batches: a producer thread converts each batch and
  pushes it into a bounded C++ QueueSource; the Program pops with the GIL released, so the
  generator's Python code overlaps with training.

Every adapter offers `sample()`: real rows to trace the model on, and `signature`: the per-sample
shapes and dtypes that key the compiled programs.
"""
import itertools
import threading
import warnings

import numpy as np

from .. import _core
from ..tensor import Tensor

_QUEUE_BATCHES = 8  # batches a generator may run ahead of training


def as_arrays(x, what):
    """A list of numpy arrays from an array, a pandas object, a Tensor, or a list/tuple of those.
    A nested list of numbers is one array."""
    several = isinstance(x, (list, tuple)) and x and all(
        isinstance(a, (np.ndarray, Tensor)) or hasattr(a, "to_numpy") for a in x)
    out = []
    for a in list(x) if several else [x]:
        a = a.numpy() if isinstance(a, Tensor) else a
        if hasattr(a, "to_numpy"):  # pandas
            a = a.to_numpy()
        arr = np.asarray(a)
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"`{what}` must hold numbers (a float or integer array), got dtype {arr.dtype}")
        if arr.ndim == 0:
            raise ValueError(f"`{what}` must have a batch axis, got a scalar")
        out.append(arr)
    return out


class Standardizer:
    """Converts a batch's (x, y) to the arrays the C++ core computes on: float32 inputs, int32
    class ids for sparse losses, float32 targets otherwise ((N,) targets become (N, 1))."""

    def __init__(self, sparse_labels):
        self.sparse_labels = sparse_labels

    def inputs(self, x):
        return [np.ascontiguousarray(a, np.float32) for a in as_arrays(x, "x")]

    def targets(self, y, n):
        raw = as_arrays(y, "y")
        if self.sparse_labels:
            for r in raw:
                if r.dtype.kind == "f" and np.any(r != np.floor(r)):
                    raise ValueError("sparse labels must be integer class ids, got non-integer values in `y`")
            ys = [np.ascontiguousarray(a, np.int32) for a in raw]
        else:
            ys = [np.ascontiguousarray(a[:, None] if a.ndim == 1 else a, np.float32) for a in raw]
        for a in ys:
            if len(a) != n:
                raise ValueError(f"Data cardinality is ambiguous: x sizes: {n}, y sizes: {len(a)}. "
                                 "Make sure all arrays contain the same number of samples.")
        return ys

    def batch(self, x, y):
        xs = self.inputs(x)
        n = len(xs[0])
        for a in xs[1:]:
            if len(a) != n:
                raise ValueError(f"All input arrays (x) should have the same number of samples, "
                                 f"got {[len(b) for b in xs]}")
        return xs, (None if y is None else self.targets(y, n))


def _signature(arrays):
    return tuple((a.shape[1:], a.dtype.str) for a in arrays)


class ArrayAdapter:
    """In-memory arrays: the whole data is known, sliced and shuffled in C++."""

    def __init__(self, xs, ys, batch_size):
        self.xs, self.ys = xs, ys
        self.num_samples = len(xs[0])
        self.batch_size = batch_size
        self.source = _core.ArraySource([Tensor.view(a) for a in xs + (ys or [])], batch_size)
        self.steps = self.source.steps
        self.signature = _signature(xs + (ys or []))

    def sample(self):
        return self.xs, self.ys

    def start_pass(self, shuffle=False, seed=0):
        self.source.start_pass(bool(shuffle), seed)

    def close(self):
        pass


class GeneratorAdapter:
    """A Python generator (or iterator) of batches: `x`, `(x,)`, `(x, y)` or `(x, y, sample_weight)`.

    A daemon thread iterates it and pushes each converted batch into a bounded C++ queue. The first
    batch is read here, to trace the model on. `steps`: batches per epoch (None: until it ends).
    The thread reads up to 8 batches ahead of training; those still unread when the call returns are
    dropped, so a generator shared by two calls continues a few batches further on in the second.
    """

    def __init__(self, iterator, steps, standardizer, with_targets):
        self._standardize = standardizer
        self._with_targets = with_targets
        self._iterator = iter(iterator)
        try:
            first = next(self._iterator)
        except StopIteration:
            raise ValueError("the generator yielded no batches") from None
        self._first = self._convert(first)
        self.steps = steps
        self.num_samples = None
        self.batch_size = len(self._first[0])
        self.signature = _signature(self._first)
        self.error = None
        self.exhausted = False
        n_inputs = len(self._first) - (self._n_targets if with_targets else 0)
        self._n_inputs = n_inputs
        self.source = _core.QueueSource(len(self._first), _QUEUE_BATCHES, -1 if steps is None else steps)
        self._thread = threading.Thread(target=self._produce, name="fastfit-data", daemon=True)
        self._thread.start()

    def _convert(self, item):
        if isinstance(item, tuple) and len(item) == 3 and item[2] is not None:
            raise NotImplementedError("generators yielding sample weights are not supported yet")
        if isinstance(item, tuple) and len(item) in (2, 3):
            x, y = item[0], item[1]
        elif isinstance(item, tuple) and len(item) == 1:
            x, y = item[0], None
        else:
            x, y = item, None
        if self._with_targets and y is None:
            raise ValueError("fit/evaluate need a generator of (x, y) batches, got batches without targets")
        xs, ys = self._standardize.batch(x, y if self._with_targets else None)
        self._n_targets = len(ys or [])
        return xs + (ys or [])

    def _produce(self):
        try:
            for item in itertools.chain([None], self._iterator):
                arrays = self._first if item is None else self._convert(item)
                if not self.source.push([Tensor.view(a) for a in arrays]):
                    return  # the consumer stopped
            self.source.close()
        except BaseException as e:  # noqa: BLE001 - re-raised on the consumer's side
            self.error = e
            self.source.fail(f"the data generator raised {type(e).__name__}: {e}")

    def sample(self):
        arrays = self._first
        return arrays[:self._n_inputs], (arrays[self._n_inputs:] if self._with_targets else None)

    def start_pass(self, shuffle=False, seed=0):
        """Generators continue where the last pass stopped (steps per pass), as Keras iterates them."""

    def raise_error(self):
        """Re-raises the generator's own exception, if it raised."""
        if self.error is not None:
            raise self.error

    def close(self):
        self.source.stop()


def get_adapter(x, y, batch_size, steps, standardizer, with_targets, what):
    """The adapter for `x` (and `y`)."""
    if _is_iterator(x):
        if y is not None:
            raise ValueError(f"{what}: `y` must not be given when `x` is a generator (it yields (x, y) batches)")
        if batch_size is not None:
            raise ValueError(f"{what}: `batch_size` must not be given when `x` is a generator (it yields batches)")
        return GeneratorAdapter(x, steps, standardizer, with_targets)
    if x is None:
        raise ValueError(f"{what}: `x` is required")
    xs, ys = standardizer.batch(x, y if with_targets else None)
    if with_targets and ys is None:
        raise ValueError(f"{what}: `y` is required for array inputs")
    if len(xs[0]) == 0:
        raise ValueError(f"{what}: `x` has 0 samples; at least one is needed")
    return ArrayAdapter(xs, ys, batch_size)


def _is_iterator(x):
    return hasattr(x, "__next__") or (hasattr(x, "__iter__") and not isinstance(x, (np.ndarray, list, tuple, dict, Tensor))
                                      and not hasattr(x, "to_numpy"))


def warn_ran_out(steps_done, what):
    warnings.warn(f"Your input ran out of data after {steps_done} steps; interrupting {what}. Make sure that your "
                  "generator can generate at least `steps_per_epoch * epochs` batches.", UserWarning, stacklevel=4)
