"""OpLayer: a tf op called on KerasTensors, as a node of the functional graph (Keras' TFOpLambda).

`tf.reduce_sum(x1) * 0.1` on a symbolic `x1` makes two OpLayers; a functional model replays them on the
tensors that flow there, so `model.add_loss(...)`, `outputs=x[:, :3] + y` and the like work as in Keras.
Saved, an OpLayer is a "TFOpLambda" layer named "tf.<op>" whose config names the op (`function`) and
whose node holds the op's arguments.
"""
from .. import backend
from ..keras_tensor import fill, template
from .layer import Layer

# Keras 2's TFOpLambda names for Python's operators on tensors, and the fastfit ops they are.
_OPERATORS = {"getitem": "_getitem", "add": "add", "sub": "subtract", "mul": "multiply", "truediv": "divide",
              "matmul": "matmul", "neg": "negative", "abs": "abs", "gt": "greater", "ge": "greater_equal",
              "lt": "less", "le": "less_equal", "pow": "pow", "eq": "equal", "ne": "not_equal"}


def op_by_name(function):
    """The fastfit op a saved TFOpLambda names: "reduce_sum", Keras 2's "math.reduce_sum" or
    "__operators__.getitem"."""
    from .. import ops
    module, _, name = function.rpartition(".")
    if module == "__operators__":
        name = _OPERATORS.get(name, name)
    fn = getattr(ops, name, None) if name == "_getitem" or not name.startswith("_") else None
    if not callable(fn):
        raise ValueError(f"TFOpLambda: fastfit has no op '{function}'")
    return fn


class OpLayer(Layer):
    """Runs `fn(*args, **kwargs)` with the KerasTensors in them replaced by the call's inputs."""

    int_inputs = True  # ids stay int32, as the op was given them

    def __init__(self, fn, args=(), kwargs=None, name=None, **layer_kwargs):
        super().__init__(name=name or backend.unique_name(f"tf.{fn.__name__.lstrip('_')}"), **layer_kwargs)
        self.fn = fn
        self._template, self._symbolic_inputs = template((tuple(args), dict(kwargs or {})))

    def call(self, inputs):
        args, kwargs = fill(self._template, lambda slot: inputs[slot.index])
        return self.fn(*args, **kwargs)

    def symbolic_call(self):
        """The KerasTensor of this op on its symbolic inputs."""
        return self._symbolic_output(self._symbolic_inputs, lambda zeros: self(zeros, training=False), listed=True)

    def bind(self, args, kwargs):
        """The KerasTensor of this op on new arguments (a saved model's node, rebuilt on load)."""
        self._template, self._symbolic_inputs = template((tuple(args), dict(kwargs)))
        return self.symbolic_call()

    def get_config(self):
        return {**super().get_config(), "function": self.fn.__name__}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        return cls(op_by_name(config.pop("function")), **config)
