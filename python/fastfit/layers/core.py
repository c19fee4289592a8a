"""Core layers: Dense (y = activation(x W + b), one fused C++ op: gemm with bias and activation
epilogue), Activation, Lambda and Identity."""
import inspect

from .. import _core, activations, constraints, initializers, regularizers
from . import layer_config
from .args import not_supported
from .layer import Layer


class Dense(Layer):
    """Densely connected layer, as `keras.layers.Dense`.

    >>> layer = Dense(64, activation="relu")
    >>> layer(np.zeros((2, 784), "float32")).shape
    (2, 64)
    """

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, lora_rank=None, lora_alpha=None,
                 quantization_config=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        not_supported("Dense", lora_rank=lora_rank, lora_alpha=lora_alpha, quantization_config=quantization_config)
        if not isinstance(units, int) or units <= 0:
            raise ValueError(f"Dense: `units` must be a positive integer, got {units!r}")
        self.units = units
        self.activation_name, self.activation = activations.resolve(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)

    def build(self, input_shape):
        if not isinstance(input_shape, tuple) or len(input_shape) < 1 or input_shape[-1] is None:
            raise ValueError(f"Dense '{self.name}': the last dimension of the inputs must be known, got {input_shape}")
        self.kernel = self.add_weight((input_shape[-1], self.units), self.kernel_initializer, "kernel",
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        self.bias = self.add_weight((self.units,), self.bias_initializer, "bias", regularizer=self.bias_regularizer,
                                    constraint=self.bias_constraint) if self.use_bias else None
        self.built = True

    def call(self, inputs):
        if inputs.shape[-1] != self.kernel.shape[0]:
            raise ValueError(f"Input 0 of layer '{self.name}' is incompatible with the layer: expected axis -1 of input "
                             f"shape to have value {self.kernel.shape[0]}, but received input with shape {inputs.shape}")
        fused = self.activation_name if self.activation_name in activations._FUSED else "linear"
        weights = [self.kernel] if self.bias is None else [self.kernel, self.bias]
        y = _core.apply("dense", [inputs] + weights, activation=fused, use_bias=self.bias is not None)
        return y if fused == self.activation_name else self.activation(y)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "activation": activations.serialize(self.activation),
                "use_bias": self.use_bias,
                **layer_config.options(self, "kernel_initializer", "bias_initializer", "kernel_regularizer",
                                       "bias_regularizer", "kernel_constraint", "bias_constraint"),
                "quantization_config": None}


class Activation(Layer):
    """Applies an activation function: a name ('relu', 'softmax', ...) or a callable."""

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation_name, self.activation = activations.resolve(activation)

    def call(self, inputs):
        return self.activation(inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "activation": activations.serialize(self.activation)}


class Identity(Layer):
    """Returns its input unchanged."""

    def compute_output_shape(self, input_shape):
        return input_shape


class Lambda(Layer):
    """Wraps `function(inputs, **arguments)` as a layer. The fastfit ops it runs are recorded like
    any layer's, so models using it still compile. `function` gets `training` when it takes it.

    Args:
        function: the callable.
        output_shape: the output shape without the batch axis, or a callable of the input shape;
            by default the function runs once on a row of zeros to find it.
        arguments: keyword arguments passed to `function`.
    """

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        if mask is not None:
            raise NotImplementedError("Lambda: `mask` is not supported yet (fastfit layers do not propagate masks)")
        self.function, self.arguments = function, dict(arguments or {})
        self._output_shape = output_shape
        self._takes_training = "training" in inspect.signature(function).parameters

    def call(self, inputs, training=None):
        kwargs = dict(self.arguments, **({"training": training} if self._takes_training else {}))
        return self.function(inputs, **kwargs)

    def compute_output_shape(self, input_shape):
        if self._output_shape is None:
            return super().compute_output_shape(input_shape)
        if callable(self._output_shape):
            return self._output_shape(input_shape)
        batch = input_shape[0][0] if isinstance(input_shape, list) else input_shape[0]
        return (batch,) + tuple(self._output_shape)

    def get_config(self):
        config = {**super().get_config(), "function": self.function, "arguments": self.arguments}
        return config if self._output_shape is None else {**config, "output_shape": self._output_shape}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """A Lambda from its config: a named function is found as custom objects are; a lambda's code
        is loaded only with `safe_mode=False`."""
        from ..saving.serialization import deserialize_keras_object
        config = dict(config)
        for key in ("function", "output_shape"):
            if isinstance(config.get(key), dict):
                config[key] = deserialize_keras_object(config[key], custom_objects)
        if isinstance(config.get("output_shape"), list):
            config["output_shape"] = tuple(config["output_shape"])
        return cls(**config)
