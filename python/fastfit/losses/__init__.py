"""keras.losses: classes, functions and the names compile() accepts (Keras 3's, and its aliases)."""
import inspect

from ..backend import snake_case
from .loss import Loss, LossFunctionWrapper
from .losses import (BinaryCrossentropy, BinaryFocalCrossentropy, CategoricalCrossentropy,
                     CategoricalFocalCrossentropy, CategoricalHinge, CosineSimilarity, Hinge, Huber, KLDivergence,
                     LogCosh, MeanAbsoluteError, MeanAbsolutePercentageError, MeanSquaredError,
                     MeanSquaredLogarithmicError, Poisson, SparseCategoricalCrossentropy, SquaredHinge,
                     binary_crossentropy, binary_focal_crossentropy, categorical_crossentropy,
                     categorical_focal_crossentropy, categorical_hinge, cosine_similarity, hinge, huber,
                     kl_divergence, log_cosh, mean_absolute_error, mean_absolute_percentage_error, mean_squared_error,
                     mean_squared_logarithmic_error, poisson, sparse_categorical_crossentropy, squared_hinge)

# Each built-in function and the class that reduces it.
_CLASS_OF = {mean_squared_error: MeanSquaredError, mean_absolute_error: MeanAbsoluteError,
             mean_absolute_percentage_error: MeanAbsolutePercentageError,
             mean_squared_logarithmic_error: MeanSquaredLogarithmicError, cosine_similarity: CosineSimilarity,
             huber: Huber, log_cosh: LogCosh, hinge: Hinge, squared_hinge: SquaredHinge,
             categorical_hinge: CategoricalHinge, kl_divergence: KLDivergence, poisson: Poisson,
             binary_crossentropy: BinaryCrossentropy, binary_focal_crossentropy: BinaryFocalCrossentropy,
             categorical_crossentropy: CategoricalCrossentropy,
             categorical_focal_crossentropy: CategoricalFocalCrossentropy,
             sparse_categorical_crossentropy: SparseCategoricalCrossentropy}

# Keras 3's aliases, then tf.keras 2's.
mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kullback_leibler_divergence = kl_divergence
bce = BCE = binary_crossentropy
logcosh = log_cosh
huber_loss = huber

ALL_OBJECTS_DICT = {**{cls.__name__: cls for cls in _CLASS_OF.values()}, **{fn.__name__: fn for fn in _CLASS_OF}}
ALL_OBJECTS_DICT.update(mse=mse, MSE=MSE, mae=mae, MAE=MAE, mape=mape, MAPE=MAPE, msle=msle, MSLE=MSLE, kld=kld,
                        KLD=KLD, kullback_leibler_divergence=kld, bce=bce, BCE=BCE, logcosh=logcosh,
                        huber_loss=huber_loss)


def get(identifier):
    """A Loss from a name (a class, a function or an alias), a Loss, a Loss class, a config dict
    {"class_name": ..., "config": ...}, a loss function of this module (its class), or any
    callable(y_true, y_pred) -> per-sample losses (wrapped). None stays None."""
    if identifier is None or isinstance(identifier, Loss):
        return identifier
    obj = identifier
    if isinstance(identifier, dict):
        cls = ALL_OBJECTS_DICT.get(identifier.get("class_name"))
        if not inspect.isclass(cls):
            raise ValueError(f"Could not interpret loss identifier: {identifier}")
        return cls.from_config(identifier.get("config", {}))
    if isinstance(identifier, str):
        obj = ALL_OBJECTS_DICT.get(identifier)
        if obj is None:
            raise ValueError(f"Unknown loss: '{identifier}'. Valid names: {sorted(ALL_OBJECTS_DICT)}")
    if inspect.isclass(obj) and issubclass(obj, Loss):
        return obj()
    if obj in _CLASS_OF:  # named as Keras names a wrapped function: by the identifier
        return _CLASS_OF[obj](name=identifier if isinstance(identifier, str) else obj.__name__)
    if callable(obj):
        return LossFunctionWrapper(obj, name=snake_case(getattr(obj, "__name__", "loss")))
    raise TypeError(f"loss must be a string, a Loss or a callable, got {type(identifier).__name__}")


def serialize(loss):
    return {"class_name": type(loss).__name__, "config": loss.get_config()}


def deserialize(config):
    return get(config)
