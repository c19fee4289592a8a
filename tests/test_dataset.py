"""tf.data.Dataset: each operator against a plain-Python reference (order, cardinality, remainders,
shuffle-buffer locality, seeds), element_spec, structures and errors; TensorFlow's values (observed
with TF 2.21) are written down as plain expectations. A parity test runs the same pipelines in
TensorFlow, in a subprocess, where it is installed."""
import collections
import doctest
import importlib.util
import inspect
import json
import subprocess
import sys

import numpy as np
import pytest

import fastfit as tf
from fastfit.data import dataset as dataset_module, structure
from fastfit.data.transformations import shuffle_buffer

Dataset = tf.data.Dataset
INF, UNKNOWN = tf.data.INFINITE_CARDINALITY, tf.data.UNKNOWN_CARDINALITY


def values(ds):
    """The elements as Python numbers and lists (tuples and dicts kept)."""
    return [structure.map_structure(lambda a: a.tolist(), e) for e in ds.as_numpy_iterator()]


def shapes(spec):
    return structure.map_structure(lambda s: s.shape, spec)


# --- sources -------------------------------------------------------------------------------------

def test_from_tensor_slices_structures():
    x, y = np.arange(12.0).reshape(4, 3), np.arange(4)
    assert values(Dataset.from_tensor_slices(x)) == x.tolist()
    assert values(Dataset.from_tensor_slices((x, y))) == [(x[i].tolist(), int(y[i])) for i in range(4)]
    nested = Dataset.from_tensor_slices({"b": y, "a": (x, [[1, 2]] * 4)})
    assert values(nested)[1] == {"b": 1, "a": ([3.0, 4.0, 5.0], [1, 2])}
    assert list(nested.element_spec) == ["b", "a"]  # insertion order, as tf.data keeps it
    Point = collections.namedtuple("Point", "x y")
    assert type(next(iter(Dataset.from_tensor_slices(Point(x, y))))) is Point


def test_from_tensor_slices_dtypes_follow_tensorflow():
    spec = Dataset.from_tensor_slices(([1, 2], [1.0, 2.0], [2**40, 1], np.arange(2.0), [True, False],
                                       [np.float64(1), 2.0], tf.constant([1.0, 2.0]))).element_spec
    assert [s.dtype.name for s in spec] == ["int32", "float32", "int64", "float64", "bool", "float64", "float32"]


def test_from_tensor_slices_uses_the_arrays_in_place():
    x = np.arange(6.0).reshape(3, 2)
    batch = next(Dataset.from_tensor_slices(x).batch(2)._numpy_iter())
    assert np.shares_memory(batch, x)


def test_from_tensor_slices_errors():
    with pytest.raises(ValueError, match=r"same length .*got lengths \[3, 4\]"):
        Dataset.from_tensor_slices((np.arange(3), np.arange(4)))
    with pytest.raises(ValueError, match="first axis"):
        Dataset.from_tensor_slices(3)
    with pytest.raises(ValueError, match="non-rectangular"):
        Dataset.from_tensor_slices([[1, 2], [3]])
    with pytest.raises(TypeError, match="numbers or booleans.*<U1"):
        Dataset.from_tensor_slices(["a", "b"])
    with pytest.raises(ValueError, match="no components"):
        Dataset.from_tensor_slices(())


def test_from_tensors():
    ds = Dataset.from_tensors(([1, 2], 3.5))
    assert values(ds) == [([1, 2], 3.5)] and ds.cardinality() == 1
    assert shapes(ds.element_spec) == ((2,), ())


@pytest.mark.parametrize("args", [(5,), (2, 10), (2, 10, 3), (5, 0, -2), (5, 2), (-3, 3)])
def test_range_is_pythons_range_in_int64(args):
    ds = Dataset.range(*args)
    assert values(ds) == list(range(*args)) and ds.cardinality() == len(range(*args))
    assert ds.element_spec == tf.TensorSpec((), tf.int64)
    assert all(type(v) is np.int64 for v in ds.as_numpy_iterator())


