"""keras.saving: whole models in Keras 3's `.keras` format (or Keras 2's `.h5`), weights in
`.weights.h5`, configs and custom objects. Every file is written atomically (atomic.py).

>>> model.save("model.keras")
>>> model = keras.saving.load_model("model.keras")

h5py (an optional dependency: `pip install fastfit[h5]`) is imported only when a file is written or read.
"""
from .atomic import atomic_path
from .registration import (CustomObjectScope, custom_object_scope, get_custom_objects, get_registered_name,
                           get_registered_object, register_keras_serializable)
from .saving_api import (clone_model, load_model, load_weights, model_from_config, model_from_json, save_model,
                         save_weights)
from .serialization import deserialize_keras_object, serialize_keras_object

__all__ = ["CustomObjectScope", "atomic_path", "clone_model", "custom_object_scope", "deserialize_keras_object",
           "get_custom_objects", "get_registered_name", "get_registered_object", "load_model", "load_weights",
           "model_from_config", "model_from_json", "register_keras_serializable", "save_model", "save_weights",
           "serialize_keras_object"]
