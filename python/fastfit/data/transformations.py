"""The datasets that transform others element by element (batching.py: into and out of batches):
one class per Dataset method, holding its checks, cardinality, element_spec and iteration."""
import itertools

import numpy as np

from .. import _core, backend
from .dataset import INFINITE_CARDINALITY, UNKNOWN_CARDINALITY, Dataset, check_bool, check_int
from .structure import (TensorSpec, flatten, map_structure, normalize, pack_as, relax, same_structure, spec_of,
                        to_tensors, zeros_like_spec)


def _check_dataset(value, what):
    if not isinstance(value, Dataset):
        raise TypeError(f"{what} must be a Dataset, got {type(value).__name__}")
    return value


def _call(fn, element):
    """`fn` on the element as Tensors; a tuple is spread over positional arguments, as tf.data does."""
    args = to_tensors(element)
    return fn(*args) if type(args) is tuple else fn(args)


class ZipDataset(Dataset):
    _kind = "zip"

    def __init__(self, datasets):
        for d in flatten(datasets):
            _check_dataset(d, "zip: each of `datasets`")
        super().__init__(flatten(datasets), datasets=datasets)

    def _cardinality(self):
        counts = [d._cardinality() for d in self._inputs]
        if UNKNOWN_CARDINALITY in counts:
            return UNKNOWN_CARDINALITY
        finite = [n for n in counts if n != INFINITE_CARDINALITY]
        return min(finite) if finite else INFINITE_CARDINALITY

    def _element_spec(self):
        return map_structure(lambda d: d.element_spec, self._args["datasets"])

    def _elements(self):
        for values in zip(*(d._numpy_iter() for d in self._inputs)):
            yield pack_as(self._args["datasets"], values)


class ConcatenateDataset(Dataset):
    _kind = "concatenate"

    def __init__(self, input, dataset):
        a, b = input.element_spec, _check_dataset(dataset, "concatenate: `dataset`").element_spec
        if not same_structure(a, b) or any(x.dtype != y.dtype for x, y in zip(flatten(a), flatten(b))):
            raise TypeError(f"concatenate: incompatible dataset elements: {a} vs. {b}")
        super().__init__([input, dataset])

    def _cardinality(self):
        counts = [d._cardinality() for d in self._inputs]
        for special in (INFINITE_CARDINALITY, UNKNOWN_CARDINALITY):
            if special in counts:
                return special
        return sum(counts)

    def _element_spec(self):
        return map_structure(relax, *(d.element_spec for d in self._inputs))

    def _elements(self):
        for d in self._inputs:
            yield from d._numpy_iter()


class ShuffleDataset(Dataset):
    _kind = "shuffle"

    def __init__(self, input, buffer_size, seed, reshuffle_each_iteration):
        # Drawn now, so that set_random_seed before building the pipeline repeats its orders.
        seed = int(backend.rng().integers(2**63)) if seed is None else check_int(seed, "shuffle: `seed`")
        super().__init__([input], buffer_size=check_int(buffer_size, "shuffle: `buffer_size`", 1), seed=seed,
                         reshuffle_each_iteration=check_bool(reshuffle_each_iteration,
                                                             "shuffle: `reshuffle_each_iteration`"))
        self._iterations = itertools.count()

    def _rng(self):
        """The generator of this iteration's order."""
        iteration = next(self._iterations) if self._args["reshuffle_each_iteration"] else 0
        return np.random.default_rng([self._args["seed"] % 2**64, iteration])

    def _rows(self):  # the order _elements gives, drawn at once on row numbers (in C++)
        def shuffled(order):
            rows = np.arange(order.start, order.stop, order.step) if isinstance(order, range) else order
            return _core.buffered_shuffle(rows, self._args["buffer_size"], self._rng().random(len(rows)))
        return self._input_rows(shuffled)

    def _elements(self):
        return shuffle_buffer(self._inputs[0]._numpy_iter(), self._args["buffer_size"], self._rng())


def shuffle_buffer(items, buffer_size, rng):
    """tf.data's shuffle: fill a buffer with `buffer_size` items, then emit the item in a random slot
    and put the next item there; when the items run out, emit the rest of the buffer in random order."""
    items = iter(items)
    buffer = list(itertools.islice(items, buffer_size))
    draws = _uniform(rng)
    for item in items:
        slot = int(next(draws) * buffer_size)
        yield buffer[slot]
        buffer[slot] = item
    while buffer:
        slot = int(next(draws) * len(buffer))
        buffer[slot], buffer[-1] = buffer[-1], buffer[slot]
        yield buffer.pop()


def _uniform(rng):
    """Uniform draws in [0, 1), drawn from `rng` a block at a time (one call per draw is slow); the
    same sequence as one `rng.random(n)`."""
    while True:
        yield from rng.random(256).tolist()


class TakeDataset(Dataset):
    _kind = "take"

    def __init__(self, input, count):
        super().__init__([input], count=check_int(count, "take: `count`", -1))

    def _cardinality(self):
        n, count = self._inputs[0]._cardinality(), self._args["count"]
        if count == -1 or n == UNKNOWN_CARDINALITY:
            return n
        return count if n == INFINITE_CARDINALITY else min(n, count)

    def _rows(self):
        count = self._args["count"]
        return self._input_rows(lambda order: order if count == -1 else order[:count])

    def _elements(self):
        count = self._args["count"]
        elements = self._inputs[0]._numpy_iter()
        return elements if count == -1 else itertools.islice(elements, count)


