"""Keras layers."""
from .core import Dense
from .normalization import BatchNormalization
from .regularization import (ActivityRegularization, AlphaDropout, Dropout, GaussianDropout, GaussianNoise,
                             SpatialDropout1D, SpatialDropout2D)
from .activations import ELU, LeakyReLU, PReLU, ReLU, Softmax
from .preprocessing import CategoryEncoding, Normalization, Rescaling
from .input_layer import Input, InputLayer
from .layer import KerasTensor, Layer
from .core import Activation, Identity, Lambda
from .embedding import Embedding
from .merging import (Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply, Subtract, add, average, concatenate,
                      dot, maximum, minimum, multiply, subtract)
from .normalization import LayerNormalization
from .reshaping import (Cropping1D, Cropping2D, Flatten, Permute, RepeatVector, Reshape, UpSampling1D, UpSampling2D,
                        ZeroPadding1D, ZeroPadding2D)
from .convolutional import (Conv1D, Conv2D, Conv2DTranspose, Convolution1D, Convolution2D, Convolution2DTranspose,
                            DepthwiseConv2D, SeparableConv2D, SeparableConvolution2D)
from .pooling import (AveragePooling1D, AveragePooling2D, AvgPool1D, AvgPool2D, GlobalAveragePooling1D,
                      GlobalAveragePooling2D, GlobalAvgPool1D, GlobalAvgPool2D, GlobalMaxPool1D, GlobalMaxPool2D,
                      GlobalMaxPooling1D, GlobalMaxPooling2D, MaxPool1D, MaxPool2D, MaxPooling1D, MaxPooling2D)

__all__ = ["BatchNormalization", "Dense", "Dropout", "Input", "InputLayer", "KerasTensor", "Layer"]
__all__ += ["Activation", "Identity", "Lambda", "Embedding", "Add", "Average", "Concatenate", "Dot", "Maximum",
            "Minimum", "Multiply", "Subtract", "add", "average", "concatenate", "dot", "maximum", "minimum",
            "multiply", "subtract", "LayerNormalization", "Cropping2D", "Flatten", "Permute", "RepeatVector",
            "Reshape", "UpSampling2D", "ZeroPadding2D"]
__all__ += ["AveragePooling1D", "AveragePooling2D", "AvgPool1D", "AvgPool2D", "Conv1D", "Conv2D", "Conv2DTranspose",
            "Convolution1D", "Convolution2D", "Convolution2DTranspose", "DepthwiseConv2D", "GlobalAveragePooling1D",
            "GlobalAveragePooling2D", "GlobalAvgPool1D", "GlobalAvgPool2D", "GlobalMaxPool1D", "GlobalMaxPool2D",
            "GlobalMaxPooling1D", "GlobalMaxPooling2D", "MaxPool1D", "MaxPool2D", "MaxPooling1D", "MaxPooling2D",
            "SeparableConv2D", "SeparableConvolution2D"]
__all__ += ["ActivityRegularization", "AlphaDropout", "CategoryEncoding", "Cropping1D", "ELU", "GaussianDropout",
            "GaussianNoise", "LeakyReLU", "Normalization", "PReLU", "ReLU", "Rescaling", "Softmax", "SpatialDropout1D",
            "SpatialDropout2D", "UpSampling1D", "ZeroPadding1D"]
