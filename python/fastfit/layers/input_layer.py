"""keras.Input and the InputLayer behind it: a functional model's entry points."""
from .. import backend
from ..keras_tensor import KerasTensor
from .layer import Layer, dtype_name, float32_only
from .layer_config import policy_name


class InputLayer(Layer):
    """The layer behind `Input`: holds the input's shape; its call is the identity."""

    def __init__(self, shape=None, batch_size=None, dtype=None, name=None, **kwargs):
        float32_only("Input", dtype, allowed=("float32", "int32"))
        super().__init__(name=name or backend.unique_name("input_layer"), **kwargs)
        self.shape = (batch_size,) + tuple(shape)
        self.dtype = dtype_name(dtype) or "float32"
        self.built = True
        self.output = KerasTensor(self.shape, self.dtype, layer=self, name=self.name)

    def compute_output_shape(self, input_shape):
        return self.shape

    def get_config(self):
        return {"batch_shape": list(self.shape), "dtype": self.dtype, "sparse": False, "ragged": False,
                "name": self.name, "optional": False}

    @classmethod
    def from_config(cls, config):
        """An InputLayer from Keras 3's config (`batch_shape`) or Keras 2's (`batch_input_shape`)."""
        config = dict(config)
        for key in ("sparse", "ragged", "optional"):
            if config.pop(key, False):
                raise NotImplementedError(f"Input: `{key}=True` is not supported yet")
        batch_shape = config.pop("batch_shape", None) or config.pop("batch_input_shape", None)
        if batch_shape is not None:
            config["batch_size"], config["shape"] = batch_shape[0], tuple(batch_shape[1:])
        elif "input_shape" in config:
            config["shape"] = tuple(config.pop("input_shape"))
        config["dtype"] = policy_name(config.get("dtype"))
        return cls(**config)


def Input(shape=None, batch_size=None, dtype=None, name=None):
    """A symbolic input for the functional API: `keras.Input(shape=(784,), name='digits')`. dtype is
    float32 (the default) or int32 (ids for an Embedding)."""
    if shape is None:
        raise ValueError("Input: `shape` is required, e.g. keras.Input(shape=(784,))")
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    return InputLayer(shape, batch_size, dtype, name).output