class SkipDataset(Dataset):
    _kind = "skip"

    def __init__(self, input, count):
        super().__init__([input], count=check_int(count, "skip: `count`", -1))

    def _cardinality(self):
        n, count = self._inputs[0]._cardinality(), self._args["count"]
        if count == -1:
            return 0
        return n if n < 0 else max(0, n - count)

    def _rows(self):
        count = self._args["count"]
        return self._input_rows(lambda order: order[len(order):] if count == -1 else order[count:])

    def _elements(self):
        count = self._args["count"]
        return iter(()) if count == -1 else itertools.islice(self._inputs[0]._numpy_iter(), count, None)


class RepeatDataset(Dataset):
    _kind = "repeat"

    def __init__(self, input, count):
        super().__init__([input], count=-1 if count is None else check_int(count, "repeat: `count`", -1))

    def _cardinality(self):
        n, count = self._inputs[0]._cardinality(), self._args["count"]
        if n == 0 or count == 0:
            return 0
        if count == -1:
            return INFINITE_CARDINALITY
        return n if n < 0 else n * count

    def _elements(self):
        count = self._args["count"]
        for _ in itertools.count() if count == -1 else range(count):
            empty = True
            for element in self._inputs[0]._numpy_iter():
                empty = False
                yield element
            if empty:  # nothing to repeat, even forever
                return


class FilterDataset(Dataset):
    _kind = "filter"

    def __init__(self, input, predicate):
        if not callable(predicate):
            raise TypeError(f"filter: `predicate` must be callable, got {type(predicate).__name__}")
        super().__init__([input], predicate=predicate)

    def _cardinality(self):
        return UNKNOWN_CARDINALITY

    def _elements(self):
        for element in self._inputs[0]._numpy_iter():
            keep = np.asarray(_call(self._args["predicate"], element))
            if keep.shape != () or keep.dtype.kind not in "biuf":
                raise ValueError("filter: `predicate` must return a scalar boolean (a bool, or a scalar Tensor), "
                                 f"got {keep.dtype} of shape {keep.shape}")
            if keep:
                yield element


class EnumerateDataset(Dataset):
    _kind = "enumerate"

    def __init__(self, input, start):
        super().__init__([input], start=check_int(start, "enumerate: `start`"))

    def _element_spec(self):
        return TensorSpec((), "int64"), self._inputs[0].element_spec

    def _elements(self):
        for i, element in enumerate(self._inputs[0]._numpy_iter(), self._args["start"]):
            yield np.int64(i), element


class ShardDataset(Dataset):
    _kind = "shard"

    def __init__(self, input, num_shards, index):
        num_shards = check_int(num_shards, "shard: `num_shards`", 1)
        index = check_int(index, "shard: `index`", 0)
        if index >= num_shards:
            raise ValueError(f"shard: `index` must be less than `num_shards` ({num_shards}), got {index}")
        super().__init__([input], num_shards=num_shards, index=index)

    def _cardinality(self):
        n, k, i = self._inputs[0]._cardinality(), self._args["num_shards"], self._args["index"]
        return n if n < 0 else n // k + (i < n % k)

    def _rows(self):
        return self._input_rows(lambda order: order[self._args["index"]::self._args["num_shards"]])

    def _elements(self):
        return itertools.islice(self._inputs[0]._numpy_iter(), self._args["index"], None, self._args["num_shards"])


class MapDataset(Dataset):
    _kind = "map"

    def __init__(self, input, map_func, num_parallel_calls, deterministic):
        if not callable(map_func):
            raise TypeError(f"map: `map_func` must be callable, got {type(map_func).__name__}")
        if num_parallel_calls is not None and check_int(num_parallel_calls, "map: `num_parallel_calls`", -1) == 0:
            raise ValueError("map: `num_parallel_calls` must be None, AUTOTUNE (-1) or an int >= 1, got 0")
        if deterministic is not None:
            check_bool(deterministic, "map: `deterministic`")
        super().__init__([input], map_func=map_func, num_parallel_calls=num_parallel_calls,
                         deterministic=deterministic)

    def _apply(self, element):
        result = _call(self._args["map_func"], element)
        return normalize(tuple(result) if isinstance(result, list) else result, "map: `map_func`'s result")

    def _element_spec(self):
        # Sizes 1 and 2 for the input's unknown dimensions: the result's dimensions that differ are unknown.
        spec = self._inputs[0].element_spec
        return map_structure(relax, *(spec_of(self._apply(zeros_like_spec(spec, size))) for size in (1, 2)))

    def _elements(self):
        return map(self._apply, self._inputs[0]._numpy_iter())


class CacheDataset(Dataset):
    _kind = "cache"

    def __init__(self, input, filename):
        if not isinstance(filename, str):
            raise TypeError(f"cache: `filename` must be a str, got {type(filename).__name__}")
        if filename:
            raise NotImplementedError(f"cache: only the in-memory cache (filename='') is supported, "
                                      f"got filename={filename!r}")
        super().__init__([input], filename=filename)
        self._cache = None  # the input's rows, or the list of elements of its first complete iteration

    def _rows(self):
        if self._cache is None:
            self._cache = self._inputs[0]._rows()
        return self._cache if isinstance(self._cache, tuple) else None

    def _elements(self):
        if self._cache is not None:
            yield from self._cache
            return
        elements = []
        for element in self._inputs[0]._numpy_iter():
            elements.append(element)
            yield element
        self._cache = elements  # only a complete iteration is kept, as in tf.data


class PrefetchDataset(Dataset):
    _kind = "prefetch"

    def __init__(self, input, buffer_size):
        super().__init__([input], buffer_size=check_int(buffer_size, "prefetch: `buffer_size`", -1))

    def _rows(self):
        return self._input_rows(lambda order: order)

    def _elements(self):
        return self._inputs[0]._numpy_iter()
