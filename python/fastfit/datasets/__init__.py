"""Real data sets from the standard files: `mnist`, `fashion_mnist`."""
from . import fashion_mnist, mnist

__all__ = ["fashion_mnist", "mnist"]
