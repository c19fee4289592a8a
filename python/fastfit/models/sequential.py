"""Sequential: a plain stack of layers, each with one input and one output."""
from .. import backend
from ..layers.input_layer import InputLayer
from ..layers.layer import KerasTensor, Layer, check_input_shape
from .model import Model


class Sequential(Model):
    """`keras.Sequential([layers.Dense(64, activation='relu'), layers.Dense(10)])`.

    The first layer may be a `keras.Input(shape=...)` or take `input_shape=`; otherwise the model is
    built on its first call or fit.
    """

    def __init__(self, layers=None, name=None, trainable=True, **kwargs):
        super().__init__(name=name or backend.unique_name("sequential"), trainable=trainable, **kwargs)
        self._stack = []
        self._input_shape = None
        self._input_spec = ("input_layer", "float32")  # the name and dtype of the keras.Input it was given
        for layer in layers or []:
            self.add(layer)

    def add(self, layer):
        if isinstance(layer, KerasTensor) and isinstance(layer._layer, InputLayer):
            layer = layer._layer
        if isinstance(layer, InputLayer):
            self._input_shape, self._input_spec = layer.shape, (layer.name, layer.dtype)
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

    def get_config(self):
        """Keras 3's Sequential config: the layers (an InputLayer first when the input shape is
        known), each as `serialize_keras_object` writes it."""
        from ..saving.serialization import serialize_keras_object
        layers = []
        if self._input_shape is not None:
            name, dtype = self._input_spec
            layers.append({"module": "keras.layers", "class_name": "InputLayer",
                           "config": {"batch_shape": list(self._input_shape), "dtype": dtype, "sparse": False,
                                      "ragged": False, "name": name, "optional": False}, "registered_name": None})
        layers += [serialize_keras_object(layer) for layer in self._stack]
        config = {"name": self.name, "trainable": self.trainable, "dtype": "float32", "layers": layers}
        if self._input_shape is not None:
            config["build_input_shape"] = list(self._input_shape)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """The model `get_config()` (or Keras 3's or Keras 2's Sequential config) describes."""
        from .functional_config import _layer_from
        if isinstance(config, list):  # Keras 2's oldest form: the layers alone
            config = {"layers": config}
        model = cls(name=config.get("name"), trainable=config.get("trainable", True))
        for data in config["layers"]:
            model.add(_layer_from(data, custom_objects))
        shape = config.get("build_input_shape")
        if not model.built and shape is not None and model._stack:
            model.build(tuple(shape))
        return model

    def get_build_config(self):
        return None if self._input_shape is None else {"input_shape": list(self._input_shape)}

    def build_from_config(self, config):
        shape = (config or {}).get("input_shape")
        if shape is not None and self._input_shape is None:
            self.build(tuple(shape))
