"""Data feeding: adapters that turn what fit/evaluate/predict receive into C++ batch sources."""
from .adapters import get_adapter

__all__ = ["get_adapter"]
