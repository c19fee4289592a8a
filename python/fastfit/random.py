"""`keras.random` and `tf.random`: random tensors drawn from fastfit's generator.

`seed=None` draws from the global generator (`keras.utils.set_random_seed` / `tf.random.set_seed`
make it repeatable); an int seed gives the same numbers on every call, as Keras 3's stateless use of
a seed does; a `SeedGenerator` gives fresh, repeatable numbers per call.

>>> import fastfit as keras
>>> keras.random.normal((2, 3), seed=1).shape
(2, 3)

The numbers are drawn when the op runs, in NumPy: inside a model that fit compiles they would be one
call's constants, so such a call is not compiled (the two traces differ; fit says so and runs it op by
op). Layers that draw per step (Dropout) use the C++ generator instead.
"""
import numpy as np

from . import backend
from .tensor import as_float, convert_to_tensor

__all__ = ["SeedGenerator", "normal", "uniform", "truncated_normal", "randint", "shuffle", "categorical",
           "set_seed", "dropout"]


class SeedGenerator:
    """A generator of its own: each draw from it advances it. `seed=None` seeds it from the global one."""

    def __init__(self, seed=None, name=None, **kwargs):
        if kwargs:
            raise NotImplementedError(f"SeedGenerator: {sorted(kwargs)} are not supported (seed and name only)")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
            raise TypeError(f"SeedGenerator: `seed` must be an int or None, got {seed!r}")
        self.name = name or "seed_generator"
        self._rng = np.random.default_rng(int(seed) if seed is not None else int(backend.rng().integers(2 ** 63)))


def set_seed(seed):
    """TensorFlow's global seed: fastfit's generator restarts from it."""
    backend.seed_generator(seed)


def _generator(seed):
    if seed is None:
        return backend.rng()
    if isinstance(seed, SeedGenerator):
        return seed._rng
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"`seed` must be an int, a SeedGenerator or None, got {seed!r}")
    return np.random.default_rng(int(seed))


def _shape(shape):
    return tuple(int(d) for d in (shape if isinstance(shape, (list, tuple)) else [shape]))


def _out(values, dtype, default="float32"):
    name = getattr(dtype, "name", dtype) or default
    if name not in ("float32", "float64", "int32", "int64"):
        raise NotImplementedError(f"random: dtype {name!r} is not supported (float32 or int32)")
    return convert_to_tensor(np.asarray(values, "int32" if name.startswith("int") else "float32"))


def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None, name=None):
    return _out(_generator(seed).normal(mean, stddev, _shape(shape)), dtype)


def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None, name=None):
    if getattr(dtype, "name", dtype) in ("int32", "int64"):
        return randint(shape, minval, maxval, dtype, seed)
    return _out(_generator(seed).uniform(minval, maxval, _shape(shape)), dtype)


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None, name=None):
    """Normal numbers redrawn until within two standard deviations of the mean."""
    rng, shape = _generator(seed), _shape(shape)
    values = rng.normal(0.0, 1.0, shape)
    while True:
        bad = np.abs(values) > 2.0
        if not bad.any():
            break
        values[bad] = rng.normal(0.0, 1.0, int(bad.sum()))
    return _out(mean + stddev * values, dtype)


def randint(shape, minval, maxval, dtype="int32", seed=None):
    return _out(_generator(seed).integers(minval, maxval, _shape(shape)), dtype, "int32")


def shuffle(x, axis=0, seed=None):
    """`x` with its slices along `axis` in a random order."""
    a = convert_to_tensor(x).numpy()
    return convert_to_tensor(np.take(a, _generator(seed).permutation(a.shape[axis]), axis=axis))


def categorical(logits, num_samples, dtype="int32", seed=None):
    """`num_samples` class ids per row of `logits`, drawn with probabilities softmax(logits)."""
    z = as_float(logits).numpy().astype(np.float64)
    p = np.exp(z - z.max(axis=-1, keepdims=True))
    p /= p.sum(axis=-1, keepdims=True)
    rng = _generator(seed)
    return _out(np.stack([rng.choice(p.shape[-1], int(num_samples), p=row) for row in p]), dtype, "int32")


def dropout(inputs, rate, noise_shape=None, seed=None):
    """inputs with each element zeroed with probability `rate`, the rest scaled by 1 / (1 - rate)."""
    if not 0 <= rate < 1:
        raise ValueError(f"dropout: `rate` must be in [0, 1), got {rate}")
    x = as_float(inputs)
    keep = _generator(seed).uniform(size=_shape(noise_shape or x.shape)) >= rate
    return x * convert_to_tensor((keep / (1.0 - rate)).astype("float32"))
