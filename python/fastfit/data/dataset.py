"""`tf.data.Dataset`: input pipelines over in-memory arrays, generators and their transformations.

    >>> ds = Dataset.from_tensor_slices((np.arange(6.0), np.arange(6))).shuffle(4, seed=1).batch(4)
    >>> [(x.shape, y.shape) for x, y in ds]
    [((4,), (4,)), ((2,), (2,))]

Elements are structures (structure.py) of numpy arrays inside the pipeline. Python iteration yields
them as fastfit Tensors, `as_numpy_iterator()` as numpy values. The operators follow tf.data in
order, cardinality, element_spec and errors; where fastfit differs, the method's docstring says so.

The pipeline stays inspectable, so that the trainer can run an in-memory pipeline (from_tensor_slices,
shuffle, batch, cache, prefetch, ...) on its C++ array source instead of iterating it in Python:

- `_kind`: the operator that made the dataset, the name of its method: "from_tensor_slices",
  "from_tensors", "range", "from_generator", "zip", "concatenate", "shuffle", "batch", "unbatch",
  "rebatch", "take", "skip", "repeat", "filter", "enumerate", "shard", "map", "cache", "prefetch".
- `_inputs`: tuple of the datasets it reads: () for sources, (a, b) for `a.concatenate(b)`, the
  datasets of `zip` in flatten order, else (input,).
- `_args`: dict of its validated arguments, named as in the method: {"tensors": structure of numpy
  arrays} for from_tensor_slices and from_tensors; {"buffer_size", "seed", "reshuffle_each_iteration"}
  for shuffle, where "seed" is the seed in use (drawn from `fastfit.backend.rng()` when not given);
  {"count": -1} stands for repeat(None), take(-1) and skip(-1); {"datasets": structure} for zip.
- `_numpy_iter()`: a new iteration (a new shuffle order) of numpy structures, no Tensor conversion:
  what the trainer's producer thread iterates.
- `_rows()`: None, or `(table, order)` when this iteration's elements are the rows `order` (a range
  or an int64 array) of `table` (a structure of arrays, one row per element). from_tensor_slices has
  rows, and so do shuffle, take, skip, shard, cache and prefetch of a dataset with rows; `batch`
  cuts its batches from them at once (a range of rows is a view, shuffled rows a gather).
"""
import numpy as np

from ..tensor import Tensor, _core_dtype
from .structure import map_structure, to_tensors

AUTOTUNE = -1
INFINITE_CARDINALITY = -1
UNKNOWN_CARDINALITY = -2


class Count(int):
    """A number of elements: an int that also answers `.numpy()`, as TensorFlow's scalar tensor does."""

    def numpy(self):
        return np.int64(self)


