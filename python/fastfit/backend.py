"""Global state Keras keeps in `keras.backend`: the random generator, name counters, epsilon."""
import collections
import random as _pyrandom
import re

import numpy as np

_rng = np.random.default_rng()
_name_counts = collections.defaultdict(int)


def epsilon():
    """Fuzz factor used in numeric expressions (Keras default 1e-7)."""
    return 1e-7


def rng():
    """The generator behind initializers and shuffling; `set_random_seed` makes it repeatable."""
    return _rng


def set_random_seed(seed):
    """Seeds Python's, numpy's and fastfit's generators, so a run can be repeated exactly."""
    global _rng
    if not isinstance(seed, int):
        raise TypeError(f"set_random_seed: `seed` must be an int, got {type(seed).__name__}")
    _pyrandom.seed(seed)
    np.random.seed(seed % 2**32)
    _rng = np.random.default_rng(seed)


def seed_generator(seed):
    """Seeds fastfit's generator only (`tf.random.set_seed`: TensorFlow's ops, not numpy's)."""
    global _rng
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"set_seed: `seed` must be an int, got {type(seed).__name__}")
    _rng = np.random.default_rng(int(seed))


def snake_case(name):
    """'SparseCategoricalAccuracy' -> 'sparse_categorical_accuracy', 'AUC' -> 'auc', 'Conv2D' -> 'conv2d':
    Keras' to_snake_case, from which it derives default names."""
    name = re.sub(r"\W+", "", name)
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def unique_name(base):
    """'dense', then 'dense_1', 'dense_2', ... as Keras names layers."""
    n = _name_counts[base]
    _name_counts[base] += 1
    return base if n == 0 else f"{base}_{n}"


def clear_session():
    """Resets layer name counters."""
    _name_counts.clear()


def floatx():
    return "float32"


def std(x, axis=None, keepdims=False):
    """Standard deviation over `axis` (all axes when None), as `keras.backend.std`."""
    from .ops import reduce_std
    return reduce_std(x, axis=axis, keepdims=keepdims)


def mean(x, axis=None, keepdims=False):
    from .ops import reduce_mean
    return reduce_mean(x, axis=axis, keepdims=keepdims)