def test_range_errors():
    with pytest.raises(ValueError, match="`step` must not be zero"):
        Dataset.range(0, 5, 0)
    with pytest.raises(TypeError, match=r"`start` must be an int, got 0.5"):
        Dataset.range(0.5, 3)
    with pytest.raises(TypeError, match="got 0 arguments"):
        Dataset.range()


def test_from_generator_calls_the_generator_per_iteration_with_tf_args():
    calls = []

    def gen(n, name):
        calls.append((n, name))
        for i in range(n):
            yield i, [i, i]

    ds = Dataset.from_generator(gen, args=(3, "a"), output_signature=(tf.TensorSpec((), tf.int64),
                                                                      tf.TensorSpec((2,), tf.float32)))
    assert values(ds) == values(ds) == [(i, [float(i)] * 2) for i in range(3)]
    assert calls == [(3, b"a")] * 2 and type(calls[0][0]) is np.int32  # as TF passes them
    assert ds.cardinality() == UNKNOWN
    assert [a.dtype for a in next(ds.as_numpy_iterator())] == [np.int64, np.float32]


def test_from_generator_output_types_and_shapes():
    def gen():
        yield 1, 2

    assert shapes(Dataset.from_generator(gen, output_types=(tf.int32, tf.int32)).element_spec) == (None, None)
    ds = Dataset.from_generator(gen, output_types=(tf.int32, "float32"), output_shapes=((), ()))
    assert ds.element_spec == (tf.TensorSpec((), tf.int32), tf.TensorSpec((), tf.float32))
    assert values(ds) == [(1, 2.0)]


def test_from_generator_validates_elements():
    def make(*items, signature=tf.TensorSpec((2,), tf.int32)):
        return Dataset.from_generator(lambda: iter(items), output_signature=signature)

    with pytest.raises(ValueError, match=r"element of shape \(3,\) where an element of shape \(2,\)"):
        list(make(np.zeros(3, np.int32)))
    with pytest.raises(TypeError, match="expected type was int32, but the yielded element was"):
        list(make([1.5, 2.5]))
    with pytest.raises(TypeError, match="did not match the expected structure"):
        list(make((1, 2)))
    with pytest.raises(TypeError, match="did not match the expected structure"):
        list(make({"b": 1}, signature={"a": tf.TensorSpec((), tf.int32)}))
    with pytest.raises(TypeError, match="must return an iterable"):
        list(Dataset.from_generator(lambda: 3, output_types=tf.int32))


def test_from_generator_argument_errors():
    def gen():
        yield 1

    with pytest.raises(TypeError, match="`generator` must be a callable"):
        Dataset.from_generator(gen(), output_types=tf.int32)
    with pytest.raises(TypeError, match="give `output_signature`"):
        Dataset.from_generator(gen, output_shapes=())
    with pytest.raises(TypeError, match="cannot be used together"):
        Dataset.from_generator(gen, output_types=tf.int32, output_signature=tf.TensorSpec(()))
    with pytest.raises(TypeError, match="structure of TensorSpecs"):
        Dataset.from_generator(gen, output_signature=(tf.int32,))
    with pytest.raises(TypeError, match="`output_types` must be a numeric or boolean dtype"):
        Dataset.from_generator(gen, output_types="string")
    with pytest.raises(TypeError, match="`args` must be a tuple or list"):
        Dataset.from_generator(gen, output_types=tf.int32, args=3)


def test_zip():
    a, b = Dataset.range(3), Dataset.range(10, 15)
    expected = [(0, 10), (1, 11), (2, 12)]
    assert values(Dataset.zip(a, b)) == values(Dataset.zip((a, b))) == expected
    assert values(Dataset.zip({"a": a, "b": (b, a)}))[1] == {"a": 1, "b": (11, 1)}
    assert values(Dataset.zip(a)) == [0, 1, 2]
    assert Dataset.zip(a, b).cardinality() == 3
    with pytest.raises(TypeError, match="at least one dataset"):
        Dataset.zip()
    with pytest.raises(TypeError, match="not both"):
        Dataset.zip(a, datasets=(b,))
    with pytest.raises(TypeError, match="each of `datasets` must be a Dataset, got int"):
        Dataset.zip((a, 3))


