"""Datasets in fit/evaluate/predict. A Dataset made of in-memory arrays, shuffled and batched
(from_tensor_slices, then optionally shuffle, then batch, with cache and prefetch anywhere) runs on
the C++ array source: its rows are sliced, shuffled with tf.data's buffered shuffle and gathered in
C++, with no Python per batch. A `map` after the batch whose function is made of fastfit ops is
traced into the compiled program, ahead of the model (see models/tracing.py): still no Python per
batch. Any other Dataset is iterated in Python on the producer thread that feeds the C++ queue
(queue_adapter.py). Either way each pass starts from the Dataset's start, unless `steps_per_epoch`
is given: then epochs draw from one continuing pass, as Keras does."""
import numpy as np

from .. import _core, _tracing
from ..tensor import Tensor
from . import queue_adapter
from .arrays import ArrayAdapter, unpack_x_y_sample_weight

_PASS_THROUGH = ("cache", "prefetch")  # no effect on the elements of an in-memory pipeline


def for_dataset(ds, steps, standardizer, with_targets, what):
    """The adapter for Dataset `ds` (steps: the user's steps per pass, or None)."""
    plan = _in_memory_plan(ds)
    if plan is None:
        return queue_adapter.for_stream(ds, steps, standardizer, with_targets)
    tensors, batch_size, drop_remainder, shuffle, maps = plan
    x, y, w = unpack_x_y_sample_weight(tensors)
    if with_targets and y is None and not maps:
        raise ValueError(f"{what} needs a Dataset of (x, y) or (x, y, sample_weight) elements, got elements "
                         "without targets")
    xs, ys, w = standardizer.batch(x, y, w)
    adapter = DatasetArrayAdapter(xs, ys, batch_size, w, drop_remainder, shuffle, restarts=steps is None)
    if maps:
        adapter.preprocess = Preprocess(maps, adapter.layout)
        if not adapter.preprocess.traceable(adapter.sample()):
            return queue_adapter.for_stream(ds, steps, standardizer, with_targets)  # map in Python
    if with_targets and adapter.preprocess is not None and adapter.preprocess.layout[1] == 0:
        raise ValueError(f"{what} needs a Dataset of (x, y) or (x, y, sample_weight) elements, got elements "
                         "without targets")
    return adapter


class Preprocess:
    """The `map` functions after `batch`, applied in order to a batch's tensors: what the compiled
    program computes ahead of the model. `layout`: (inputs, targets, weighted) of what they return."""

    def __init__(self, maps, layout):
        self.maps = tuple(maps)
        self.in_layout = layout
        self.layout = None

    def __call__(self, xs, ys, w):
        """(inputs, targets, weights) of the mapped batch, from the batch's (inputs, targets, weights)."""
        element = _pack(xs, ys, w)
        for fn in self.maps:
            element = fn(*element) if isinstance(element, tuple) else fn(element)
        x, y, w = unpack_x_y_sample_weight(tuple(element) if isinstance(element, list) else element)
        if isinstance(x, (list, tuple, dict)) or isinstance(y, (list, tuple, dict)):
            raise NotImplementedError("a Dataset `map` returning nested inputs or targets is not supported yet")
        outs = [x], ([y] if y is not None else []), w
        self.layout = (1, len(outs[1]), w is not None)
        return outs

    def traceable(self, sample):
        """Whether the functions run on fastfit ops alone (a trace can replay them), tried on `sample`."""
        tape = _core.Tape(record_all=True)
        xs, ys, w = sample
        tensors = [Tensor(a) for a in xs], [Tensor(a) for a in ys or []], (Tensor(w) if w is not None else None)
        for t in tensors[0] + tensors[1] + ([tensors[2]] if tensors[2] is not None else []):
            tape.mark_live(t)
        with _tracing.recording(tape) as state:
            self(*tensors)
        return state.data_dependent is None

    def __hash__(self):
        return hash(self.maps)

    def __eq__(self, other):
        return isinstance(other, Preprocess) and other.maps == self.maps


def _pack(xs, ys, w):
    """The batch as the Dataset's element: x, (x, y) or (x, y, w)."""
    parts = [xs[0] if len(xs) == 1 else tuple(xs)] + list(ys or []) + ([w] if w is not None else [])
    return parts[0] if len(parts) == 1 else tuple(parts)


