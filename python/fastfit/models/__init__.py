"""Models: functional and subclassed `Model`, `Sequential`; and keras.models' saving functions."""
from .model import Model
from .sequential import Sequential
from ..saving import clone_model, load_model, model_from_config, model_from_json, save_model

__all__ = ["Model", "Sequential", "clone_model", "load_model", "model_from_config", "model_from_json", "save_model"]
