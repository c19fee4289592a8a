"""keras.utils: seeding, the progress bar, PyDataset (Sequence), to_categorical and normalize."""
from ..backend import set_random_seed
from .numerical_utils import normalize, to_categorical
from .progbar import Progbar
from .py_dataset import PyDataset, Sequence

__all__ = ["Progbar", "PyDataset", "Sequence", "normalize", "set_random_seed", "to_categorical"]
