"""Activations by name or callable, as keras.activations names them. Linear, relu and tanh are fused
into Dense's C++ kernel; the others are fastfit ops."""
from . import ops

sigmoid, tanh, softmax, log_softmax = ops.sigmoid, ops.tanh, ops.softmax, ops.log_softmax
softplus, softsign, selu, mish, relu6 = ops.softplus, ops.softsign, ops.selu, ops.mish, ops.relu6
hard_sigmoid, hard_silu, hard_swish, silu, swish = ops.hard_sigmoid, ops.hard_silu, ops.hard_silu, ops.silu, ops.silu
exponential = ops.exp


def linear(x):
    return x


def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """max(x, 0), or with Keras' options: a slope below `threshold`, values capped at `max_value`."""
    if (negative_slope, max_value, threshold) == (0.0, None, 0.0):
        return ops.relu(x)
    x = ops.convert_to_tensor(x)
    out = ops.where(x > threshold, x, (x - threshold) * negative_slope if negative_slope else 0.0)
    return out if max_value is None else ops.minimum(out, float(max_value))


def elu(x, alpha=1.0):
    return ops.elu(x, alpha)


def gelu(x, approximate=False):
    """Keras' activation default is the exact (erf) form."""
    return ops.gelu(x, approximate)


def leaky_relu(x, negative_slope=0.2):
    return ops.leaky_relu(x, negative_slope)


# Applied in Dense's epilogue. Sigmoid runs as its own op: its output carries the logits, which binary
# crossentropy reads, as Keras' does.
_FUSED = ("linear", "relu", "tanh")
_BY_NAME = dict(linear=linear, relu=relu, sigmoid=sigmoid, tanh=tanh, softmax=softmax, log_softmax=log_softmax,
                softplus=softplus, softsign=softsign, selu=selu, elu=elu, gelu=gelu, leaky_relu=leaky_relu,
                relu6=relu6, hard_sigmoid=hard_sigmoid, hard_silu=hard_silu, hard_swish=hard_swish, silu=silu,
                swish=swish, mish=mish, exponential=exponential)


def get(identifier):
    """The activation function for a name, a function or a saved config (None: linear), as Keras'.

    >>> get("relu") is relu
    True
    """
    return resolve(identifier)[1]


def resolve(identifier):
    """(name, function): name is the built-in's name (what layers fuse and configs write), or None for
    a function of the user's."""
    if identifier is None:
        return "linear", linear
    if isinstance(identifier, dict):  # a function as a saved config names it
        from .saving.serialization import deserialize_keras_object
        identifier = deserialize_keras_object(identifier, module_objects=_BY_NAME)
    if isinstance(identifier, str):
        if identifier not in _BY_NAME:
            raise ValueError(f"Unknown activation: '{identifier}'. Valid names: {sorted(_BY_NAME)}")
        return identifier, _BY_NAME[identifier]
    if callable(identifier):
        if identifier is ops.relu:  # tf.nn.relu: fused like keras.activations.relu
            return "relu", relu
        for name, fn in _BY_NAME.items():
            if identifier is fn:  # keras.activations.relu etc. stay fused
                return name, fn
        return None, identifier
    raise TypeError(f"activation must be a string or a callable, got {type(identifier).__name__}")


def serialize(activation):
    """A built-in activation by its name (as Keras 3 writes it in configs), another function as a
    function config."""
    name, fn = resolve(activation)
    if name is not None:
        return name
    from .saving.serialization import serialize_keras_object
    return serialize_keras_object(fn)


def deserialize(config, custom_objects=None):
    from .saving.serialization import deserialize_keras_object
    return get(deserialize_keras_object(config, custom_objects, module_objects=_BY_NAME))