def test_concatenate():
    ds = Dataset.range(3).batch(2).concatenate(Dataset.range(5, 11).batch(3, drop_remainder=True))
    assert values(ds) == [[0, 1], [2], [5, 6, 7], [8, 9, 10]] and ds.cardinality() == 4
    assert shapes(ds.element_spec) == (None,)
    assert shapes(Dataset.range(2).concatenate(Dataset.range(2).batch(1)).element_spec) is None  # ranks differ
    with pytest.raises(TypeError, match="incompatible dataset elements"):
        Dataset.range(2).concatenate(Dataset.from_tensor_slices([1.0]))
    with pytest.raises(TypeError, match="incompatible dataset elements"):
        Dataset.range(2).concatenate(Dataset.zip(Dataset.range(2), Dataset.range(2)))
    with pytest.raises(TypeError, match="`dataset` must be a Dataset"):
        Dataset.range(2).concatenate([1])


# --- shuffle --------------------------------------------------------------------------------------

@pytest.mark.parametrize("buffer_size", [1, 2, 5, 64, 1000])
def test_shuffle_is_a_local_permutation(buffer_size):
    n = 500
    for seed in range(5):
        order = values(Dataset.range(n).shuffle(buffer_size, seed=seed))
        assert sorted(order) == list(range(n))
        # element i enters the buffer after i - (buffer_size - 1) elements have left it
        assert all(position >= i - (buffer_size - 1) for position, i in enumerate(order))
    if buffer_size == 1:
        assert order == list(range(n))


def test_shuffle_with_a_full_buffer_is_uniform():
    firsts = collections.Counter(values(Dataset.range(4).shuffle(4, seed=s))[0] for s in range(4000))
    assert sorted(firsts) == [0, 1, 2, 3] and all(abs(c - 1000) < 150 for c in firsts.values())  # ~5 sigma


def test_shuffle_buffer_draws():
    draws = [0.9, 0.1, 0.5, 0.0, 0.7, 0.3, 0.2]
    rng = type("Fixed", (), {"random": lambda self, n: np.array(draws + [0.0] * (n - len(draws)))})()
    # buffer [0, 1, 2]: slot 2 -> 2, refill 3; slot 0 -> 0, refill 4; slot 1 -> 1; then [4, 3] drained
    assert list(shuffle_buffer(range(5), 3, rng)) == [2, 0, 1, 4, 3]


def test_reshuffle_each_iteration():
    ds = Dataset.range(100).shuffle(100, seed=7)
    first, second = values(ds), values(ds)
    assert first != second and sorted(first) == sorted(second)
    again = Dataset.range(100).shuffle(100, seed=7)
    assert values(again) == first and values(again) == second  # the same sequence of orders
    fixed = Dataset.range(100).shuffle(100, seed=7, reshuffle_each_iteration=False)
    assert values(fixed) == values(fixed)
    repeated = values(Dataset.range(50).shuffle(50, seed=1).repeat(2))
    assert repeated[:50] != repeated[50:] and sorted(repeated[:50]) == sorted(repeated[50:])


def test_shuffle_seeds_from_set_random_seed():
    def order():
        return values(Dataset.range(100).shuffle(100))

    tf.utils.set_random_seed(3)
    a = order()
    tf.utils.set_random_seed(3)
    assert order() == a
    assert order() != a  # the global generator moved on
    assert values(Dataset.range(100).shuffle(100, seed=1)) != values(Dataset.range(100).shuffle(100, seed=2))


