"""keras.utils: seeding, the progress bar, PyDataset (Sequence)."""
from ..backend import set_random_seed
from .progbar import Progbar
from .py_dataset import PyDataset, Sequence

__all__ = ["Progbar", "PyDataset", "Sequence", "set_random_seed"]
