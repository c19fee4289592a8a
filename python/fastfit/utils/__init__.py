"""keras.utils: seeding, the progress bar."""
from ..backend import set_random_seed
from .progbar import Progbar

__all__ = ["Progbar", "set_random_seed"]
