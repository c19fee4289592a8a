"""Weight initializers with Keras' names and defaults, drawing from the seeded global generator."""
import math

import numpy as np

from . import backend


def _fans(shape):
    if len(shape) < 1:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
    return shape[-2] * receptive, shape[-1] * receptive


class Initializer:
    def __call__(self, shape, dtype=None):
        raise NotImplementedError

    def _gen(self):
        return np.random.default_rng(self.seed) if getattr(self, "seed", None) is not None else backend.rng()

    def get_config(self):
        """The constructor's arguments, under Keras 3's keys."""
        return {k: v for k, v in vars(self).items()}

    @classmethod
    def from_config(cls, config):
        """The initializer `get_config()` describes. Keras' arguments fastfit does not take are
        accepted at their default (None) and refused otherwise."""
        config = dict(config)
        for key in ("input_axes", "output_axes"):  # Keras 3.15's VarianceScaling additions
            if config.pop(key, None) is not None:
                raise NotImplementedError(f"{cls.__name__}: `{key}` is not supported yet")
        return cls(**config)


class Zeros(Initializer):
    def __call__(self, shape, dtype=None):
        return np.zeros(shape, np.float32)


class Ones(Initializer):
    def __call__(self, shape, dtype=None):
        return np.ones(shape, np.float32)


class Constant(Initializer):
    def __init__(self, value=0.0):
        self.value = value

    def __call__(self, shape, dtype=None):
        return np.full(shape, self.value, np.float32)


class RandomNormal(Initializer):
    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean, self.stddev, self.seed = mean, stddev, seed

    def __call__(self, shape, dtype=None):
        return self._gen().normal(self.mean, self.stddev, shape).astype(np.float32)


class RandomUniform(Initializer):
    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        self.minval, self.maxval, self.seed = minval, maxval, seed

    def __call__(self, shape, dtype=None):
        return self._gen().uniform(self.minval, self.maxval, shape).astype(np.float32)


class TruncatedNormal(Initializer):
    """Normal values redrawn until within two standard deviations of the mean."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean, self.stddev, self.seed = mean, stddev, seed

    def __call__(self, shape, dtype=None):
        g = self._gen()
        out = g.normal(0.0, 1.0, shape)
        bad = np.abs(out) > 2
        while bad.any():
            out[bad] = g.normal(0.0, 1.0, int(bad.sum()))
            bad = np.abs(out) > 2
        return (self.mean + self.stddev * out).astype(np.float32)


class VarianceScaling(Initializer):
    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None):
        self.scale, self.mode, self.distribution, self.seed = scale, mode, distribution, seed

    def __call__(self, shape, dtype=None):
        fan_in, fan_out = _fans(tuple(shape))
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        scale = self.scale / max(1.0, n)
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * scale)
            return self._gen().uniform(-limit, limit, shape).astype(np.float32)
        if self.distribution == "untruncated_normal":
            return self._gen().normal(0.0, math.sqrt(scale), shape).astype(np.float32)
        # 0.8796... is the stddev of a unit normal truncated to [-2, 2]
        return TruncatedNormal(0.0, math.sqrt(scale) / 0.87962566103423978, self.seed)(shape)


class _Preset(VarianceScaling):
    """A VarianceScaling with fixed arguments: only `seed` is its own."""

    def get_config(self):
        return {"seed": self.seed}


class GlorotUniform(_Preset):
    def __init__(self, seed=None):
        super().__init__(1.0, "fan_avg", "uniform", seed)


class GlorotNormal(_Preset):
    def __init__(self, seed=None):
        super().__init__(1.0, "fan_avg", "truncated_normal", seed)


class HeNormal(_Preset):
    def __init__(self, seed=None):
        super().__init__(2.0, "fan_in", "truncated_normal", seed)


class HeUniform(_Preset):
    def __init__(self, seed=None):
        super().__init__(2.0, "fan_in", "uniform", seed)


class LecunNormal(_Preset):
    def __init__(self, seed=None):
        super().__init__(1.0, "fan_in", "truncated_normal", seed)


class LecunUniform(_Preset):
    def __init__(self, seed=None):
        super().__init__(1.0, "fan_in", "uniform", seed)


_BY_NAME = {"zeros": Zeros, "ones": Ones, "constant": Constant, "random_normal": RandomNormal,
            "random_uniform": RandomUniform, "truncated_normal": TruncatedNormal, "glorot_uniform": GlorotUniform,
            "glorot_normal": GlorotNormal, "he_normal": HeNormal, "he_uniform": HeUniform,
            "lecun_normal": LecunNormal, "lecun_uniform": LecunUniform, "variance_scaling": VarianceScaling,
            "uniform": RandomUniform, "normal": RandomNormal}  # Keras' short names
_BY_NAME.update({cls.__name__: cls for cls in set(_BY_NAME.values())})  # and class names: "Zeros"


_BY_NAME.update({cls.__name__: cls for cls in set(_BY_NAME.values())})  # Keras takes class names too


def get(identifier):
    """An initializer from a name ('glorot_uniform' or 'GlorotUniform'), a config dict (as
    `serialize` gives), an Initializer, or a callable(shape, dtype)."""
    if isinstance(identifier, dict):
        from .saving.serialization import deserialize_keras_object
        return deserialize_keras_object(identifier, module_objects=_BY_NAME)
    if isinstance(identifier, str):
        if identifier not in _BY_NAME:
            raise ValueError(f"Unknown initializer: '{identifier}'. Valid names: {sorted(_BY_NAME)}")
        return _BY_NAME[identifier]()
    if callable(identifier):
        return identifier
    raise TypeError(f"initializer must be a string or a callable, got {type(identifier).__name__}")


def serialize(initializer):
    """The initializer as Keras 3 writes it in configs: {"module", "class_name", "config", ...}."""
    from .saving.serialization import serialize_keras_object
    return serialize_keras_object(initializer)


def deserialize(config, custom_objects=None):
    from .saving.serialization import deserialize_keras_object
    return deserialize_keras_object(config, custom_objects, module_objects=_BY_NAME)
