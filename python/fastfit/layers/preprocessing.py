"""Preprocessing layers, as Keras 3 defines them: Rescaling, Normalization (with `adapt`) and
CategoryEncoding. They are fastfit ops, so a model that starts with them still compiles."""
import math
import numbers

import numpy as np

from .. import backend, ops
from ..data import Dataset
from ..tensor import Tensor, convert_to_tensor
from ..utils.py_dataset import PyDataset
from .layer import Layer


class Rescaling(Layer):
    """``inputs * scale + offset`` (scale and offset: numbers or arrays that broadcast against the
    inputs), e.g. pixel values to [0, 1] with ``Rescaling(1 / 255)``.

    >>> Rescaling(1 / 255)(np.array([[0, 255]], "uint8")).numpy()
    array([[0., 1.]], dtype=float32)
    """

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale, self.offset = scale, offset
        self._scale, self._offset = (convert_to_tensor(np.asarray(v, np.float32)) for v in (scale, offset))
        self.built = True

    def call(self, inputs):
        return inputs * self._scale + self._offset

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "offset": self.offset}


class Normalization(Layer):
    """``(inputs - mean) / max(sqrt(variance), epsilon)`` per position of the `axis` axes (-1: per
    feature; a tuple; None: one mean and variance for everything). `mean` and `variance` are given,
    or learned from data with `adapt`; `invert=True` maps normalized values back.

    >>> layer = Normalization(axis=None)
    >>> layer.adapt(np.array([1.0, 2.0, 3.0, 4.0, 5.0], "float32"))
    >>> layer(np.array([1.0, 2.0, 3.0], "float32")).numpy()
    array([-1.4142135 , -0.70710677,  0.        ], dtype=float32)
    """

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        self.axis = () if axis is None else (axis,) if isinstance(axis, int) else tuple(axis)
        self.input_mean, self.input_variance, self.invert = mean, variance, invert
        if (mean is not None) != (variance is not None):
            raise ValueError("When setting values directly, both `mean` and `variance` must be set. "
                             f"Received: mean={mean} and variance={variance}")
        if mean is not None:
            if np.shape(mean) != np.shape(variance):
                raise ValueError("When setting values directly, `mean` and `variance` must have the same shape. "
                                 f"Received: mean shape {np.shape(mean)} and variance shape {np.shape(variance)}")
            if len(np.shape(mean)) > len(self.axis):
                raise ValueError(f"The rank of `mean` must be less than or equal to the number of axes "
                                 f"({len(self.axis)}). Received: mean shape {np.shape(mean)} for axis {self.axis}")

    def build(self, input_shape):
        ndim = len(input_shape)
        if any(a < -ndim or a >= ndim for a in self.axis):
            raise ValueError(f"All `axis` values must be in the range [-ndim, ndim). Received inputs with "
                             f"ndim={ndim}, while axis={self.axis}")
        self._build_shape = tuple(input_shape)
        self._keep_axis = tuple(sorted(a % ndim for a in self.axis))
        for d in self._keep_axis:
            if input_shape[d] is None:
                raise ValueError(f"All `axis` values to be kept must have a known shape. Received axis={self.axis}, "
                                 f"inputs.shape={tuple(input_shape)}, with unknown axis at index {d}")
        self._reduce_axis = tuple(d for d in range(ndim) if d not in self._keep_axis)
        self._broadcast_shape = [input_shape[d] if d in self._keep_axis else 1 for d in range(ndim)]
        stats_shape = tuple(input_shape[d] for d in self._keep_axis)
        if self.input_mean is None:
            self.adapt_mean = self.add_weight(stats_shape, "zeros", "mean", trainable=False)
            self.adapt_variance = self.add_weight(stats_shape, "ones", "variance", trainable=False)
            self.count = self.add_weight((), "zeros", "count", trainable=False, dtype="int32")  # as Keras keeps it
        else:
            self._mean, self._variance = (self._broadcast(v) for v in (self.input_mean, self.input_variance))
        self.built = True

    def _broadcast(self, value):
        """A given mean or variance in the broadcast shape: its axes are the kept axes' last ones."""
        value = np.asarray(value, np.float32)
        expanded = [1] * len(self._broadcast_shape)
        for i in range(1, value.ndim + 1):
            expanded[self._keep_axis[-i]] = value.shape[-i]
        try:
            return convert_to_tensor(np.broadcast_to(value.reshape(expanded), self._broadcast_shape).copy())
        except ValueError:
            raise ValueError(f"Normalization: `mean` and `variance` of shape {value.shape} do not broadcast to the "
                             f"kept axes {self._keep_axis} of inputs of shape {self._build_shape}") from None

    def adapt(self, data):
        """Learns the mean and variance of `data`: a NumPy array or Tensor, a `data.Dataset`, or an
        iterable of batches (a list of arrays, a generator, a PyDataset); an element (x, y) counts x.
        Batches are merged exactly (each batch's mean and variance, weighted by its count)."""
        if self.built and self.input_mean is not None:
            raise ValueError("Normalization: adapt() learns the mean and variance, but they were given to the "
                             "constructor")
        batches = _batches(data)
        first = next(batches, None)
        if first is None:
            raise ValueError("adapt() received an empty iterable (no batches). Expected at least one batch.")
        if not self.built:
            self.build(first.shape)
        mean = variance = None
        count = 0
        for batch in _chain(first, batches):
            kept = [batch.shape[d] if d < batch.ndim else None for d in self._keep_axis]
            if batch.ndim != len(self._build_shape) or kept != [self._build_shape[d] for d in self._keep_axis]:
                raise ValueError(f"The layer was built with input_shape={self._build_shape}, but adapt() is being "
                                 f"called with data with an incompatible shape, data.shape={batch.shape}")
            batch_mean = batch.mean(axis=self._reduce_axis)
            batch_var = batch.var(axis=self._reduce_axis)
            batch_count = math.prod(batch.shape[d] for d in self._reduce_axis)
            count += batch_count
            w = batch_count / count
            if mean is None:
                mean, variance = batch_mean, batch_var
                continue
            new_mean = mean * (1 - w) + batch_mean * w  # Keras' merge of (mean, variance) pairs
            variance = (variance + (mean - new_mean) ** 2) * (1 - w) + (batch_var + (batch_mean - new_mean) ** 2) * w
            mean = new_mean
        self.adapt_mean.assign(np.asarray(mean, np.float32))
        self.adapt_variance.assign(np.asarray(variance, np.float32))

    def call(self, inputs):
        if self.input_mean is None:
            mean = ops.reshape(self.adapt_mean, self._broadcast_shape)
            variance = ops.reshape(self.adapt_variance, self._broadcast_shape)
        else:
            mean, variance = self._mean, self._variance
        scale = ops.maximum(ops.sqrt(variance), backend.epsilon())
        return mean + inputs * scale if self.invert else (inputs - mean) / scale

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "invert": self.invert,
                "mean": np.array(self.input_mean).tolist(), "variance": np.array(self.input_variance).tolist()}


