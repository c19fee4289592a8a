"""Reshaping layers, as Keras 3 defines them: Flatten, Reshape, Permute, RepeatVector, ZeroPadding1D/2D,
UpSampling1D/2D, Cropping1D/2D. Each is one or two C++ copy ops (csrc/ops/shape.cpp) that keep the batch axis,
so models built from them still split batches across threads."""
import math

from .. import _core
from .args import data_format_arg, standardize_tuple
from .layer import Layer


def _pairs_2d(value, name):
    """ZeroPadding2D's `padding` and Cropping2D's `cropping`: ((top, bottom), (left, right))."""
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"`{name}` cannot be negative. Received: {name}={value}.")
        return ((value, value), (value, value))
    if not hasattr(value, "__len__") or len(value) != 2:
        raise ValueError(f"`{name}` should have two elements. Received: {name}={value}.")
    return (standardize_tuple(value[0], 2, f"1st entry of {name}", allow_zero=True),
            standardize_tuple(value[1], 2, f"2nd entry of {name}", allow_zero=True))


def _check_rank(layer, shape, rank):
    if len(shape) != rank:
        raise ValueError(f'Input 0 of layer "{layer.name}" is incompatible with the layer: expected ndim={rank}, '
                         f"found ndim={len(shape)}. Full shape received: {tuple(shape)}")


def _reshape_rows(x, shape):
    """x with each row reshaped to `shape` (one entry may be -1); the batch axis stays."""
    return _core.apply("reshape", [x], shape=list(shape), keep_batch=True)


class Flatten(Layer):
    """Flattens each sample: (batch, ...) -> (batch, prod(...)). With data_format='channels_first'
    the channels move last first, so the order matches channels_last."""

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = data_format_arg(data_format)

    def call(self, inputs):
        if self.data_format == "channels_first" and inputs.ndim > 2:
            inputs = _core.apply("transpose", [inputs], perm=[0, *range(2, inputs.ndim), 1])
        return _reshape_rows(inputs, [-1])

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        return (input_shape[0], None if None in rest else math.prod(rest))

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


class Reshape(Layer):
    """Reshapes each sample to `target_shape` (without the batch axis; one entry may be -1)."""

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = tuple(int(d) for d in target_shape)
        if any(d < -1 for d in self.target_shape):
            raise ValueError("Each dimension in `target_shape` must be a non-negative integer, or `-1` for a single "
                             f"unknown dimension. Received: target_shape={self.target_shape}.")
        if self.target_shape.count(-1) > 1:
            raise ValueError("There must be at most one unknown dimension (-1) in `target_shape`. Received: "
                             f"target_shape={self.target_shape}.")
        self.built = True

    def call(self, inputs):
        return _reshape_rows(inputs, self.target_shape)

    def compute_output_shape(self, input_shape):
        rest, target = input_shape[1:], self.target_shape
        if None in rest:
            return (input_shape[0],) + tuple(None if d == -1 else d for d in target)
        size, known = math.prod(rest), math.prod(d for d in target if d != -1)
        fits = known > 0 and size % known == 0 if -1 in target else known == size
        if not fits:
            raise ValueError("The total size of the tensor must be unchanged. Received: "
                             f"input_shape={tuple(rest)}, target_shape={target}")
        return (input_shape[0],) + tuple(size // known if d == -1 else d for d in target)

    def get_config(self):
        return {**super().get_config(), "target_shape": self.target_shape}


class Permute(Layer):
    """Permutes the axes of each sample: `dims` orders the axes 1..n (the batch axis stays first)."""

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        self.dims = tuple(dims)
        if sorted(self.dims) != list(range(1, len(self.dims) + 1)):
            raise ValueError("Invalid permutation argument `dims` for Permute Layer. The set of indices in `dims` "
                             f"must be consecutive and start from 1. Received dims={dims}")

    def build(self, input_shape):
        _check_rank(self, input_shape, len(self.dims) + 1)

    def call(self, inputs):
        return _core.apply("transpose", [inputs], perm=[0, *self.dims])

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + tuple(input_shape[d] for d in self.dims)

    def get_config(self):
        return {**super().get_config(), "dims": self.dims}


class RepeatVector(Layer):
    """Repeats each sample `n` times: (batch, features) -> (batch, n, features)."""

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(n, int) or isinstance(n, bool):
            raise TypeError(f"Expected an integer value for `n`, got {type(n)}.")
        if n <= 0:
            raise ValueError(f"Argument `n` should be a positive integer. Received: n={n}")
        self.n = n

    def build(self, input_shape):
        _check_rank(self, input_shape, 2)

    def call(self, inputs):
        return _core.apply("tile", [_reshape_rows(inputs, [1, -1])], multiples=[1, self.n, 1])

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.n, input_shape[1])

    def get_config(self):
        return {**super().get_config(), "n": self.n}


class _Spatial2D(Layer):
    """A layer on 4-D images: (batch, rows, cols, channels), or channels first."""

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = data_format_arg(data_format)

    def build(self, input_shape):
        _check_rank(self, input_shape, 4)

    def _spatial(self, values, other):
        """A per-axis list: `values` on the two spatial axes, `other` on batch and channels."""
        return [other, other, *values] if self.data_format == "channels_first" else [other, *values, other]

    def compute_output_shape(self, input_shape):
        first = 2 if self.data_format == "channels_first" else 1
        out = list(input_shape)
        for k in range(2):
            if out[first + k] is not None:
                out[first + k] = self._size(out[first + k], k)
        return tuple(out)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


