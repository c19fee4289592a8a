"""Pooling layers, channels last, as Keras 3 defines them: max and average pooling over windows
(MaxPooling1D/2D, AveragePooling1D/2D) and over all positions (GlobalMaxPooling1D/2D,
GlobalAveragePooling1D/2D). Each is one C++ op (csrc/ops/pooling.cpp); average pooling averages the
window's elements inside the input (padding excluded), max pooling sends the gradient to the maximum.
"""
from .. import _core
from .args import check_rank, not_supported, standardize_data_format, standardize_padding, standardize_tuple
from .convolutional import window_output_shape
from .layer import Layer


class _Pooling(Layer):
    """Windows of pool_size every `strides` (default: pool_size), padding 'valid' or 'same'."""

    rank = 2
    _op = "max_pool2d"

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        owner = type(self).__name__
        self.pool_size = standardize_tuple(pool_size, self.rank, "pool_size")
        self.strides = standardize_tuple(self.pool_size if strides is None else strides, self.rank, "strides")
        self.padding = standardize_padding(owner, padding)
        self.data_format = standardize_data_format(owner, data_format)
        self.built = True

    def call(self, inputs):
        return _core.apply(self._op, [inputs], pool_size=list(self.pool_size), strides=list(self.strides),
                           padding=self.padding)

    def compute_output_shape(self, input_shape):
        spatial = window_output_shape(type(self).__name__, "pool_size", input_shape, self.pool_size, self.strides,
                                      self.padding)
        return (input_shape[0],) + spatial + (input_shape[-1],)

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size, "padding": self.padding, "strides": self.strides,
                "data_format": self.data_format}


class MaxPooling2D(_Pooling):
    """Max over pool_size windows of (batch, height, width, channels) inputs.

    >>> MaxPooling2D()(np.zeros((1, 28, 28, 8), "float32")).shape
    (1, 14, 14, 8)
    """

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, name=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name, **kwargs)


class MaxPooling1D(_Pooling):
    """Max over pool_size windows of (batch, steps, channels) inputs."""

    rank = 1
    _op = "max_pool1d"

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, name=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name, **kwargs)


class AveragePooling2D(_Pooling):
    """Mean over pool_size windows of (batch, height, width, channels) inputs (of the elements inside
    the input, with padding='same')."""

    _op = "avg_pool2d"


class AveragePooling1D(_Pooling):
    """Mean over pool_size windows of (batch, steps, channels) inputs."""

    rank = 1
    _op = "avg_pool1d"


class _GlobalPooling(Layer):
    """One value per channel over all positions; keepdims keeps the spatial axes, as size 1."""

    rank = 2
    _op = "global_max_pool2d"

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(type(self).__name__, data_format)
        self.keepdims = bool(keepdims)
        self.built = True

    def call(self, inputs):
        return _core.apply(self._op, [inputs], keepdims=self.keepdims)

    def compute_output_shape(self, input_shape):
        check_rank(type(self).__name__, input_shape, self.rank)
        return (input_shape[0],) + (1,) * self.rank * self.keepdims + (input_shape[-1],)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format, "keepdims": self.keepdims}


class GlobalMaxPooling2D(_GlobalPooling):
    """Max over height and width: (batch, height, width, channels) -> (batch, channels)."""


class GlobalMaxPooling1D(_GlobalPooling):
    """Max over steps: (batch, steps, channels) -> (batch, channels)."""

    rank = 1
    _op = "global_max_pool1d"


class GlobalAveragePooling2D(_GlobalPooling):
    """Mean over height and width: (batch, height, width, channels) -> (batch, channels)."""

    _op = "global_avg_pool2d"


class GlobalAveragePooling1D(_GlobalPooling):
    """Mean over steps: (batch, steps, channels) -> (batch, channels)."""

    rank = 1
    _op = "global_avg_pool1d"

    def call(self, inputs, mask=None):
        not_supported(type(self).__name__, mask=mask)
        return super().call(inputs)


MaxPool1D, MaxPool2D, AvgPool1D, AvgPool2D = MaxPooling1D, MaxPooling2D, AveragePooling1D, AveragePooling2D
GlobalMaxPool1D, GlobalMaxPool2D = GlobalMaxPooling1D, GlobalMaxPooling2D
GlobalAvgPool1D, GlobalAvgPool2D = GlobalAveragePooling1D, GlobalAveragePooling2D
