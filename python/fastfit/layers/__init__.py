"""Keras layers."""
from .core import Dense
from .normalization import BatchNormalization
from .layer import Input, InputLayer, KerasTensor, Layer

__all__ = ["BatchNormalization", "Dense", "Input", "InputLayer", "KerasTensor", "Layer"]