def split_for_validation(ds, fraction, steps, standardizer):
    """fit(validation_split=) on a Dataset (Keras refuses; users asked for it, tensorflow#50937). An
    in-memory pipeline splits its rows before shuffling, as arrays do: the last fraction validates,
    in order, in batches of the same size. Any other finite Dataset splits its batches: the last
    fraction of them validates (`take` and `skip`)."""
    plan = _in_memory_plan(ds)
    if plan is not None and not plan[4]:
        tensors, batch_size, drop_remainder, shuffle, _ = plan
        xs, ys, w = standardizer.batch(*unpack_x_y_sample_weight(tensors))
        if ys is None:
            raise ValueError("fit needs a Dataset of (x, y) or (x, y, sample_weight) elements")
        n = len(xs[0])
        cut = int(np.floor(n * (1.0 - fraction)))
        if cut == 0 or cut == n:
            raise ValueError(f"fit: validation_split={fraction} leaves no training or validation samples")
        part = lambda a, s: None if a is None else a[s]  # noqa: E731
        train = DatasetArrayAdapter([a[:cut] for a in xs], [a[:cut] for a in ys], batch_size, part(w, slice(cut)),
                                    drop_remainder, shuffle, restarts=steps is None)
        val = ArrayAdapter([a[cut:] for a in xs], [a[cut:] for a in ys], batch_size, part(w, slice(cut, None)))
        return train, val
    batches = int(ds.cardinality())
    if batches < 0:
        raise ValueError("fit: `validation_split` needs a Dataset of known, finite cardinality; this one is "
                         f"{'infinite' if batches == -1 else 'of unknown size'}. Pass `validation_data` instead.")
    cut = int(np.floor(batches * (1.0 - fraction)))
    if cut == 0 or cut == batches:
        raise ValueError(f"fit: validation_split={fraction} of {batches} batches leaves no training or validation batch")
    val_standardizer = standardizer.for_validation()
    return (queue_adapter.for_stream(ds.take(cut), steps, standardizer, True),
            queue_adapter.for_stream(ds.skip(cut), None, val_standardizer, True))


class DatasetArrayAdapter(ArrayAdapter):
    """An in-memory Dataset on the C++ array source: its own batch size, remainder rule and shuffle
    (fit's `shuffle` argument does not apply to Datasets, as in Keras)."""

    def __init__(self, xs, ys, batch_size, weights, drop_remainder, shuffle, restarts):
        super().__init__(xs, ys or [], batch_size, weights, drop_remainder)
        self._shuffle = shuffle  # None, or (buffer_size, seed, reshuffle_each_iteration)
        self._restarts = restarts
        self._passes = 0

    def start_pass(self, shuffle=False, seed=0):
        if self._passes and not self._restarts and self.source.more():
            return  # steps_per_epoch: the next epoch continues this pass
        if self._shuffle is None:
            self.source.start_pass(False)
        else:
            buffer_size, ds_seed, reshuffle = self._shuffle
            pass_seed = hash((ds_seed, self._passes)) % 2 ** 63 if reshuffle else ds_seed % 2 ** 63
            self.source.start_pass(True, pass_seed, buffer_size)
        self._passes += 1


def _in_memory_plan(ds):
    """(tensors, batch_size, drop_remainder, shuffle, maps) when `ds` is from_tensor_slices of arrays,
    maybe shuffled, then batched, then maybe mapped (cache and prefetch anywhere); None for any other
    pipeline."""
    node = _skip_pass_through(ds)
    maps = []
    while node._kind == "map":
        maps.insert(0, node._args["map_func"])
        node = _skip_pass_through(node._inputs[0])
    if node._kind != "batch":
        return None
    batch_size, drop = node._args["batch_size"], node._args["drop_remainder"]
    node = _skip_pass_through(node._inputs[0])
    shuffle = None
    if node._kind == "shuffle":
        a = node._args
        shuffle = (a["buffer_size"], a["seed"], a["reshuffle_each_iteration"])
        node = _skip_pass_through(node._inputs[0])
    if node._kind != "from_tensor_slices":
        return None
    tensors = node._args["tensors"]
    flat = list(tensors) if isinstance(tensors, tuple) else [tensors]
    arrays = lambda part: list(part.values()) if isinstance(part, dict) and not maps else [part]  # noqa: E731
    if not 1 <= len(flat) <= 3 or not all(isinstance(a, np.ndarray) and a.dtype.kind in "biuf"
                                          for part in flat for a in arrays(part)):
        return None  # nesting, strings, dicts under a map: the general path
    return (tuple(flat) if isinstance(tensors, tuple) else tensors), batch_size, drop, shuffle, maps


def _skip_pass_through(node):
    while node._kind in _PASS_THROUGH:
        node = node._inputs[0]
    return node
