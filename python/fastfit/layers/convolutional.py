"""Convolution layers, channels last, as Keras 3 defines them: Conv1D, Conv2D, Conv2DTranspose,
DepthwiseConv2D and SeparableConv2D (a depthwise then a pointwise 1x1 convolution).

Each convolution is one C++ op (csrc/ops/conv.cpp: im2col + our GEMM, the bias and relu, sigmoid or tanh
applied with the product); other activations run after it. Weights have Keras' shapes and order, so
`set_weights` takes a Keras layer's `get_weights()`.
"""
from .. import _core, activations, constraints, initializers, regularizers
from .args import check_rank, standardize_data_format, standardize_padding, standardize_tuple
from . import layer_config
from .layer import Layer


def window_output_shape(owner, what, input_shape, size, strides, padding, dilation=None):
    """The spatial output sizes of windows over input_shape (batch, *spatial, channels), the rules of
    the C++ ops (csrc/ops/window.cpp): 'valid' (n - span) // stride + 1, else ceil(n / stride)."""
    check_rank(owner, input_shape, len(size))
    spatial = tuple(input_shape[1:-1])
    dilation = dilation or (1,) * len(size)
    spans = [(k - 1) * d + 1 for k, d in zip(size, dilation)]
    if padding == "valid" and any(n is not None and n < s for n, s in zip(spatial, spans)):
        dims = "x".join(map(str, size))
        dilated = "" if tuple(spans) == tuple(size) else f" (dilated to {'x'.join(map(str, spans))})"
        raise ValueError(f"{owner}: {what} {dims}{dilated} is larger than the input's "
                         f"{'x'.join(map(str, spatial))} spatial size with padding='valid'")
    return tuple(None if n is None else (n - s) // st + 1 if padding == "valid" else (n - 1) // st + 1
                 for n, s, st in zip(spatial, spans, strides))


