"""batch, unbatch and rebatch: elements stacked into batches and split out of them."""
import numpy as np

from .dataset import (INFINITE_CARDINALITY, UNKNOWN_CARDINALITY, Dataset, check_bool, check_int, gather,
                      gather_tensors)
from .structure import TensorSpec, flatten, map_structure, to_tensors


def _batched_spec(spec, batch_size, drop_remainder):
    return map_structure(lambda s: TensorSpec(
        None if s.shape is None else (batch_size if drop_remainder else None,) + s.shape, s.dtype), spec)


def _unbatched_spec(spec, what):
    if any(s.shape == () for s in flatten(spec)):
        raise ValueError(f"{what}: the input's elements must be batches (every component of rank >= 1), "
                         f"got element_spec {spec}")
    return map_structure(lambda s: TensorSpec(None if s.shape is None else s.shape[1:], s.dtype), spec)


def _stack_batches(elements, batch_size, drop_remainder):
    """Batches stacked from consecutive elements."""
    batch = []
    for element in elements:
        batch.append(element)
        if len(batch) == batch_size:
            yield _stack(batch)
            batch = []
    if batch and not drop_remainder:
        yield _stack(batch)


def _stack(elements):
    try:
        return map_structure(lambda *leaves: np.stack(leaves), *elements)
    except ValueError:
        shapes = [[np.shape(a) for a in flatten(e)] for e in elements]
        i = next((i for i, s in enumerate(shapes) if s != shapes[0]), None)
        if i is None:
            raise
        raise ValueError(f"batch: cannot batch elements of different shapes: the first element's components "
                         f"had shapes {shapes[0]} and element {i}'s {shapes[i]}") from None


def _unbatched(elements):
    for element in elements:
        components = flatten(element)
        sizes = {a.shape[0] if a.ndim else None for a in components}
        if len(sizes) != 1 or None in sizes:
            raise ValueError("unbatch: the components of an element must have the same first (batch) dimension, "
                             f"got shapes {[a.shape for a in components]}")
        for i in range(sizes.pop()):
            yield gather(element, i)


class BatchDataset(Dataset):
    _kind = "batch"

    def __init__(self, input, batch_size, drop_remainder):
        super().__init__([input], batch_size=check_int(batch_size, "batch: `batch_size`", 1),
                         drop_remainder=check_bool(drop_remainder, "batch: `drop_remainder`"))

    def _cardinality(self):
        n, size = self._inputs[0]._cardinality(), self._args["batch_size"]
        if n < 0:
            return n
        return n // size if self._args["drop_remainder"] else -(-n // size)

    def _element_spec(self):
        return _batched_spec(self._inputs[0].element_spec, self._args["batch_size"], self._args["drop_remainder"])

    def _elements(self):
        return self._batches(gather, lambda batch: batch)

    def _tensors(self):
        return self._batches(gather_tensors, to_tensors)

    def _batches(self, cut, convert):
        """The batches: `cut(table, rows)` of the input's rows, or else its elements stacked and converted
        by `convert`."""
        size, drop = self._args["batch_size"], self._args["drop_remainder"]
        rows = self._inputs[0]._rows()
        if rows is None:
            return map(convert, _stack_batches(self._inputs[0]._numpy_iter(), size, drop))
        table, order = rows  # cut from the rows at once: a view per batch, or a gather when shuffled
        stop = len(order) - len(order) % size if drop else len(order)
        return (cut(table, order[start:start + size]) for start in range(0, stop, size))


class UnbatchDataset(Dataset):
    _kind = "unbatch"

    def __init__(self, input):
        _unbatched_spec(input.element_spec, "unbatch")
        super().__init__([input])

    def _cardinality(self):
        n = self._inputs[0]._cardinality()
        return n if n == INFINITE_CARDINALITY else UNKNOWN_CARDINALITY

    def _element_spec(self):
        return _unbatched_spec(self._inputs[0].element_spec, "unbatch")

    def _elements(self):
        return _unbatched(self._inputs[0]._numpy_iter())


class RebatchDataset(Dataset):
    _kind = "rebatch"

    def __init__(self, input, batch_size, drop_remainder):
        _unbatched_spec(input.element_spec, "rebatch")
        super().__init__([input], batch_size=check_int(batch_size, "rebatch: `batch_size`", 1),
                         drop_remainder=check_bool(drop_remainder, "rebatch: `drop_remainder`"))

    def _cardinality(self):
        return UNKNOWN_CARDINALITY

    def _element_spec(self):
        spec = _unbatched_spec(self._inputs[0].element_spec, "rebatch")
        return _batched_spec(spec, self._args["batch_size"], self._args["drop_remainder"])

    def _elements(self):
        elements = _unbatched(self._inputs[0]._numpy_iter())
        return _stack_batches(elements, self._args["batch_size"], self._args["drop_remainder"])
