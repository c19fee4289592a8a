"""Embedding: maps integer ids to dense vectors, one C++ gather (csrc/ops/embedding.cpp)."""
import warnings

from .. import _core, constraints, initializers, regularizers
from . import layer_config
from .layer import Layer


class Embedding(Layer):
    """Turns ids in [0, input_dim) into vectors of `output_dim`: (batch, ...) -> (batch, ..., output_dim).

    The ids come from an int32 input (`keras.Input(shape=(n,), dtype="int32")`); float ids are cast,
    as Keras does. An id outside [0, input_dim) raises ValueError. The weight `embeddings` has shape
    (input_dim, output_dim) and starts uniform in [-0.05, 0.05], as Keras'.

    >>> Embedding(10, 4)(np.array([[1, 2, 3]], "int32")).shape
    (1, 3, 4)
    """

    int_inputs = True

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform", embeddings_regularizer=None,
                 embeddings_constraint=None, mask_zero=False, weights=None, lora_rank=None, lora_alpha=None,
                 quantization_config=None, input_length=None, **kwargs):
        for name, value in (("input_dim", input_dim), ("output_dim", output_dim)):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"`{name}` must be a positive integer. Received: {name}={value} "
                                 f"(of type {type(value).__name__}).")
        unsupported = {"mask_zero": mask_zero or None, "lora_rank": lora_rank, "lora_alpha": lora_alpha,
                       "quantization_config": quantization_config}
        for name, value in unsupported.items():
            if value is not None:
                raise NotImplementedError(f"Embedding: `{name}` is not supported yet")
        if input_length is not None:
            warnings.warn("Argument `input_length` is deprecated. Just remove it.", stacklevel=2)
        super().__init__(**kwargs)
        self.input_dim, self.output_dim = input_dim, output_dim
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
        self.mask_zero = False
        if weights is not None:
            self.build()
            self.set_weights(weights if isinstance(weights, list) and len(weights) == 1 else [weights])

    def build(self, input_shape=None):
        self.embeddings = self.add_weight((self.input_dim, self.output_dim), self.embeddings_initializer,
                                          "embeddings", regularizer=self.embeddings_regularizer,
                                          constraint=self.embeddings_constraint)
        self.built = True

    def call(self, inputs):
        return _core.apply("gather", [self.embeddings, inputs])

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def get_config(self):
        return {**super().get_config(), "input_dim": self.input_dim, "output_dim": self.output_dim,
                **layer_config.options(self, "embeddings_initializer", "embeddings_regularizer",
                                       "embeddings_constraint"),
                "mask_zero": self.mask_zero, "quantization_config": None}