def _batches(data):
    """The batches of adapt's `data`, as float64 NumPy arrays."""
    if isinstance(data, (np.ndarray, Tensor)):
        return iter([_array(data)])
    if isinstance(data, Dataset):
        spec = data.element_spec
        spec = spec[0] if isinstance(spec, tuple) else spec
        if len(spec.shape) == 1:  # as Keras: samples of one axis are batched first
            data = data.batch(128)
        return (_array(element) for element in data.as_numpy_iterator())
    if isinstance(data, PyDataset):
        return (_array(data[i]) for i in range(len(data)))
    if isinstance(data, (str, bytes)) or not hasattr(data, "__iter__"):
        raise TypeError(f"Unsupported data type: {type(data)}. `adapt` supports `np.ndarray`, tensors, "
                        "`data.Dataset`, `keras.utils.PyDataset`, and iterables of batches (e.g. list, generator).")
    return (_array(batch) for batch in data)


def _array(batch):
    batch = batch[0] if isinstance(batch, tuple) else batch  # (x, y) or (x, y, sample_weight)
    if not hasattr(batch, "shape"):
        raise TypeError("adapt() expects an iterable that yields arrays or tensors with a `.shape` attribute (e.g. "
                        f"numpy arrays or tensors). Got an element of type {type(batch).__name__}.")
    return np.asarray(batch, np.float64)