class ZeroPadding2D(_Spatial2D):
    """Pads rows and columns with zeros: padding is an int, (rows, cols), or ((top, bottom), (left, right))."""

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(data_format, **kwargs)
        self.padding = _pairs_2d(padding, "padding")

    def _size(self, n, k):
        return n + sum(self.padding[k])

    def call(self, inputs):
        return _core.apply("pad", [inputs], paddings=[p for pair in self._spatial(self.padding, (0, 0)) for p in pair])

    def get_config(self):
        return {**super().get_config(), "padding": self.padding}


class UpSampling2D(_Spatial2D):
    """Repeats rows size[0] times and columns size[1] times (nearest-neighbour upsampling)."""

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(data_format, **kwargs)
        self.size = standardize_tuple(size, 2, "size")
        self.interpolation = str(interpolation).lower()
        if self.interpolation != "nearest":
            raise NotImplementedError(f"UpSampling2D: interpolation={interpolation!r} is not supported yet "
                                      "(only 'nearest')")

    def _size(self, n, k):
        return n * self.size[k]

    def call(self, inputs):
        return _core.apply("upsample", [inputs], size=self._spatial(self.size, 1))

    def get_config(self):
        return {**super().get_config(), "size": self.size, "interpolation": self.interpolation}


class Cropping2D(_Spatial2D):
    """Crops rows and columns: cropping is an int, (rows, cols), or ((top, bottom), (left, right))."""

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(data_format, **kwargs)
        self.cropping = _pairs_2d(cropping, "cropping")

    def _size(self, n, k):
        if sum(self.cropping[k]) >= n:
            raise ValueError("Values in `cropping` argument should be smaller than the corresponding spatial "
                             f"dimension of the input. Received: cropping={self.cropping} for a dimension of {n}")
        return n - sum(self.cropping[k])

    def call(self, inputs):
        out = self.compute_output_shape(inputs.shape)  # checks the cropping against the input
        return _core.apply("slice", [inputs], begin=self._spatial([c[0] for c in self.cropping], 0),
                           size=[-1, *out[1:]])

    def get_config(self):
        return {**super().get_config(), "cropping": self.cropping}


class _Temporal(Layer):
    """A layer on 3-D sequences: (batch, steps, features)."""

    def build(self, input_shape):
        _check_rank(self, input_shape, 3)


class ZeroPadding1D(_Temporal):
    """Pads the steps axis with zeros: padding is an int (both ends) or (before, after)."""

    def __init__(self, padding=1, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = data_format_arg(data_format)
        self.padding = standardize_tuple(padding, 2, "padding", allow_zero=True)
        self._axis = 2 if self.data_format == "channels_first" else 1

    def call(self, inputs):
        paddings = [0, 0, 0, 0, 0, 0]
        paddings[2 * self._axis:2 * self._axis + 2] = self.padding
        return _core.apply("pad", [inputs], paddings=paddings)

    def compute_output_shape(self, input_shape):
        out = list(input_shape)
        if out[self._axis] is not None:
            out[self._axis] += sum(self.padding)
        return tuple(out)

    def get_config(self):
        return {**super().get_config(), "padding": self.padding, "data_format": self.data_format}


class UpSampling1D(_Temporal):
    """Repeats each step `size` times: (batch, steps, features) -> (batch, steps * size, features)."""

    def __init__(self, size=2, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(size, int) or isinstance(size, bool):
            raise TypeError(f"Expected an integer value for `size`, got {type(size)}.")
        if size <= 0:
            raise ValueError(f"Argument `size` should be a positive integer. Received: size={size}")
        self.size = size

    def call(self, inputs):
        return _core.apply("upsample", [inputs], size=[1, self.size, 1])

    def compute_output_shape(self, input_shape):
        return (input_shape[0], None if input_shape[1] is None else input_shape[1] * self.size, input_shape[2])

    def get_config(self):
        return {**super().get_config(), "size": self.size}


class Cropping1D(_Temporal):
    """Crops the steps axis: cropping is an int (both ends) or (start, end)."""

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__(**kwargs)
        self.cropping = standardize_tuple(cropping, 2, "cropping", allow_zero=True)

    def call(self, inputs):
        length = self.compute_output_shape(inputs.shape)[1]  # checks the cropping against the input
        return _core.apply("slice", [inputs], begin=[0, self.cropping[0], 0], size=[-1, length, -1])

    def compute_output_shape(self, input_shape):
        length = None
        if input_shape[1] is not None:
            length = input_shape[1] - sum(self.cropping)
            if length <= 0:
                raise ValueError("`cropping` parameter of `Cropping1D` layer must be smaller than the input length. "
                                 f"Received: input_shape={tuple(input_shape)}, cropping={self.cropping}")
        return (input_shape[0], length, input_shape[2])

    def get_config(self):
        return {**super().get_config(), "cropping": self.cropping}