class _Conv(Layer):
    """What every convolution shares: window arguments, activation, bias, output shape, config."""

    rank = 2
    _paddings = ("valid", "same")

    def __init__(self, kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias,
                 bias_initializer, bias_regularizer, activity_regularizer, bias_constraint, filters=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        owner = type(self).__name__
        if filters is not None and (isinstance(filters, bool) or not isinstance(filters, int) or filters <= 0):
            raise ValueError(f"Invalid value for argument `filters`. Expected a strictly positive value. "
                             f"Received filters={filters!r}.")
        self.filters = filters
        self.kernel_size = standardize_tuple(kernel_size, self.rank, "kernel_size")
        self.strides = standardize_tuple(strides, self.rank, "strides")
        self.dilation_rate = standardize_tuple(dilation_rate, self.rank, "dilation_rate")
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(f"`strides > 1` not supported in conjunction with `dilation_rate > 1`. Received: "
                             f"strides={self.strides} and dilation_rate={self.dilation_rate}")
        self.padding = standardize_padding(owner, padding, self._paddings)
        self.data_format = standardize_data_format(owner, data_format)
        self.activation_name, self.activation = activations.resolve(activation)
        self.use_bias = bool(use_bias)
        self.bias_initializer = initializers.get(bias_initializer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.bias_constraint = constraints.get(bias_constraint)

    def _window(self):
        return {"strides": list(self.strides), "padding": self.padding, "dilation_rate": list(self.dilation_rate)}

    def _channels(self, input_shape):
        if len(input_shape) != self.rank + 2 or input_shape[-1] is None:
            raise ValueError(f"{type(self).__name__} '{self.name}': expected inputs of rank {self.rank + 2} with a "
                             f"known channel axis (last), got shape {tuple(input_shape)}")
        return input_shape[-1]

    def _out_channels(self, input_shape):
        return self.filters

    def _add_bias(self, units):
        self.bias = self.add_weight((units,), self.bias_initializer, "bias", regularizer=self.bias_regularizer,
                                    constraint=self.bias_constraint) if self.use_bias else None

    def _conv(self, op, inputs, kernel, **attrs):
        """The op, with the bias and the activation fused into it when it can be (linear, relu, sigmoid,
        tanh); another activation runs after it."""
        fused = self.activation_name if self.activation_name in activations._FUSED else "linear"
        weights = [kernel] if self.bias is None else [kernel, self.bias]
        y = _core.apply(op, [inputs] + weights, activation=fused, use_bias=self.bias is not None, **attrs)
        return y if fused == self.activation_name else self.activation(y)

    def compute_output_shape(self, input_shape):
        spatial = window_output_shape(type(self).__name__, "kernel", input_shape, self.kernel_size, self.strides,
                                      self.padding, self.dilation_rate)
        return (input_shape[0],) + spatial + (self._out_channels(input_shape),)

    def _config(self, **extra):
        """Keras' config keys and values (initializers, regularizers and constraints serialized):
        `type(layer)(**layer.get_config())` rebuilds the layer."""
        return dict({**super().get_config(), "kernel_size": self.kernel_size, "strides": self.strides,
                     "padding": self.padding, "data_format": self.data_format, "dilation_rate": self.dilation_rate,
                     "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                     **layer_config.options(self, "bias_initializer", "bias_regularizer", "bias_constraint"),
                     **layer_config.options(self, "activity_regularizer")}, **extra)

    def _kernel_options(self, prefix, initializer, regularizer, constraint):
        """Sets `<prefix>_initializer`, `_regularizer` and `_constraint` of a kernel from the arguments."""
        setattr(self, f"{prefix}_initializer", initializers.get(initializer))
        setattr(self, f"{prefix}_regularizer", regularizers.get(regularizer))
        setattr(self, f"{prefix}_constraint", constraints.get(constraint))

    def _add_kernel(self, prefix, shape, name):
        """A kernel weight with the `<prefix>_...` options _kernel_options set."""
        return self.add_weight(shape, getattr(self, f"{prefix}_initializer"), name,
                               regularizer=getattr(self, f"{prefix}_regularizer"),
                               constraint=getattr(self, f"{prefix}_constraint"))

    def _kernel_config(self, prefix):
        return layer_config.options(self, *(f"{prefix}_{k}" for k in ("initializer", "regularizer", "constraint")))


class Conv2D(_Conv):
    """2-D convolution: inputs (batch, height, width, channels), kernel (kh, kw, channels, filters).

    ``outputs = activation(conv2d(inputs, kernel) + bias)``, with Keras' strides, padding ('valid' or
    'same') and dilation_rate.

    >>> Conv2D(8, 3, activation="relu")(np.zeros((2, 28, 28, 1), "float32")).shape
    (2, 26, 26, 8)
    """

    _op = "conv2d"

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None, dilation_rate=(1, 1),
                 groups=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        if groups != 1:
            raise NotImplementedError(f"{type(self).__name__}: `groups` other than 1 is not supported yet")
        super().__init__(kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias,
                         bias_initializer, bias_regularizer, activity_regularizer, bias_constraint, filters=filters,
                         **kwargs)
        self.groups = 1
        self._kernel_options("kernel", kernel_initializer, kernel_regularizer, kernel_constraint)

    def build(self, input_shape):
        self.compute_output_shape(input_shape)  # the size checks, before any weight exists
        shape = self.kernel_size + (self._channels(input_shape), self.filters)
        self.kernel = self._add_kernel("kernel", shape, "kernel")
        self._add_bias(self.filters)
        self.built = True

    def call(self, inputs):
        return self._conv(self._op, inputs, self.kernel, **self._window())

    def get_config(self):
        return self._config(filters=self.filters, groups=self.groups, **self._kernel_config("kernel"))


class Conv1D(Conv2D):
    """1-D convolution: inputs (batch, steps, channels), kernel (k, channels, filters); padding may also
    be 'causal' (left padding only: output t sees inputs up to t).

    >>> Conv1D(4, 3, padding="causal")(np.zeros((2, 10, 3), "float32")).shape
    (2, 10, 4)
    """

    rank = 1
    _op = "conv1d"
    _paddings = ("valid", "same", "causal")

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1, groups=1,
                 activation=None, use_bias=True, **kwargs):
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate, groups, activation,
                         use_bias, **kwargs)


class Conv2DTranspose(_Conv):
    """Transposed 2-D convolution (the gradient of Conv2D with respect to its input): inputs (batch, h, w,
    channels), kernel (kh, kw, filters, channels). Output sizes as Keras computes them, with span =
    (kernel - 1) * dilation + 1: 'valid' ``(n - 1) * stride + max(span, stride)``, 'same' ``n * stride``;
    with output_padding p, ``(n - 1) * stride + span + p`` or ``(n - 1) * stride + span % 2 + p``.

    >>> Conv2DTranspose(4, 3, strides=2, padding="same")(np.zeros((1, 7, 7, 8), "float32")).shape
    (1, 14, 14, 4)
    """

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", output_padding=None, data_format=None,
                 dilation_rate=(1, 1), activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias,
                         bias_initializer, bias_regularizer, activity_regularizer, bias_constraint, filters=filters,
                         **kwargs)
        self._kernel_options("kernel", kernel_initializer, kernel_regularizer, kernel_constraint)
        self.output_padding = None
        if output_padding is not None:
            self.output_padding = standardize_tuple(output_padding, 2, "output_padding", allow_zero=True)
            if any(p >= s for p, s in zip(self.output_padding, self.strides)):
                raise ValueError(f"`output_padding` must be strictly less than `strides` for all dimensions. "
                                 f"Received: output_padding={self.output_padding}, strides={self.strides}")

    def build(self, input_shape):
        shape = self.kernel_size + (self.filters, self._channels(input_shape))
        self.kernel = self._add_kernel("kernel", shape, "kernel")
        self._add_bias(self.filters)
        self.built = True

    def call(self, inputs):
        return self._conv("conv2d_transpose", inputs, self.kernel, output_padding=list(self.output_padding or ()),
                          **self._window())

    def compute_output_shape(self, input_shape):
        check_rank(type(self).__name__, input_shape, 2)

        def length(n, k, s, d, p):
            span = (k - 1) * d + 1
            if n is None:
                return None
            if self.padding == "valid":
                return (n - 1) * s + span + (max(span, s) - span if p is None else p)
            return n * s if p is None else (n - 1) * s + span % 2 + p
        pads = self.output_padding or (None, None)
        return (input_shape[0],) + tuple(length(*a) for a in zip(input_shape[1:3], self.kernel_size, self.strides,
                                                                 self.dilation_rate, pads)) + (self.filters,)

    def get_config(self):
        return self._config(filters=self.filters, output_padding=self.output_padding, **self._kernel_config("kernel"))


