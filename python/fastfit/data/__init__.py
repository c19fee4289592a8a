"""Data: `tf.data.Dataset` pipelines, and the adapters that turn what fit/evaluate/predict receive
into C++ batch sources."""
from . import experimental
from .adapters import get_adapter
from .dataset import AUTOTUNE, INFINITE_CARDINALITY, UNKNOWN_CARDINALITY, Dataset
from .structure import TensorSpec

__all__ = ["AUTOTUNE", "Dataset", "INFINITE_CARDINALITY", "TensorSpec", "UNKNOWN_CARDINALITY", "experimental",
           "get_adapter"]