def test_shuffled_batches_gather_the_rows_shuffled_elements_would_give():
    x = np.arange(300.0).reshape(100, 3)
    rows = values(Dataset.from_tensor_slices(x).shuffle(16, seed=5).batch(8))
    elements = values(Dataset.from_tensor_slices(x).shuffle(16, seed=5))
    assert rows == [elements[i:i + 8] for i in range(0, 100, 8)]
    generated = Dataset.from_generator(lambda: iter(x), output_signature=tf.TensorSpec((3,), tf.float64))
    assert values(generated.shuffle(16, seed=5).batch(8)) == rows  # the generic path, same order


def test_shuffle_of_an_infinite_dataset_streams():
    out = values(Dataset.range(3).repeat().shuffle(2, seed=0).take(6))
    # 6 outputs of a buffer of 2 come from the first 7 elements of the stream
    assert len(out) == 6 and not collections.Counter(out) - collections.Counter([0, 1, 2, 0, 1, 2, 0])


def test_shuffle_errors():
    with pytest.raises(ValueError, match=r"`buffer_size` must be an int >= 1, got 0"):
        Dataset.range(3).shuffle(0)
    with pytest.raises(TypeError, match="`seed` must be an int"):
        Dataset.range(3).shuffle(2, seed=1.5)
    with pytest.raises(TypeError, match="`reshuffle_each_iteration` must be a bool"):
        Dataset.range(3).shuffle(2, reshuffle_each_iteration=None)


# --- batching -------------------------------------------------------------------------------------

@pytest.mark.parametrize("n,size,drop", [(10, 3, False), (10, 3, True), (9, 3, False), (2, 5, False), (2, 5, True),
                                         (0, 4, False)])
def test_batch_against_slicing(n, size, drop):
    items = list(range(n))
    expected = [items[i:i + size] for i in range(0, n, size) if not drop or i + size <= n]
    x = np.arange(n * 2).reshape(n, 2)
    for ds in (Dataset.range(n), Dataset.from_tensor_slices((np.arange(n), x))):  # elements, and rows
        batched = ds.batch(size, drop_remainder=drop)
        got = values(batched)
        assert [b if isinstance(b, list) else b[0] for b in got] == expected
        assert batched.cardinality() == len(expected)
    assert shapes(batched.element_spec) == ((size if drop else None,), (size if drop else None, 2))


def test_batch_of_dicts_and_generic_elements():
    ds = Dataset.from_tensor_slices({"a": np.zeros((5, 2))}).map(lambda d: {"a": d["a"], "n": 1}).batch(2)
    assert [{k: np.shape(v) for k, v in b.items()} for b in values(ds)] == [{"a": (2, 2), "n": (2,)}] * 2 + [
        {"a": (1, 2), "n": (1,)}]


def test_batch_errors():
    with pytest.raises(ValueError, match=r"`batch_size` must be an int >= 1, got 0"):
        Dataset.range(3).batch(0)
    with pytest.raises(TypeError, match="`batch_size` must be an int >= 1, got 2.0"):
        Dataset.range(3).batch(2.0)
    with pytest.raises(TypeError, match="`drop_remainder` must be a bool"):
        Dataset.range(3).batch(2, drop_remainder="yes")
    ragged = Dataset.from_generator(lambda: iter([np.zeros(2), np.zeros(3)]),
                                    output_signature=tf.TensorSpec((None,), tf.float64))
    with pytest.raises(ValueError, match=r"different shapes.*\[\(2,\)\] and element 1's \[\(3,\)\]"):
        list(ragged.batch(2))


def test_unbatch_and_rebatch():
    batched = Dataset.range(10).batch(3)
    assert values(batched.unbatch()) == list(range(10)) and batched.unbatch().cardinality() == UNKNOWN
    assert batched.repeat().unbatch().cardinality() == INF
    assert values(batched.rebatch(4)) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert values(batched.rebatch(4, drop_remainder=True)) == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert batched.rebatch(4).cardinality() == UNKNOWN
    assert shapes(batched.rebatch(4, drop_remainder=True).element_spec) == (4,)
    pairs = Dataset.from_tensor_slices((np.arange(4), np.arange(8).reshape(4, 2))).batch(3).unbatch()
    assert values(pairs)[3] == (3, [6, 7]) and shapes(pairs.element_spec) == ((), (2,))
    with pytest.raises(ValueError, match="unbatch: the input's elements must be batches"):
        Dataset.range(3).unbatch()
    with pytest.raises(ValueError, match="rebatch: the input's elements must be batches"):
        Dataset.range(3).rebatch(2)


