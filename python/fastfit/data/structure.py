"""The elements of a Dataset: nested structures of arrays, and `TensorSpec`, which describes one array.

A structure is a tuple (namedtuples included), a dict, or a leaf. As in tf.data, a list is a leaf:
one tensor, not a structure (``from_tensor_slices([[1, 2], [3, 4]])`` has two elements of shape (2,)).
Dicts keep their insertion order. Inside a Dataset, leaves are numpy arrays (or numpy scalars).
"""
import reprlib

import numpy as np

from ..tensor import DType, bool_, constant, float32, float64, int32, int64, uint8

_DTYPES = {d.name: d for d in (bool_, float32, float64, int32, int64, uint8)}


def as_dtype(value, what="dtype"):
    """The fastfit DType for a DType, a numpy dtype or type, a name, or `float` (float32, as in TF)."""
    if isinstance(value, DType):
        return value
    try:
        dtype = None if value is None else np.dtype(np.float32 if value is float else value)
    except TypeError:
        dtype = None
    if dtype is None or dtype.kind not in "biuf":
        raise TypeError(f"{what} must be a numeric or boolean dtype (tf.float32, 'int64', np.uint8, ...), "
                        f"got {value!r}")
    return _DTYPES.setdefault(dtype.name, DType(dtype.name))


def as_shape(value, what="shape"):
    """A shape as a tuple of ints and Nones (None: a dimension of any size); None stays None (any rank)."""
    if value is None:
        return None
    if isinstance(value, (tuple, list)) and all(
            d is None or isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d >= 0 for d in value):
        return tuple(None if d is None else int(d) for d in value)
    raise TypeError(f"{what} must be a tuple or list of dimensions (ints >= 0, or None for any size), "
                    f"or None for any rank, got {value!r}")


class TensorSpec:
    """Describes a tensor: its shape and dtype. In `shape`, None is a dimension of any size; a shape
    of None is a tensor of any rank.

    >>> TensorSpec((None, 3))
    TensorSpec(shape=(None, 3), dtype=tf.float32, name=None)
    >>> TensorSpec((None, 3)).is_compatible_with(TensorSpec((64, 3)))
    True
    """

    def __init__(self, shape, dtype=float32, name=None):
        if name is not None and not isinstance(name, str):
            raise TypeError(f"TensorSpec: `name` must be a str or None, got {name!r}")
        self.shape = as_shape(shape, "TensorSpec: `shape`")
        self.dtype = as_dtype(dtype, "TensorSpec: `dtype`")
        self.name = name

    def is_compatible_with(self, spec):
        """True when `spec` has this dtype and a shape that agrees with this one where both are known."""
        return isinstance(spec, TensorSpec) and spec.dtype == self.dtype and shapes_agree(spec.shape, self.shape)

    def __eq__(self, other):
        return (isinstance(other, TensorSpec)
                and (self.shape, self.dtype, self.name) == (other.shape, other.dtype, other.name))

    def __hash__(self):
        return hash((self.shape, self.dtype, self.name))

    def __repr__(self):
        shape = "<unknown>" if self.shape is None else self.shape
        return f"TensorSpec(shape={shape}, dtype={self.dtype!r}, name={self.name!r})"


def shapes_agree(a, b):
    """True when shapes `a` and `b` can describe the same array (None matches any size or rank)."""
    return a is None or b is None or len(a) == len(b) and all(x is None or y is None or x == y for x, y in zip(a, b))


def relax(a, b):
    """The most specific TensorSpec that both `a` and `b` fit: sizes that differ become None."""
    if a.shape is None or b.shape is None or len(a.shape) != len(b.shape):
        return TensorSpec(None, a.dtype)
    return TensorSpec(tuple(x if x == y else None for x, y in zip(a.shape, b.shape)), a.dtype)


def map_structure(fn, structure, *others):
    """`fn(leaf, *others_leaves)` over the leaves of `structure`, rebuilt in its structure. `others`
    share the structure down to its leaves (below them they may go on: a leaf takes what sits there).

    >>> map_structure(lambda a, b: a + b, (1, {"x": 2}), (10, {"x": 20}))
    (11, {'x': 22})
    """
    if isinstance(structure, dict):
        if any(not isinstance(o, dict) or o.keys() != structure.keys() for o in others):
            raise ValueError(f"the structures {structure!r} and {others!r} do not match")
        return {k: map_structure(fn, v, *(o[k] for o in others)) for k, v in structure.items()}
    if isinstance(structure, tuple):
        if any(not isinstance(o, tuple) or len(o) != len(structure) for o in others):
            raise ValueError(f"the structures {structure!r} and {others!r} do not match")
        values = [map_structure(fn, *parts) for parts in zip(structure, *others)]
        return type(structure)(*values) if hasattr(structure, "_fields") else tuple(values)
    return fn(structure, *others)


def flatten(structure):
    """The leaves of `structure`, in order."""
    if isinstance(structure, dict):
        structure = tuple(structure.values())
    if isinstance(structure, tuple):
        return [leaf for part in structure for leaf in flatten(part)]
    return [structure]


def pack_as(structure, leaves):
    """`leaves` (in flatten's order) rebuilt in `structure`."""
    leaves = iter(leaves)
    return map_structure(lambda _: next(leaves), structure)


def same_structure(a, b):
    """True when `a` and `b` nest the same tuples (of the same lengths) and dicts (with the same keys)."""
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same_structure(a[k], b[k]) for k in a)
    if isinstance(a, tuple):
        return isinstance(b, tuple) and len(a) == len(b) and all(map(same_structure, a, b))
    return not isinstance(b, (tuple, dict))


def to_array(value, what):
    """A leaf as a numpy array with TensorFlow's dtype: numpy arrays, Tensors and pandas objects keep
    theirs; Python ints become int32 (int64 when too large) and Python floats float32, as `tf.constant`
    makes them."""
    try:
        array = np.asarray(value)
    except ValueError as e:  # a ragged nested list
        raise ValueError(f"{what}: can't convert a non-rectangular Python sequence to a tensor ({e})") from None
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{what} must hold numbers or booleans (fastfit tensors hold no strings or objects), "
                        f"got dtype {array.dtype} from {reprlib.repr(value)}")
    if _python_numbers(value):
        if array.dtype == np.float64:
            return array.astype(np.float32)
        if array.dtype == np.int64 and (array.size == 0 or -2**31 <= array.min() and array.max() < 2**31):
            return array.astype(np.int32)
    return array


def _python_numbers(value):
    """True for a Python number or a (nested) list of them, not numpy values (np.float64 is a float)."""
    if isinstance(value, list):
        return all(map(_python_numbers, value))
    return isinstance(value, (bool, int, float)) and not isinstance(value, np.generic)


def normalize(structure, what):
    """`structure` with every leaf converted by `to_array`."""
    return map_structure(lambda leaf: to_array(leaf, what), structure)


def spec_of(element):
    """The TensorSpec structure of an element of arrays."""
    return map_structure(lambda a: TensorSpec(a.shape, a.dtype), element)


def to_tensors(element):
    """The element as fastfit Tensors (float32 or int32: the dtypes the core computes in)."""
    return map_structure(constant, element)


def zeros_like_spec(spec, size):
    """An element of zeros fitting `spec`, with `size` for each unknown dimension (and rank)."""
    return map_structure(
        lambda s: np.zeros((size,) * size if s.shape is None else [size if d is None else d for d in s.shape],
                           s.dtype.as_numpy_dtype), spec)
