"""Real data sets from their standard files: `mnist`, `fashion_mnist`, `cifar10`, `imdb`."""
from . import cifar10, fashion_mnist, imdb, mnist

__all__ = ["cifar10", "fashion_mnist", "imdb", "mnist"]