def _multiplier(value):
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"Invalid value for argument `depth_multiplier`. Expected a strictly positive value. "
                         f"Received depth_multiplier={value!r}.")
    return value


class DepthwiseConv2D(_Conv):
    """Depthwise 2-D convolution: each input channel c convolved with its own depth_multiplier filters,
    kernel (kh, kw, channels, depth_multiplier), output channel ``c * depth_multiplier + m``.

    >>> DepthwiseConv2D(3, depth_multiplier=2)(np.zeros((1, 8, 8, 4), "float32")).shape
    (1, 6, 6, 8)
    """

    def __init__(self, kernel_size, strides=(1, 1), padding="valid", depth_multiplier=1, data_format=None,
                 dilation_rate=(1, 1), activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias,
                         bias_initializer, bias_regularizer, activity_regularizer, bias_constraint, **kwargs)
        self.depth_multiplier = _multiplier(depth_multiplier)
        self._kernel_options("depthwise", depthwise_initializer, depthwise_regularizer, depthwise_constraint)

    def _out_channels(self, input_shape):
        return self._channels(input_shape) * self.depth_multiplier

    def build(self, input_shape):
        self.compute_output_shape(input_shape)
        self.kernel = self._add_kernel("depthwise", self.kernel_size + (self._channels(input_shape),
                                                                        self.depth_multiplier), "kernel")
        self._add_bias(self._out_channels(input_shape))
        self.built = True

    def call(self, inputs):
        return self._conv("depthwise_conv2d", inputs, self.kernel, **self._window())

    def get_config(self):
        return self._config(depth_multiplier=self.depth_multiplier, **self._kernel_config("depthwise"))


class SeparableConv2D(_Conv):
    """A depthwise 2-D convolution (depth_multiplier filters per channel, with the strides, padding and
    dilation), then a pointwise 1x1 convolution to `filters` channels with the bias and activation.
    Weights in Keras' order: depthwise_kernel (kh, kw, channels, multiplier), pointwise_kernel
    (1, 1, channels * multiplier, filters), bias (filters,).

    >>> SeparableConv2D(16, 3, padding="same")(np.zeros((1, 8, 8, 4), "float32")).shape
    (1, 8, 8, 16)
    """

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None, dilation_rate=(1, 1),
                 depth_multiplier=1, activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 pointwise_initializer="glorot_uniform", bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, pointwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias,
                         bias_initializer, bias_regularizer, activity_regularizer, bias_constraint, filters=filters,
                         **kwargs)
        self.depth_multiplier = _multiplier(depth_multiplier)
        self._kernel_options("depthwise", depthwise_initializer, depthwise_regularizer, depthwise_constraint)
        self._kernel_options("pointwise", pointwise_initializer, pointwise_regularizer, pointwise_constraint)

    def build(self, input_shape):
        channels = self._channels(input_shape)
        self.compute_output_shape(input_shape)
        self.depthwise_kernel = self._add_kernel("depthwise", self.kernel_size + (channels, self.depth_multiplier),
                                                 "depthwise_kernel")
        self.pointwise_kernel = self._add_kernel("pointwise", (1, 1, channels * self.depth_multiplier, self.filters),
                                                 "pointwise_kernel")
        self._add_bias(self.filters)
        self.built = True

    def call(self, inputs):
        depthwise = _core.apply("depthwise_conv2d", [inputs, self.depthwise_kernel], use_bias=False, **self._window())
        return self._conv("conv2d", depthwise, self.pointwise_kernel)

    def get_config(self):
        return self._config(filters=self.filters, depth_multiplier=self.depth_multiplier,
                            **self._kernel_config("depthwise"), **self._kernel_config("pointwise"))


Convolution1D, Convolution2D, Convolution2DTranspose = Conv1D, Conv2D, Conv2DTranspose
SeparableConvolution2D = SeparableConv2D