# --- take, skip, repeat, filter, enumerate, shard -------------------------------------------------

@pytest.mark.parametrize("count", [0, 3, 10, 30, -1])
def test_take_and_skip_against_slicing(count):
    items = list(range(10))
    for ds in (Dataset.range(10), Dataset.from_tensor_slices(np.arange(10))):  # elements, and rows
        assert values(ds.take(count)) == (items if count == -1 else items[:count])
        assert values(ds.skip(count)) == ([] if count == -1 else items[count:])
        taken = items if count == -1 else items[:count]
        assert values(ds.take(count).batch(4)) == [taken[i:i + 4] for i in range(0, len(taken), 4)]
        assert ds.take(count).cardinality() == len(values(ds.take(count)))
        assert ds.skip(count).cardinality() == len(values(ds.skip(count)))
    with pytest.raises(ValueError, match=r"take: `count` must be an int >= -1, got -2"):
        Dataset.range(3).take(-2)


def test_repeat():
    assert values(Dataset.range(3).repeat(2)) == [0, 1, 2] * 2
    assert values(Dataset.range(3).repeat(0)) == [] and Dataset.range(3).repeat(0).cardinality() == 0
    assert values(Dataset.range(3).repeat().take(7)) == [0, 1, 2, 0, 1, 2, 0]
    assert values(Dataset.range(3).repeat(-1).take(4)) == [0, 1, 2, 0]
    assert values(Dataset.range(0).repeat()) == []  # nothing to repeat ends, as in tf.data
    with pytest.raises(ValueError, match="`count` must be an int >= -1"):
        Dataset.range(3).repeat(-3)


def test_filter():
    assert values(Dataset.range(10).filter(lambda x: x < 4)) == [0, 1, 2, 3]  # a float32 Tensor 0/1
    assert values(Dataset.range(10).filter(lambda x: int(x) % 3 == 0)) == [0, 3, 6, 9]  # a Python bool
    pairs = Dataset.from_tensor_slices((np.arange(4), np.arange(4) * 10)).filter(lambda a, b: b > 15)
    assert values(pairs) == [(2, 20), (3, 30)] and pairs.cardinality() == UNKNOWN
    with pytest.raises(ValueError, match=r"scalar boolean.*shape \(2,\)"):
        list(Dataset.range(4).batch(2).filter(lambda x: x > 1))
    with pytest.raises(TypeError, match="`predicate` must be callable"):
        Dataset.range(3).filter(True)


def test_enumerate():
    ds = Dataset.from_tensor_slices(np.array([7, 8])).enumerate(start=5)
    assert values(ds) == [(5, 7), (6, 8)] and ds.element_spec[0] == tf.TensorSpec((), tf.int64)


@pytest.mark.parametrize("n", [0, 1, 7, 9])
def test_shard_against_slicing(n):
    for k in (1, 2, 3):
        for i in range(k):
            for ds in (Dataset.range(n), Dataset.from_tensor_slices(np.arange(n))):
                assert values(ds.shard(k, i)) == list(range(n))[i::k]
                assert ds.shard(k, i).cardinality() == len(range(n)[i::k])
    with pytest.raises(ValueError, match=r"`index` must be less than `num_shards` \(2\), got 2"):
        Dataset.range(3).shard(2, 2)
    with pytest.raises(ValueError, match="`num_shards` must be an int >= 1"):
        Dataset.range(3).shard(0, 0)


# --- map, cache, prefetch -------------------------------------------------------------------------

