"""fastfit: Keras-style training and evaluation on a fast C++ core.

One namespace holds the Keras and the TensorFlow names a training program uses, so a program
ports by its imports alone::

    import fastfit as keras          # keras.Input, keras.Model, keras.optimizers, ...
    import fastfit as tf             # tf.GradientTape, tf.reduce_mean, tf.Variable, ...
    from fastfit import layers       # layers.Dense
"""
import os as _os

# Our OpenBLAS's idle threads spin for 2^N cycles after a call (default 2^28, about 0.1 s) and would
# take the core that fastfit's own second thread needs; 2^20 (about 0.3 ms) still covers back-to-back
# calls. Read once when the library loads; set only for that moment, so other libraries keep theirs.
_timeout = _os.environ.get("OPENBLAS_THREAD_TIMEOUT")
_os.environ["OPENBLAS_THREAD_TIMEOUT"] = _timeout or "20"
try:
    from . import _core
except ImportError:  # RUNPATH not honoured (e.g. an unusual install): preload OpenBLAS by path, as SciPy does
    import ctypes

    import scipy_openblas32

    ctypes.CDLL(_os.path.join(scipy_openblas32.get_lib_dir(), "libscipy_openblas.so"), ctypes.RTLD_GLOBAL)
    from . import _core
finally:
    if _timeout is None:
        del _os.environ["OPENBLAS_THREAD_TIMEOUT"]

from . import _cuda_loader

_cuda_loader.load()

from . import (activations, backend, callbacks, config, constraints, cuda, data, datasets, initializers, layers,
               losses, metrics, optimizers, random, regularizers, saving, utils)
from .regularizers import Regularizer
from .config import device
from .autodiff import GradientTape, UnconnectedGradients
from .function import function
from .data import TensorSpec
from .layers import Input
from .models import Model, Sequential
from .ops import (abs, add, cast, clip_by_value, divide, equal, exp, greater, greater_equal, less,
                  less_equal, log, matmul, multiply, negative, not_equal, one_hot, pow, reduce_max, reduce_mean,
                  reduce_min, reduce_std, reduce_sum, reduce_variance, sqrt, square, stack, stop_gradient, subtract,
                  where)
from .ops import concat, expand_dims, gather, maximum, minimum, ones, ones_like, reshape, squeeze, tile, transpose, zeros, \
    zeros_like
from .tensor import (Tensor, Variable, bool_ as bool, constant, convert_to_tensor, float32, float64, int32, int64,
                     uint8)
from .ops import floor, round, sigmoid, sign, tanh  # noqa: A004 - TensorFlow's top-level names
from .tf_api import argmax, argmin, math, nn  # tf.math.reduce_sum, tf.nn.relu, ...: TensorFlow's names
from . import models

import sys as _sys
keras = _sys.modules[__name__]  # tf.keras.layers.Dense, from fastfit import keras: the same namespace

__version__ = "0.1.0"
