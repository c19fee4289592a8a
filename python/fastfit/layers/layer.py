"""Layer base class, symbolic KerasTensors and Input: the pieces the functional API is built from."""
import numpy as np

from .. import backend, initializers
from ..tensor import Variable, as_float


class KerasTensor:
    """A symbolic tensor: a shape with None for the batch axis, and the layer call that made it."""

    def __init__(self, shape, dtype="float32", layer=None, inputs=(), name=None):
        self.shape = tuple(shape)
        self.dtype = dtype
        self._layer = layer        # the layer whose call produced this tensor (an InputLayer for inputs)
        self._inputs = list(inputs)
        self.name = name

    def __repr__(self):
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"


class Layer:
    """Base class of layers: builds its weights on the first call, from the input's shape.

    Subclasses override `build(input_shape)` (create weights with `add_weight`) and `call(inputs)`.
    Called on a KerasTensor it adds a node to a functional graph; called on data it computes.
    """

    def __init__(self, name=None, trainable=True, dtype=None, input_shape=None, **kwargs):
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unexpected keyword argument(s) {sorted(kwargs)}")
        self.name = name or backend.unique_name(backend.snake_case(type(self).__name__))
        self.trainable = trainable
        self.built = False
        self._weights = []
        self._input_shape_arg = None if input_shape is None else tuple(input_shape)

    def build(self, input_shape):
        self.built = True

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def add_weight(self, shape=None, initializer="glorot_uniform", name=None, trainable=True, dtype=None):
        """Creates a Variable of `shape`, tracked in this layer's weights."""
        shape = tuple(int(d) for d in (shape or ()))
        value = initializers.get(initializer)(shape)
        v = Variable(np.asarray(value, np.float32).reshape(shape), trainable=trainable, name=name or "variable")
        v.path = f"{self.name}/{v.name}"
        self._weights.append(v)
        return v

    def _maybe_build(self, input_shape):
        if not self.built:
            self.build(input_shape)
            self.built = True

    def __call__(self, inputs, *args, **kwargs):
        if isinstance(inputs, KerasTensor) or (isinstance(inputs, (list, tuple)) and inputs and
                                               all(isinstance(t, KerasTensor) for t in inputs)):
            return self._call_symbolic(inputs)
        if isinstance(inputs, (list, tuple)):
            inputs = [as_float(t) for t in inputs]  # layers compute in float32, as Keras casts
            shape = [t.shape for t in inputs]
        else:
            inputs = as_float(inputs)
            shape = inputs.shape
        self._maybe_build(shape)
        return self.call(inputs, *args, **kwargs)

    def _call_symbolic(self, inputs):
        shape = [t.shape for t in inputs] if isinstance(inputs, (list, tuple)) else inputs.shape
        self._maybe_build(shape)
        out_shape = self.compute_output_shape(shape)
        flat = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        return KerasTensor(out_shape, layer=self, inputs=flat, name=self.name)

    # -- weights ---------------------------------------------------------------------------
    @property
    def weights(self):
        return list(self._weights)

    @property
    def trainable_weights(self):
        return [w for w in self.weights if w.trainable] if self.trainable else []

    @property
    def non_trainable_weights(self):
        return [w for w in self.weights if not w.trainable] if self.trainable else self.weights

    trainable_variables = trainable_weights
    variables = weights

    def get_weights(self):
        return [w.numpy() for w in self.weights]

    def set_weights(self, weights):
        """Sets the weights from a list of numpy arrays, in the order of `get_weights()`."""
        own = self.weights
        if len(weights) != len(own):
            raise ValueError(f"set_weights: layer '{self.name}' expects {len(own)} weight arrays, got {len(weights)}")
        for v, w in zip(own, weights):
            w = np.asarray(w)
            if tuple(w.shape) != tuple(v.shape):
                raise ValueError(f"set_weights: weight '{v.path}' has shape {v.shape}, got an array of shape {w.shape}")
            v.assign(w)

    def count_params(self):
        return int(sum(np.prod(w.shape) for w in self.weights))

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


class InputLayer(Layer):
    """The layer behind `Input`: holds the input's shape; its call is the identity."""

    def __init__(self, shape=None, batch_size=None, dtype=None, name=None, **kwargs):
        super().__init__(name=name or backend.unique_name("input_layer"), **kwargs)
        self.shape = (batch_size,) + tuple(shape)
        self.dtype = dtype or "float32"
        self.built = True
        self.output = KerasTensor(self.shape, self.dtype, layer=self, name=self.name)

    def compute_output_shape(self, input_shape):
        return self.shape


def Input(shape=None, batch_size=None, dtype=None, name=None):
    """A symbolic input for the functional API: `keras.Input(shape=(784,), name='digits')`."""
    if shape is None:
        raise ValueError("Input: `shape` is required, e.g. keras.Input(shape=(784,))")
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    return InputLayer(shape, batch_size, dtype, name).output