def test_map_arguments_and_results():
    pairs = Dataset.from_tensor_slices((np.arange(3), np.arange(3.0)))
    seen = []
    swapped = pairs.map(lambda a, b: seen.append((type(a), type(b))) or (b, a))  # a tuple is spread
    assert values(swapped) == [(0.0, 0), (1.0, 1), (2.0, 2)] and set(seen) == {(tf.Tensor, tf.Tensor)}
    assert values(Dataset.from_tensor_slices({"a": np.arange(3)}).map(lambda d: d["a"] * 2)) == [0.0, 2.0, 4.0]
    assert values(Dataset.range(2).map(lambda x: [x, 1])) == [(0, 1), (1, 1)]  # a list is a tuple
    assert Dataset.range(2).map(lambda x: 1.5).element_spec == tf.TensorSpec((), tf.float32)
    assert values(Dataset.range(4).map(lambda x: x + 1, num_parallel_calls=tf.data.AUTOTUNE,
                                       deterministic=False)) == [1, 2, 3, 4]


def test_map_element_spec_is_traced_on_the_input_spec():
    x = np.zeros((10, 4), np.float32)
    calls = []
    ds = Dataset.from_tensor_slices(x).map(lambda r: calls.append(1) or (r * 2, tf.reduce_sum(r)))
    assert calls == []  # nothing runs until asked
    assert shapes(ds.element_spec) == ((4,), ())
    assert shapes(Dataset.from_tensor_slices(x).batch(3).map(lambda r: (r, r[0])).element_spec) == ((None, 4), (4,))
    assert shapes(Dataset.from_tensor_slices(x).batch(3, drop_remainder=True).map(lambda r: r).element_spec) == (3, 4)


def test_map_errors():
    with pytest.raises(TypeError, match="`map_func` must be callable"):
        Dataset.range(3).map(3)
    with pytest.raises(ValueError, match="`num_parallel_calls` must be None, AUTOTUNE"):
        Dataset.range(3).map(abs, num_parallel_calls=0)
    with pytest.raises(TypeError, match="`deterministic` must be a bool"):
        Dataset.range(3).map(abs, deterministic=1)
    with pytest.raises(TypeError, match="`map_func`'s result must hold numbers"):
        list(Dataset.range(3).map(lambda x: None))


def test_cache_replays_the_first_complete_iteration():
    calls = []

    def gen():
        calls.append(1)
        yield from range(5)

    shuffled = Dataset.from_generator(gen, output_types=tf.int64).shuffle(5).cache()
    list(zip(range(2), shuffled))  # a partial iteration is not kept
    first = values(shuffled)
    assert values(shuffled) == first and len(calls) == 2
    rows = Dataset.from_tensor_slices(np.arange(50)).shuffle(50).cache().batch(10)
    assert values(rows) == values(rows)
    with pytest.raises(NotImplementedError, match="filename='/tmp/x'"):
        Dataset.range(3).cache("/tmp/x")


def test_prefetch():
    assert values(Dataset.range(5).prefetch(tf.data.AUTOTUNE)) == values(Dataset.range(5).prefetch(0)) == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match="`buffer_size` must be an int >= -1"):
        Dataset.range(3).prefetch(-2)


# --- cardinality, element_spec, iteration ----------------------------------------------------------

def test_cardinality_propagates_as_tensorflow_counts():
    r, inf, unknown = Dataset.range(10), Dataset.range(10).repeat(), Dataset.range(10).filter(lambda x: True)
    expected = [  # observed with TF 2.21
        (r.batch(3), 4), (inf.batch(3), INF), (unknown.batch(3), UNKNOWN), (inf.take(4), 4), (unknown.take(4), UNKNOWN),
        (inf.skip(4), INF), (r.skip(-1), 0), (r.repeat(2), 20), (unknown.repeat(2), UNKNOWN), (unknown.repeat(), INF),
        (r.take(0).repeat(), 0), (inf.filter(lambda x: True), UNKNOWN), (inf.shard(2, 0), INF), (inf.enumerate(), INF),
        (Dataset.zip(inf, r), 10), (Dataset.zip(inf, unknown), UNKNOWN), (Dataset.zip(inf, inf), INF),
        (inf.concatenate(unknown), INF), (unknown.concatenate(r), UNKNOWN), (r.concatenate(r), 20),
        (inf.map(lambda x: x).shuffle(3).cache().prefetch(1), INF), (r.shuffle(4).map(lambda x: x), 10)]
    assert [int(ds.cardinality()) for ds, _ in expected] == [n for _, n in expected]
    assert tf.data.experimental.cardinality(r) == 10 and r.cardinality().numpy() == np.int64(10)
    assert (tf.data.experimental.INFINITE_CARDINALITY, tf.data.experimental.UNKNOWN_CARDINALITY,
            tf.data.AUTOTUNE) == (-1, -2, -1)


