"""Dropout, with Keras 3's semantics: in training, each element is zeroed with probability `rate`
and the survivors scaled by 1 / (1 - rate); in inference it passes its input through."""
import numpy as np

from .. import _core, backend
from ..tensor import Variable
from .layer import Layer


class Dropout(Layer):
    """Randomly sets input units to 0 with frequency `rate` during training.

    The random numbers come from a counter-based generator in C++ (Philox), seeded from
    `keras.utils.set_random_seed` (or `seed`): each training step draws fresh numbers, and a run
    repeats exactly with the same seed, whatever the thread count.

    >>> Dropout(0.5)(np.ones((2, 4), "float32"), training=True).shape
    (2, 4)
    """

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate < 1:
            raise ValueError(f"Dropout: `rate` must be a number in [0, 1), got {rate!r} (1 would drop everything)")
        if noise_shape is not None:
            raise NotImplementedError("Dropout: `noise_shape` is not supported yet")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise TypeError(f"Dropout: `seed` must be an int or None, got {seed!r}")
        self.rate, self.seed = float(rate), seed
        start = seed if seed is not None else int(backend.rng().integers(2 ** 31))
        # [seed, counter], as Keras' SeedGenerator: each call (eager) or step (fit) advances the counter
        self._seed_state = Variable(np.array([start, 0], np.int32), trainable=False, name="seed_generator_state",
                                    dtype="int32")
        self._seed_states.append(self._seed_state)
        self.built = True

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        return _core.apply("dropout", [inputs, self._seed_state], rate=self.rate)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed, "noise_shape": None}
