"""Keras layers."""
from .core import Dense
from .normalization import BatchNormalization
from .regularization import Dropout
from .layer import Input, InputLayer, KerasTensor, Layer

__all__ = ["BatchNormalization", "Dense", "Dropout", "Input", "InputLayer", "KerasTensor", "Layer"]
