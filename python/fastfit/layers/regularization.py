"""Regularization layers, with Keras 3's semantics: Dropout, SpatialDropout1D/2D, GaussianNoise,
GaussianDropout, AlphaDropout (random only in training; in inference they pass their input through)
and ActivityRegularization.

Their random numbers come from a counter-based generator in C++ (Philox), one state [seed, counter]
per layer as Keras' SeedGenerator, seeded from `keras.utils.set_random_seed` (or `seed`): each
training step draws fresh numbers, and a run repeats exactly with the same seed, whatever the thread
count. The noise ops (csrc/ops/random.cpp) are part of fit's compiled program.
"""
import math
import numbers

import numpy as np

from .. import _core, backend, ops, regularizers
from ..tensor import Variable
from .args import data_format_arg
from .layer import Layer


def _rate(owner, rate, name="rate"):
    """A probability in [0, 1): at 1 these layers would divide by zero."""
    if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not 0 <= rate < 1:
        raise ValueError(f"{owner}: `{name}` must be a number in [0, 1), got {rate!r} (1 would drop everything)")
    return float(rate)


class _Random(Layer):
    """A layer that draws random numbers in training: its generator state, and the output shape."""

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise TypeError(f"{type(self).__name__}: `seed` must be an int or None, got {seed!r}")
        self.seed = seed
        start = seed if seed is not None else int(backend.rng().integers(2 ** 31))
        # [seed, counter], as Keras' SeedGenerator: each call (eager) or step (fit) advances the counter
        self._seed_state = Variable(np.array([start, 0], np.int32), trainable=False, name="seed_generator_state",
                                    dtype="int32")
        self._seed_states.append(self._seed_state)
        self.built = True

    def _noise(self, inputs, distribution, broadcast=()):
        """Uniform [0, 1) or standard normal numbers shaped like `inputs`, size 1 on the `broadcast` axes."""
        return _core.apply("random_like", [inputs, self._seed_state], distribution=distribution,
                           broadcast=list(broadcast))

    def compute_output_shape(self, input_shape):
        return input_shape


def _noise_axes(owner, noise_shape, shape):
    """The axes a `noise_shape` broadcasts (its entries of 1 where the input's axis is longer)."""
    if noise_shape is None:
        return []
    if len(noise_shape) != len(shape) or any(n not in (None, 1, d) for n, d in zip(noise_shape, shape)):
        raise ValueError(f"{owner}: `noise_shape` {tuple(noise_shape)} does not fit inputs of shape {tuple(shape)}: "
                         "each entry must be None, 1 or the input's size")
    if noise_shape[0] == 1 and shape[0] != 1:
        raise NotImplementedError(f"{owner}: a `noise_shape` that shares the noise across the batch (1 on axis 0) "
                                  "is not supported yet")
    return [k for k, (n, d) in enumerate(zip(noise_shape, shape)) if k > 0 and n == 1 and d != 1]


class Dropout(_Random):
    """Randomly sets input units to 0 with frequency `rate` during training, scaling the others by
    1 / (1 - rate). `noise_shape` (None entries: the input's size) drops whole slices: with
    (None, 1, channels), each sample keeps or drops a channel at every step.

    >>> Dropout(0.5)(np.ones((2, 4), "float32"), training=True).shape
    (2, 4)
    """

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(seed, **kwargs)
        self.rate = _rate(type(self).__name__, rate)
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)

    def _broadcast_axes(self, inputs):
        return _noise_axes(type(self).__name__, self.noise_shape, inputs.shape)

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        broadcast = self._broadcast_axes(inputs)
        if not broadcast:
            return _core.apply("dropout", [inputs, self._seed_state], rate=self.rate)
        keep = 1.0 - self.rate
        kept = ops.less(self._noise(inputs, "uniform", broadcast), keep)  # comparisons give 0 or 1 floats
        return inputs * (kept * (1.0 / keep))

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed, "noise_shape": self.noise_shape}


