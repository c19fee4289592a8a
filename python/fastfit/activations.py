"""Activations by name or callable. The built-in ones are fused into Dense's C++ kernel."""
from . import ops

relu, sigmoid, tanh, softmax = ops.relu, ops.sigmoid, ops.tanh, ops.softmax


def linear(x):
    return x


# Applied in Dense's epilogue. Sigmoid runs as its own op: its output carries the logits, which binary
# crossentropy reads, as Keras' does.
_FUSED = ("linear", "relu", "tanh")
_BY_NAME = {"linear": linear, "relu": relu, "sigmoid": sigmoid, "tanh": tanh, "softmax": softmax}


def get(identifier):
    """Returns (name, callable). name is the built-in's name, or None for a custom callable."""
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
        for name, fn in _BY_NAME.items():
            if identifier is fn:  # keras.activations.relu etc. stay fused
                return name, fn
        return None, identifier
    raise TypeError(f"activation must be a string or a callable, got {type(identifier).__name__}")


def serialize(activation):
    """A built-in activation by its name (as Keras 3 writes it in configs), another function as a
    function config."""
    name, fn = get(activation)
    if name is not None:
        return name
    from .saving.serialization import serialize_keras_object
    return serialize_keras_object(fn)


def deserialize(config, custom_objects=None):
    from .saving.serialization import deserialize_keras_object
    return get(deserialize_keras_object(config, custom_objects, module_objects=_BY_NAME))[1]
