"""keras.utils: seeding, the progress bar, PyDataset (Sequence), plot_model and model_to_dot,
to_categorical and normalize, and the serialization registry."""
from ..backend import set_random_seed
from .model_visualization import model_to_dot, plot_model
from .numerical_utils import normalize, to_categorical
from .progbar import Progbar
from .py_dataset import PyDataset, Sequence
from ..saving import (CustomObjectScope, custom_object_scope, deserialize_keras_object, get_custom_objects,
                      get_registered_name, get_registered_object, register_keras_serializable, serialize_keras_object)

__all__ = ["Progbar", "PyDataset", "Sequence", "model_to_dot", "normalize", "plot_model", "set_random_seed",
           "to_categorical"]
__all__ += ["CustomObjectScope", "custom_object_scope", "deserialize_keras_object", "get_custom_objects",
            "get_registered_name", "get_registered_object", "register_keras_serializable", "serialize_keras_object"]
