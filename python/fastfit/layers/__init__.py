"""Keras layers."""
from .core import Dense
from .normalization import BatchNormalization
from .regularization import Dropout
from .layer import Input, InputLayer, KerasTensor, Layer
from .core import Activation, Identity, Lambda
from .embedding import Embedding
from .merging import (Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply, Subtract, add, average, concatenate,
                      dot, maximum, minimum, multiply, subtract)
from .normalization import LayerNormalization
from .reshaping import Cropping2D, Flatten, Permute, RepeatVector, Reshape, UpSampling2D, ZeroPadding2D

__all__ = ["BatchNormalization", "Dense", "Dropout", "Input", "InputLayer", "KerasTensor", "Layer"]
__all__ += ["Activation", "Identity", "Lambda", "Embedding", "Add", "Average", "Concatenate", "Dot", "Maximum",
            "Minimum", "Multiply", "Subtract", "add", "average", "concatenate", "dot", "maximum", "minimum",
            "multiply", "subtract", "LayerNormalization", "Cropping2D", "Flatten", "Permute", "RepeatVector",
            "Reshape", "UpSampling2D", "ZeroPadding2D"]