def test_len():
    assert len(Dataset.range(10).batch(3)) == 4
    with pytest.raises(TypeError, match="The dataset is infinite."):
        len(Dataset.range(3).repeat())
    with pytest.raises(TypeError, match="The dataset length is unknown."):
        len(Dataset.range(3).filter(lambda x: True))
    assert Dataset.range(3).repeat() and Dataset.range(0)  # truthy, without len()


def test_iteration_yields_tensors_and_restarts():
    ds = Dataset.from_tensor_slices((np.arange(6.0).reshape(3, 2), np.arange(3)))
    x, y = next(iter(ds))
    assert isinstance(x, tf.Tensor) and x.numpy().tolist() == [0.0, 1.0] and int(y) == 0
    assert [int(b) for a, b in ds] == [int(b) for a, b in ds] == [0, 1, 2]
    assert type(next(ds.as_numpy_iterator())[1]) is np.int64
    assert repr(Dataset.range(3).batch(2)) == (
        "<BatchDataset element_spec=TensorSpec(shape=(None,), dtype=tf.int64, name=None)>")


def test_pipeline_records_how_it_was_made():
    x, y = np.zeros((10, 3), np.float32), np.arange(10)
    source = Dataset.from_tensor_slices((x, y))
    ds = source.cache().shuffle(8, seed=4).batch(4, drop_remainder=True).prefetch(tf.data.AUTOTUNE)
    chain, d = [], ds
    while d._inputs:
        chain.append((d._kind, d._args))
        d = d._inputs[0]
    assert chain == [("prefetch", {"buffer_size": -1}), ("batch", {"batch_size": 4, "drop_remainder": True}),
                     ("shuffle", {"buffer_size": 8, "seed": 4, "reshuffle_each_iteration": True}),
                     ("cache", {"filename": ""})]
    assert d is source and d._kind == "from_tensor_slices" and d._args["tensors"][0] is x
    assert isinstance(Dataset.range(3).shuffle(3)._args["seed"], int)  # the drawn seed is recorded
    assert Dataset.range(3).repeat()._args == {"count": -1}
    table, order = source.shuffle(8, seed=4).take(6)._rows()
    assert table[0] is x and order.tolist() == [b for a, b in values(source.shuffle(8, seed=4))][:6]


def test_tensor_spec():
    spec = tf.TensorSpec([None, 3], "float32")
    assert spec == tf.TensorSpec((None, 3)) and hash(spec) == hash(tf.TensorSpec((None, 3)))
    assert spec != tf.TensorSpec((None, 3), name="x") and spec != tf.TensorSpec((None, 3), tf.float64)
    assert spec.is_compatible_with(tf.TensorSpec((64, 3))) and not spec.is_compatible_with(tf.TensorSpec((64, 4)))
    assert tf.TensorSpec(None).is_compatible_with(spec)
    assert repr(tf.TensorSpec(None, tf.int64, name="n")) == "TensorSpec(shape=<unknown>, dtype=tf.int64, name='n')"
    assert tf.TensorSpec((), float).dtype == tf.float32 and tf.TensorSpec((), np.uint16).dtype == "uint16"
    with pytest.raises(TypeError, match="`dtype` must be a numeric or boolean dtype"):
        tf.TensorSpec((2,), "foo")
    with pytest.raises(TypeError, match="`shape` must be a tuple or list of dimensions"):
        tf.TensorSpec("ab")
    with pytest.raises(TypeError, match="`shape` must be a tuple or list of dimensions"):
        tf.TensorSpec((-1,))


