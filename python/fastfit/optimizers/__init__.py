"""Optimizers with Keras 3's update rules, defaults, arguments and state names; every step runs in C++.

`keras.optimizers.SGD`, `RMSprop`, `Adam`, `AdamW`, `Adamax`, `Nadam`, `Adagrad`, `Adadelta`, `Ftrl`,
`Lion`; learning-rate schedules in `keras.optimizers.schedules`.
"""
from . import schedules
from .adagrad import Adadelta, Adagrad
from .adam import Adam, Adamax, AdamW, Nadam
from .base import Optimizer, flatten_variables
from .ftrl import Ftrl
from .lion import Lion
from .rmsprop import RMSprop
from .sgd import SGD

_BY_NAME = {cls.__name__.lower(): cls for cls in (SGD, RMSprop, Adam, AdamW, Adamax, Nadam, Adagrad, Adadelta, Ftrl,
                                                   Lion)}


def get(identifier):
    """An optimizer from itself or its name ("adam", "AdamW", ...), with Keras' defaults."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        if identifier.lower() not in _BY_NAME:
            raise ValueError(f"Unknown optimizer: '{identifier}'. Valid names: {sorted(_BY_NAME)}")
        return _BY_NAME[identifier.lower()]()
    raise TypeError(f"optimizer must be a string or an Optimizer, got {type(identifier).__name__}")