def _chain(first, rest):
    yield first
    yield from rest


class CategoryEncoding(Layer):
    """Encodes integer ids in [0, num_tokens) as vectors of `num_tokens`: 'one_hot' (a new last axis;
    a last axis of size 1 is replaced), 'multi_hot' (1 for each id a sample holds) or 'count' (how
    many times; weighted by `count_weights` when given). Samples of ids are rows: (batch, ids) gives
    (batch, num_tokens); a rank-1 input is one sample, as in Keras. An id outside [0, num_tokens)
    counts nowhere.

    >>> CategoryEncoding(4, output_mode="multi_hot")(np.array([[0, 1], [0, 0], [1, 2], [3, 1]])).numpy()
    array([[1., 1., 0., 0.],
           [1., 0., 0., 0.],
           [0., 1., 1., 0.],
           [0., 1., 0., 1.]], dtype=float32)
    """

    int_inputs = True

    def __init__(self, num_tokens=None, output_mode="multi_hot", sparse=False, **kwargs):
        super().__init__(**kwargs)
        if output_mode == "binary":  # Keras' deprecated name
            output_mode = "multi_hot"
        if output_mode not in ("count", "one_hot", "multi_hot"):
            raise ValueError(f"Unknown arg for output_mode: {output_mode}")
        if num_tokens is None:
            raise ValueError("num_tokens must be set to use this layer. If the number of tokens is not known "
                             "beforehand, use the IntegerLookup layer instead.")
        if isinstance(num_tokens, bool) or not isinstance(num_tokens, numbers.Integral) or num_tokens < 1:
            raise ValueError(f"`num_tokens` must be >= 1. Received: num_tokens={num_tokens}.")
        if sparse:
            raise NotImplementedError("CategoryEncoding: `sparse=True` is not supported (fastfit has no sparse "
                                      "tensors)")
        self.num_tokens, self.output_mode, self.sparse = int(num_tokens), output_mode, False
        self.built = True

    def call(self, inputs, count_weights=None):
        if count_weights is not None and self.output_mode != "count":
            raise ValueError("`count_weights` is not used when `output_mode` is not `'count'`. "
                             f"Received `count_weights={count_weights}`.")
        if self.output_mode == "one_hot":
            if inputs.ndim > 1 and inputs.shape[-1] == 1:
                inputs = ops.squeeze(inputs, -1)
            return ops.one_hot(inputs, self.num_tokens)
        if inputs.ndim == 0:
            inputs = ops.expand_dims(inputs, -1)
        hot = ops.one_hot(inputs, self.num_tokens)
        axis = 1 if inputs.ndim > 1 else 0
        if self.output_mode == "multi_hot":
            return ops.reduce_max(hot, axis=axis)
        if count_weights is not None:
            hot = hot * ops.expand_dims(ops.convert_to_tensor(count_weights, "float32"), -1)
        return ops.reduce_sum(hot, axis=axis)

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        if self.output_mode == "one_hot":
            return (shape[:-1] if len(shape) > 1 and shape[-1] == 1 else shape) + (self.num_tokens,)
        return shape[:1] + shape[2:] + (self.num_tokens,) if len(shape) > 1 else (self.num_tokens,)

    def get_config(self):
        return {**super().get_config(), "num_tokens": self.num_tokens, "output_mode": self.output_mode}
