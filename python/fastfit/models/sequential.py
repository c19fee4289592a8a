"""Sequential: a plain stack of layers, each with one input and one output."""
from .. import backend
from ..layers.layer import InputLayer, KerasTensor, Layer, check_input_shape
from .model import Model


class Sequential(Model):
    """`keras.Sequential([layers.Dense(64, activation='relu'), layers.Dense(10)])`.

    The first layer may be a `keras.Input(shape=...)` or take `input_shape=`; otherwise the model is
    built on its first call or fit.
    """

    def __init__(self, layers=None, name=None, trainable=True):
        super().__init__(name=name or backend.unique_name("sequential"), trainable=trainable)
        self._stack = []
        self._input_shape = None
        for layer in layers or []:
            self.add(layer)

    def add(self, layer):
        if isinstance(layer, KerasTensor) and isinstance(layer._layer, InputLayer):
            self._input_shape = layer.shape
            return
        if isinstance(layer, InputLayer):
            self._input_shape = layer.shape
            return
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add: expected a Layer, got {type(layer).__name__}")
        self._stack.append(layer)
        if len(self._stack) == 1 and layer._input_shape_arg is not None:
            self._input_shape = (None,) + layer._input_shape_arg
        if self._input_shape is not None:
            self.build(self._input_shape)

    def build(self, input_shape):
        shape = tuple(input_shape)
        self._input_shape = (None,) + shape[1:]
        for layer in self._stack:
            layer._maybe_build(shape)
            shape = layer.compute_output_shape(shape)
            layer._output_shape = (None,) + tuple(shape[1:])
        self._output_shape = (None,) + tuple(shape[1:])
        self.built = True

    def call(self, inputs):
        if self._input_shape is not None:
            check_input_shape(self.name, 0, self._input_shape, inputs.shape)
        x = inputs
        for layer in self._stack:
            x = layer(x)
        return x

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        for layer in self._stack:
            shape = layer.compute_output_shape(shape)
        return shape

    @property
    def layers(self):
        return list(self._stack)

    @property
    def inputs(self):
        return [KerasTensor(self._input_shape)] if self._input_shape else None

    @property
    def input_shape(self):
        return self._input_shape

    @property
    def output_shape(self):
        return getattr(self, "_output_shape", None)
