"""keras.utils: seeding, the progress bar, PyDataset (Sequence), plot_model and model_to_dot."""
from ..backend import set_random_seed
from .model_visualization import model_to_dot, plot_model
from .progbar import Progbar
from .py_dataset import PyDataset, Sequence

__all__ = ["Progbar", "PyDataset", "Sequence", "model_to_dot", "plot_model", "set_random_seed"]