def test_docstring_examples():
    for module in (dataset_module, structure):
        result = doctest.testmod(module, extraglobs={"tf": tf})
        assert result.attempted > 0 and result.failed == 0


# --- parity with TensorFlow ------------------------------------------------------------------------

PIPELINES = [  # evaluated with `tf` bound to tensorflow and to fastfit; deterministic (no shuffle)
    "D.range(10).batch(3)",
    "D.range(10).batch(3, drop_remainder=True)",
    "D.from_tensor_slices((np.arange(12.0).reshape(6, 2), np.arange(6))).batch(4)",
    "D.from_tensor_slices({'a': np.arange(5), 'b': [[1, 2]] * 5}).skip(1).take(3).batch(2)",
    "D.from_tensor_slices([1.0, 2.0, 3.0]).map(lambda x: x * 2)",
    "D.from_tensor_slices((np.arange(4), np.arange(4.0))).map(lambda a, b: (b, a)).batch(3)",
    "D.range(7).batch(3).map(lambda x: x + 1)",
    "D.range(10).filter(lambda x: x < 5).repeat(2)",
    "D.range(10).batch(3).unbatch()",
    "D.range(10).batch(3).rebatch(4)",
    "D.range(10).shard(3, 1).enumerate(2)",
    "D.zip(D.range(3), D.range(5, 10).batch(2))",
    "D.zip({'x': D.range(4), 'y': D.range(3)})",
    "D.range(2).batch(2).concatenate(D.range(5).batch(3, drop_remainder=True))",
    "D.from_tensors(([1, 2], 3.5)).repeat(3)",
    "D.range(3).repeat().take(7).cache().prefetch(tf.data.AUTOTUNE)",
    "D.from_generator(lambda: iter([(1, [1.0, 2.0]), (2, [3.0, 4.0])]),"
    " output_signature=(tf.TensorSpec((), tf.int64), tf.TensorSpec((2,), tf.float32))).batch(2)",
]

PARITY_SCRIPT = r"""
import json, os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np
import tensorflow as tf
D = tf.data.Dataset
DESCRIBE
print(json.dumps([describe(eval(p), tf) for p in json.loads(sys.stdin.read())]))
"""


def describe(ds, tf_module):
    """What parity compares: the elements as nested lists, the cardinality, element_spec's shapes."""
    def plain(x):
        if isinstance(x, dict):
            return {k: plain(v) for k, v in x.items()}
        if isinstance(x, tuple):
            return [plain(v) for v in x]
        if isinstance(x, tf_module.TensorSpec):
            shape = x.shape
            if hasattr(shape, "rank"):  # TensorFlow's TensorShape
                shape = None if shape.rank is None else shape.as_list()
            return None if shape is None else list(shape)
        return np.asarray(x).tolist()
    return {"elements": [plain(e) for e in ds.as_numpy_iterator()], "cardinality": int(ds.cardinality()),
            "shapes": plain(ds.element_spec)}


@pytest.mark.skipif(importlib.util.find_spec("tensorflow") is None, reason="tensorflow is not installed")
def test_deterministic_pipelines_match_tensorflow():
    script = PARITY_SCRIPT.replace("DESCRIBE", inspect.getsource(describe))  # the same describe() on both sides
    run = subprocess.run([sys.executable, "-c", script], input=json.dumps(PIPELINES), capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    expected = json.loads(run.stdout.strip().splitlines()[-1])
    D = Dataset  # noqa: F841 - the pipelines' name for tf.data.Dataset
    for pipeline, want in zip(PIPELINES, expected):
        got = json.loads(json.dumps(describe(eval(pipeline), tf)))
        assert got == want, pipeline
