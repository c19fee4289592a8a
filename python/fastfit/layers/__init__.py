"""Keras layers."""
from .core import Dense
from .layer import Input, InputLayer, KerasTensor, Layer

__all__ = ["Dense", "Input", "InputLayer", "KerasTensor", "Layer"]