class SpatialDropout1D(Dropout):
    """Dropout of whole channels: inputs (batch, steps, channels), one draw per sample and channel."""

    _rank = 3

    def __init__(self, rate, seed=None, name=None, dtype=None):
        super().__init__(rate, seed=seed, name=name, dtype=dtype)

    def _channel_axis(self):
        return 2

    def _broadcast_axes(self, inputs):
        if inputs.ndim != self._rank:
            raise ValueError(f'Input 0 of layer "{self.name}" is incompatible with the layer: expected '
                             f"ndim={self._rank}, found ndim={inputs.ndim}. Full shape received: {inputs.shape}")
        return [k for k in range(1, self._rank) if k != self._channel_axis()]

    def get_config(self):  # Keras' keys: no trainable, no noise_shape (the layer sets it), dtype by name
        return {"rate": self.rate, "seed": self.seed, "name": self.name, "dtype": "float32"}


class SpatialDropout2D(SpatialDropout1D):
    """Dropout of whole feature maps: inputs (batch, rows, cols, channels), or channels first."""

    _rank = 4

    def __init__(self, rate, data_format=None, seed=None, name=None, dtype=None):
        super().__init__(rate, seed=seed, name=name, dtype=dtype)
        self.data_format = data_format_arg(data_format)

    def _channel_axis(self):
        return 1 if self.data_format == "channels_first" else 3

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


class GaussianNoise(_Random):
    """Adds zero-centred normal noise of standard deviation `stddev` (in [0, 1], as Keras) in training.

    >>> GaussianNoise(0.1)(np.zeros((2, 3), "float32")).numpy()  # inference: unchanged
    array([[0., 0., 0.],
           [0., 0., 0.]], dtype=float32)
    """

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(seed, **kwargs)
        if isinstance(stddev, bool) or not isinstance(stddev, numbers.Real) or not 0 <= stddev <= 1:
            raise ValueError("Invalid value received for argument `stddev`. Expected a float value between 0 and 1. "
                             f"Received: stddev={stddev!r}")
        self.stddev = stddev

    def call(self, inputs, training=False):
        if not training or self.stddev == 0:
            return inputs
        return inputs + self._noise(inputs, "normal") * float(self.stddev)

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


class GaussianDropout(_Random):
    """Multiplies by normal noise of mean 1 and standard deviation sqrt(rate / (1 - rate)) in training."""

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(seed, **kwargs)
        self.rate = _rate(type(self).__name__, rate)

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        stddev = math.sqrt(self.rate / (1.0 - self.rate))
        return inputs * (self._noise(inputs, "normal") * stddev + 1.0)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


class AlphaDropout(_Random):
    """Dropout that keeps the mean and variance of SELU activations: dropped units are set to SELU's
    negative saturation value, then an affine map restores the statistics (Keras' formulas)."""

    _ALPHA, _SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(seed, **kwargs)
        self.rate = _rate(type(self).__name__, rate)
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        alpha_p = -self._ALPHA * self._SCALE
        broadcast = _noise_axes(type(self).__name__, self.noise_shape, inputs.shape)
        kept = ops.greater_equal(self._noise(inputs, "uniform", broadcast), self.rate)  # 0 or 1 floats
        a = ((1 - self.rate) * (1 + self.rate * alpha_p ** 2)) ** -0.5
        b = -a * alpha_p * self.rate
        return (inputs * kept + (1.0 - kept) * alpha_p) * a + b

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed, "noise_shape": self.noise_shape}


class ActivityRegularization(Layer):
    """Passes its input through and adds ``l1 * sum(|x|) + l2 * sum(x^2)``, divided by the batch size,
    to the losses (an L1L2 activity regularizer)."""

    def __init__(self, l1=0.0, l2=0.0, **kwargs):
        super().__init__(activity_regularizer=regularizers.L1L2(l1=l1, l2=l2), **kwargs)
        self.l1, self.l2 = l1, l2
        self.built = True

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = {k: v for k, v in super().get_config().items() if k != "activity_regularizer"}
        return {**config, "l1": self.l1, "l2": self.l2}
