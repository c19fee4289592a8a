"""OpLayer: a tf op called on KerasTensors, as a node of the functional graph (Keras' TFOpLambda).

`tf.reduce_sum(x1) * 0.1` on a symbolic `x1` makes two OpLayers; a functional model replays them on the
tensors that flow there, so `model.add_loss(...)`, `outputs=x[:, :3] + y` and the like work as in Keras.
"""
from .. import backend
from ..keras_tensor import fill, template
from .layer import Layer


class OpLayer(Layer):
    """Runs `fn(*args, **kwargs)` with the KerasTensors in them replaced by the call's inputs."""

    int_inputs = True  # ids stay int32, as the op was given them

    def __init__(self, fn, args, kwargs):
        super().__init__(name=backend.unique_name(f"tf.{fn.__name__.lstrip('_')}"))
        self.fn = fn
        self._template, self._symbolic_inputs = template((tuple(args), dict(kwargs)))

    def call(self, inputs):
        args, kwargs = fill(self._template, lambda slot: inputs[slot.index])
        return self.fn(*args, **kwargs)

    def symbolic_call(self):
        """The KerasTensor of this op on its symbolic inputs."""
        return self._symbolic_output(self._symbolic_inputs, lambda zeros: self(zeros, training=False), listed=True)
