"""Activation layers, as Keras 3 defines them: ReLU, LeakyReLU, PReLU, ELU and Softmax."""
import numbers
import warnings

from .. import activations, constraints, initializers, numpy_ops, ops, regularizers
from . import layer_config
from .layer import Layer


def _at_least_zero(owner, name, value, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or value < 0:
        raise ValueError(f"{name} of a {owner} layer cannot be None or a negative value. Received: {name}={value!r}")
    return value


class _Elementwise(Layer):
    """A layer that maps each element on its own: the output has the input's shape."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.built = True

    def compute_output_shape(self, input_shape):
        return input_shape


class ReLU(_Elementwise):
    """``max(x, 0)``, with Keras' options: ``negative_slope * (x - threshold)`` below `threshold`, and
    values capped at `max_value`.

    >>> ReLU(max_value=1.0)(np.array([-1.0, 0.5, 2.0], "float32")).numpy()
    array([0. , 0.5, 1. ], dtype=float32)
    """

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        self.max_value = _at_least_zero("ReLU", "max_value", max_value, allow_none=True)
        self.negative_slope = _at_least_zero("ReLU", "negative_slope", negative_slope)
        self.threshold = _at_least_zero("ReLU", "threshold", threshold)

    def call(self, inputs):
        return activations.relu(inputs, negative_slope=self.negative_slope, max_value=self.max_value,
                                threshold=self.threshold)

    def get_config(self):
        return {**super().get_config(), "max_value": self.max_value, "negative_slope": self.negative_slope,
                "threshold": self.threshold}


class LeakyReLU(_Elementwise):
    """``x`` for x > 0, else ``negative_slope * x`` (0.3 by default, Keras 3's; `alpha` is its
    deprecated name).

    >>> LeakyReLU()(np.array([-1.0, 2.0], "float32")).numpy()
    array([-0.3,  2. ], dtype=float32)
    """

    def __init__(self, negative_slope=0.3, **kwargs):
        if "alpha" in kwargs:
            negative_slope = kwargs.pop("alpha")
            warnings.warn("Argument `alpha` is deprecated. Use `negative_slope` instead.", stacklevel=2)
        super().__init__(**kwargs)
        if isinstance(negative_slope, bool) or not isinstance(negative_slope, numbers.Real) or negative_slope < 0:
            raise ValueError("The negative_slope value of a Leaky ReLU layer cannot be None or negative value. "
                             f"Expected a float. Received: negative_slope={negative_slope!r}")
        self.negative_slope = negative_slope

    def call(self, inputs):
        return activations.leaky_relu(inputs, negative_slope=self.negative_slope)

    def get_config(self):
        return {**super().get_config(), "negative_slope": self.negative_slope}


class ELU(_Elementwise):
    """``x`` for x > 0, else ``alpha * (exp(x) - 1)``."""

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = alpha

    def call(self, inputs):
        return activations.elu(inputs, alpha=self.alpha)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


class PReLU(Layer):
    """``x`` for x > 0, else ``alpha * x`` with a learned `alpha` per element of a sample (zeros at
    first); `shared_axes` (counted with the batch axis as 0) share one alpha along those axes.

    >>> PReLU(shared_axes=[1])(np.zeros((2, 5, 3), "float32")).shape
    (2, 5, 3)
    """

    def __init__(self, alpha_initializer="Zeros", alpha_regularizer=None, alpha_constraint=None, shared_axes=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha_constraint = constraints.get(alpha_constraint)
        if shared_axes is None:
            self.shared_axes = None
        else:
            self.shared_axes = list(shared_axes) if isinstance(shared_axes, (list, tuple)) else [shared_axes]

    def build(self, input_shape):
        shape = list(input_shape[1:])
        for axis in self.shared_axes or []:
            if not 1 <= axis < len(input_shape):
                raise ValueError(f"PReLU: `shared_axes` must be axes of the input other than the batch axis (1 to "
                                 f"{len(input_shape) - 1}), got {self.shared_axes} for inputs of shape "
                                 f"{tuple(input_shape)}")
            shape[axis - 1] = 1
        if None in shape:
            raise ValueError(f"PReLU: the axes that are not shared must be known, got inputs of shape "
                             f"{tuple(input_shape)} and shared_axes={self.shared_axes}")
        self.alpha = self.add_weight(tuple(shape), self.alpha_initializer, "alpha", regularizer=self.alpha_regularizer,
                                     constraint=self.alpha_constraint)
        self.built = True

    def call(self, inputs):
        return ops.relu(inputs) - self.alpha * ops.relu(-inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(),
                **layer_config.options(self, "alpha_initializer", "alpha_regularizer", "alpha_constraint"),
                "shared_axes": self.shared_axes}


class Softmax(_Elementwise):
    """Softmax along `axis` (an int, or a list of axes normalised together). Called with a `mask`
    (1 keeps, 0 masks; broadcastable to the inputs), masked positions get 0.

    >>> Softmax()(np.array([1.0, 2.0, 1.0], "float32")).numpy().round(4)
    array([0.2119, 0.5761, 0.2119], dtype=float32)
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def call(self, inputs, mask=None):
        if mask is not None:
            keep = ops.greater(ops.convert_to_tensor(mask, "float32"), 0.5)
            inputs = ops.where(keep, inputs, -1e9)
        axes = list(self.axis) if isinstance(self.axis, (list, tuple)) else [self.axis]
        if len(axes) == 1 and axes[0] in (-1, inputs.ndim - 1):
            outputs = activations.softmax(inputs)
        else:  # Keras' form for other axes: exp(x - logsumexp(x))
            outputs = ops.exp(inputs - numpy_ops.logsumexp(inputs, axis=axes, keepdims=True))
        return outputs if mask is None else ops.where(keep, outputs, 0.0)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}