def check_int(value, what, minimum=None):
    """`value` as an int >= `minimum`; TypeError or ValueError naming `what` otherwise."""
    expected = "an int" if minimum is None else f"an int >= {minimum}"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{what} must be {expected}, got {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{what} must be {expected}, got {value}")
    return int(value)


def check_bool(value, what):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{what} must be a bool, got {value!r}")
    return bool(value)


def gather(table, rows):
    """The `rows` of every array in `table`: one row (an int), a view (a range) or a copy (int array)."""
    key = slice(rows.start, rows.stop, rows.step) if isinstance(rows, range) else rows
    return map_structure(lambda a: a[key], table)


def gather_tensors(table, rows):
    """The `rows` (a range or an int array) of every array in `table` as new fastfit Tensors, in the
    dtypes fastfit computes in, copied once."""
    if isinstance(rows, range):  # views of the table: copied into the Tensors
        key = slice(rows.start, rows.stop, rows.step)
        return map_structure(lambda a: Tensor(np.ascontiguousarray(a[key], _core_dtype(a))), table)
    # new arrays, held by nobody else: the Tensors take them as they are
    return map_structure(lambda a: Tensor.view(a[rows].astype(_core_dtype(a), copy=False)), table)


class Dataset:
    """A sequence of elements, each a structure of tensors, made by the `from_*` and `range`
    constructors and transformed by the other methods (each returns a new Dataset)."""

    _kind = None

    def __init__(self, inputs, **args):
        self._inputs = tuple(inputs)
        self._args = args
        self._spec = None

    # --- what subclasses define (by default: the input's count and spec, no rows) ---------------
    def _cardinality(self):
        return self._inputs[0]._cardinality()

    def _element_spec(self):
        return self._inputs[0].element_spec

    def _rows(self):
        """None, or this new iteration's `(table, order)` (see the module docstring)."""
        return None

    def _elements(self):
        """A new iteration of the numpy elements (used when `_rows()` is None)."""
        raise NotImplementedError

    def _input_rows(self, select):
        """The input's `(table, select(order))`, or None when the input has no rows."""
        rows = self._inputs[0]._rows()
        return None if rows is None else (rows[0], select(rows[1]))

    # --- iteration and description -----------------------------------------------------------
    def _numpy_iter(self):
        """A new iteration of the elements as numpy structures (see the module docstring)."""
        rows = self._rows()
        if rows is None:
            return self._elements()
        table, order = rows
        return (gather(table, i) for i in order)

    def __iter__(self):
        """A new iteration (with a new shuffle order) of the elements as fastfit Tensors, which hold
        float32 or int32 (the dtypes fastfit computes in) where element_spec may say float64 or int64."""
        return self._tensors()

    def _tensors(self):
        """A new iteration of the elements as fastfit Tensors (see __iter__)."""
        return (to_tensors(element) for element in self._numpy_iter())

    def as_numpy_iterator(self):
        """A new iteration of the elements as numpy values; arrays may be views of the dataset's own
        data, so copy one before changing it in place.

        >>> [x.tolist() for x in Dataset.range(5).batch(2).as_numpy_iterator()]
        [[0, 1], [2, 3], [4]]
        """
        return (map_structure(lambda a: a[()] if a.ndim == 0 else a, element) for element in self._numpy_iter())

    @property
    def element_spec(self):
        """The structure of TensorSpecs of an element; None marks a dimension whose size varies.

        >>> Dataset.from_tensor_slices({"x": np.zeros((10, 3))}).batch(4).element_spec
        {'x': TensorSpec(shape=(None, 3), dtype=tf.float64, name=None)}
        """
        if self._spec is None:
            self._spec = self._element_spec()
        return self._spec

    def cardinality(self):
        """The number of elements, or INFINITE_CARDINALITY (-1), or UNKNOWN_CARDINALITY (-2) when
        it depends on the data (filter, from_generator), as tf.data counts them.

        >>> Dataset.range(10).batch(3).cardinality(), Dataset.range(10).repeat().cardinality()
        (4, -1)
        """
        return Count(self._cardinality())

    def __len__(self):
        n = self._cardinality()
        if n == INFINITE_CARDINALITY:
            raise TypeError("The dataset is infinite.")
        if n == UNKNOWN_CARDINALITY:
            raise TypeError("The dataset length is unknown.")
        return n

    def __bool__(self):  # not len(): an infinite dataset is a dataset too
        return True

    def __repr__(self):
        return f"<{type(self).__name__} element_spec={self.element_spec}>"

    # --- sources ----------------------------------------------------------------------------
    @staticmethod
    def from_tensor_slices(tensors):
        """The slices of `tensors` along their first axis: an array, a list (one tensor), or a
        tuple/dict/nested structure of them, whose components all have the same length. The arrays
        are used in place, not copied.

        >>> ds = Dataset.from_tensor_slices(({"a": [1, 2]}, np.array([[1.0], [2.0]])))
        >>> ds.element_spec[1], len(ds)
        (TensorSpec(shape=(1,), dtype=tf.float64, name=None), 2)
        """
        return sources.TensorSliceDataset(tensors)

    @staticmethod
    def from_tensors(tensors):
        """One element: `tensors` (an array or a structure of them).

        >>> Dataset.from_tensors(([1, 2], 3.0)).element_spec[0]
        TensorSpec(shape=(2,), dtype=tf.int32, name=None)
        """
        return sources.TensorDataset(tensors)

    @staticmethod
    def range(*args):
        """int64 scalars as Python's `range(stop)`, `range(start, stop)`, `range(start, stop, step)`.

        >>> [int(x) for x in Dataset.range(5, 0, -2)]
        [5, 3, 1]
        """
        return sources.RangeDataset(*args)

    @staticmethod
    def from_generator(generator, output_types=None, output_shapes=None, args=None, output_signature=None):
        """The elements yielded by `generator(*args)`, called anew for each iteration. Each element
        must fit `output_signature` (a TensorSpec structure), or the older `output_types` (a dtype
        structure) with optional `output_shapes`; it is cast to the signature's dtypes (not from
        floats to ints). `args` reach the generator as TensorFlow passes them: numbers as numpy
        values (Python ints as np.int32, floats as np.float32), strings as bytes.

        >>> def gen(n):
        ...     yield from ((i, [i, i]) for i in range(n))
        >>> ds = Dataset.from_generator(gen, args=(3,), output_signature=(
        ...     tf.TensorSpec((), tf.int64), tf.TensorSpec((2,), tf.int64)))
        >>> [int(a) for a, b in ds], ds.cardinality()
        ([0, 1, 2], -2)
        """
        return sources.GeneratorDataset(generator, output_types, output_shapes, args, output_signature)

    @staticmethod
    def zip(*args, datasets=None):
        """Elements of several datasets side by side, in their structure, until the shortest ends:
        `Dataset.zip(a, b)`, `Dataset.zip((a, b))`, `Dataset.zip({"x": a, "y": b})`.

        >>> [(int(a), int(b)) for a, b in Dataset.zip(Dataset.range(3), Dataset.range(5, 10))]
        [(0, 5), (1, 6), (2, 7)]
        """
        if args and datasets is not None:
            raise TypeError("zip: give the datasets either as positional arguments or as `datasets`, not both")
        if datasets is None:
            if not args:
                raise TypeError("zip: give at least one dataset")
            datasets = args[0] if len(args) == 1 else args
        return transformations.ZipDataset(datasets)

    # --- transformations ----------------------------------------------------------------------
    def concatenate(self, dataset):
        """This dataset's elements, then `dataset`'s (same structure and dtypes; shapes are relaxed).

        >>> [int(x) for x in Dataset.range(2).concatenate(Dataset.range(5, 7))]
        [0, 1, 5, 6]
        """
        return transformations.ConcatenateDataset(self, dataset)

    def shuffle(self, buffer_size, seed=None, reshuffle_each_iteration=True):
        """Shuffles with tf.data's buffer: fill a buffer of `buffer_size` elements, then emit one from
        a random slot and put the next element there. A buffer as large as the dataset gives a uniform
        shuffle; a smaller one a local one (an element comes out at most buffer_size - 1 places early).

        The order comes from `seed`, or, without one, from a seed drawn now from fastfit's generator
        (`keras.utils.set_random_seed` makes it repeatable); the orders are not TensorFlow's. With
        `reshuffle_each_iteration`, each iteration (each epoch, each repetition of `repeat`) has a new
        order, the same sequence of orders each time the dataset is made with that seed; without, one.

        >>> sorted(int(x) for x in Dataset.range(5).shuffle(2, seed=0))
        [0, 1, 2, 3, 4]
        """
        return transformations.ShuffleDataset(self, buffer_size, seed, reshuffle_each_iteration)

    def batch(self, batch_size, drop_remainder=False):
        """Stacks `batch_size` consecutive elements into one; the last batch holds the rest, unless
        `drop_remainder`. element_spec gives the batch axis as None unless `drop_remainder`.

        >>> [b.tolist() for b in Dataset.range(7).batch(3, drop_remainder=True).as_numpy_iterator()]
        [[0, 1, 2], [3, 4, 5]]
        """
        return batching.BatchDataset(self, batch_size, drop_remainder)

    def unbatch(self):
        """Splits each element along its first axis into elements.

        >>> [int(x) for x in Dataset.range(5).batch(2).unbatch()]
        [0, 1, 2, 3, 4]
        """
        return batching.UnbatchDataset(self)

    def rebatch(self, batch_size, drop_remainder=False):
        """Batches of `batch_size` elements from a batched dataset: `unbatch().batch(...)`, with
        cardinality unknown, as tf.data counts it.

        >>> [b.tolist() for b in Dataset.range(5).batch(2).rebatch(3).as_numpy_iterator()]
        [[0, 1, 2], [3, 4]]
        """
        return batching.RebatchDataset(self, batch_size, drop_remainder)

    def take(self, count):
        """The first `count` elements (all of them when count is -1).

        >>> [int(x) for x in Dataset.range(10).take(3)]
        [0, 1, 2]
        """
        return transformations.TakeDataset(self, count)

    def skip(self, count):
        """All but the first `count` elements (none of them when count is -1).

        >>> [int(x) for x in Dataset.range(5).skip(3)]
        [3, 4]
        """
        return transformations.SkipDataset(self, count)

    def repeat(self, count=None):
        """The elements `count` times over (forever when count is None or -1); each repetition is a
        new iteration of this dataset (a new shuffle order).

        >>> [int(x) for x in Dataset.range(2).repeat(2)]
        [0, 1, 0, 1]
        """
        return transformations.RepeatDataset(self, count)

    def filter(self, predicate):
        """The elements for which `predicate` (called on Tensors, a tuple spread over its positional
        arguments) returns True: a Python or numpy bool, or a scalar Tensor (nonzero is True).

        >>> [int(x) for x in Dataset.range(6).filter(lambda x: x < 2)]
        [0, 1]
        """
        return transformations.FilterDataset(self, predicate)

    def enumerate(self, start=0):
        """Pairs (int64 index from `start`, element).

        >>> [(int(i), int(x)) for i, x in Dataset.range(5, 7).enumerate()]
        [(0, 5), (1, 6)]
        """
        return transformations.EnumerateDataset(self, start)

    def shard(self, num_shards, index):
        """Every `num_shards`-th element, from the `index`-th.

        >>> [int(x) for x in Dataset.range(10).shard(3, 1)]
        [1, 4, 7]
        """
        return transformations.ShardDataset(self, num_shards, index)

    def map(self, map_func, num_parallel_calls=None, deterministic=None):
        """`map_func` applied to each element, given as fastfit Tensors (a tuple spread over its
        positional arguments, as tf.data does); it returns a tensor, numpy value or Python number,
        or a structure of them (a list is taken as a tuple of components, as tf.data takes it).

        Elements are mapped one at a time, in order, which every value of `num_parallel_calls`
        (None, AUTOTUNE or a positive int) and `deterministic` allows. element_spec calls
        `map_func` on zeros shaped as the input's element_spec, as TensorFlow traces it; twice, so
        that a dimension that depends on an unknown input dimension is known to be unknown.

        >>> ds = Dataset.from_tensor_slices(([1.0, 2.0], [3, 4])).map(lambda x, y: (x * 2, y))
        >>> [(float(x), int(y)) for x, y in ds]
        [(2.0, 3), (4.0, 4)]
        """
        return transformations.MapDataset(self, map_func, num_parallel_calls, deterministic)

    def cache(self, filename=""):
        """Keeps the elements of the first complete iteration in memory and replays them (a shuffled
        input keeps its first order). Caching to a file is not supported.

        >>> ds = Dataset.range(4).shuffle(4).cache()
        >>> [int(x) for x in ds] == [int(x) for x in ds]
        True
        """
        return transformations.CacheDataset(self, filename)

    def prefetch(self, buffer_size):
        """The same elements. fastfit's trainer prefetches on its own thread whatever this asks; in
        Python iteration this is a no-op. `buffer_size`: AUTOTUNE (-1) or an int >= 0."""
        return transformations.PrefetchDataset(self, buffer_size)


from . import batching, sources, transformations  # noqa: E402 - they subclass Dataset
