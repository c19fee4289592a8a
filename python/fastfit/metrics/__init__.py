"""keras.metrics: the metric classes, the per-sample functions, and the names compile() accepts."""
import inspect

from .. import losses as _losses
from ..backend import snake_case
from .accuracy_metrics import (Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy,
                               SparseTopKCategoricalAccuracy, TopKCategoricalAccuracy, accuracy, binary_accuracy,
                               categorical_accuracy, sparse_categorical_accuracy)
from .confusion_metrics import (AUC, FalseNegatives, FalsePositives, Precision, PrecisionAtRecall, Recall,
                                RecallAtPrecision, SensitivityAtSpecificity, SpecificityAtSensitivity, TrueNegatives,
                                TruePositives)
from .f_score_metrics import F1Score, FBetaScore
from .iou_metrics import BinaryIoU, IoU, MeanIoU, OneHotIoU, OneHotMeanIoU
from .loss_metrics import (BinaryCrossentropy, CategoricalCrossentropy, CategoricalHinge, Hinge, KLDivergence,
                           Poisson, SparseCategoricalCrossentropy, SquaredHinge)
from .metric import Mean, MeanMetricWrapper, Metric, Sum, ValueMean
from .regression_metrics import (CosineSimilarity, LogCoshError, MeanAbsoluteError, MeanAbsolutePercentageError,
                                 MeanSquaredError, MeanSquaredLogarithmicError, R2Score, RootMeanSquaredError)
from ..losses import (binary_crossentropy, binary_focal_crossentropy, categorical_crossentropy,
                      categorical_focal_crossentropy, categorical_hinge, hinge, huber, kl_divergence, log_cosh,
                      mean_absolute_error, mean_absolute_percentage_error, mean_squared_error,
                      mean_squared_logarithmic_error, poisson, sparse_categorical_crossentropy, squared_hinge)

_CLASSES = [Mean, Sum, Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy,
            TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy, AUC, FalseNegatives, FalsePositives, Precision,
            PrecisionAtRecall, Recall, RecallAtPrecision, SensitivityAtSpecificity, SpecificityAtSensitivity,
            TrueNegatives, TruePositives, F1Score, FBetaScore, IoU, BinaryIoU, MeanIoU, OneHotIoU, OneHotMeanIoU,
            KLDivergence, Poisson, BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy, Hinge,
            SquaredHinge, CategoricalHinge, MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError,
            MeanSquaredLogarithmicError, RootMeanSquaredError, CosineSimilarity, LogCoshError, R2Score]
# Keras 3's names: each class by its name and in snake_case, and the short aliases.
ALL_OBJECTS_DICT = {**{c.__name__: c for c in _CLASSES}, **{snake_case(c.__name__): c for c in _CLASSES}}
ALL_OBJECTS_DICT.update(bce=BinaryCrossentropy, BCE=BinaryCrossentropy, mse=MeanSquaredError, MSE=MeanSquaredError,
                        mae=MeanAbsoluteError, MAE=MeanAbsoluteError, mape=MeanAbsolutePercentageError,
                        MAPE=MeanAbsolutePercentageError, msle=MeanSquaredLogarithmicError,
                        MSLE=MeanSquaredLogarithmicError)
_CLASS_OF = {accuracy: Accuracy, binary_accuracy: BinaryAccuracy, categorical_accuracy: CategoricalAccuracy,
             sparse_categorical_accuracy: SparseCategoricalAccuracy}
_ACCURACY = ("accuracy", "acc")


def get(identifier, y_true_shape=None, y_pred_shape=None, loss=None):
    """A Metric from a name, a class, an object or a function, named as compile() names it (a string: the
    string). 'accuracy' picks binary, sparse or categorical accuracy from the shapes of the targets and
    predictions and the loss, as Keras does. A loss function (or a loss's name beyond Keras' metric
    names: 'huber', 'kld', ...) becomes the mean of its values."""
    if isinstance(identifier, Metric):
        return identifier
    if inspect.isclass(identifier) and issubclass(identifier, Metric):
        return identifier()
    if isinstance(identifier, str):
        if identifier in _ACCURACY:
            return _accuracy(y_true_shape, y_pred_shape, loss)(name=identifier)
        if identifier in ALL_OBJECTS_DICT:
            return ALL_OBJECTS_DICT[identifier](name=identifier)
        fn = _losses.ALL_OBJECTS_DICT.get(identifier)
        if fn is None or inspect.isclass(fn):
            raise ValueError(f"Unknown metric: '{identifier}'. Valid names: "
                             f"{sorted(list(ALL_OBJECTS_DICT) + list(_ACCURACY))}")
        return MeanMetricWrapper(fn, name=identifier)
    if callable(identifier):
        name = snake_case(getattr(identifier, "__name__", type(identifier).__name__))
        cls = _CLASS_OF.get(identifier)
        return cls(name=name) if cls is not None else MeanMetricWrapper(identifier, name=name)
    raise TypeError(f"metric must be a string, a Metric or a callable, got {type(identifier).__name__}")


def _accuracy(y_true_shape, y_pred_shape, loss):
    if y_pred_shape is not None and y_pred_shape[-1] == 1:
        return BinaryAccuracy
    if isinstance(loss, _losses.SparseCategoricalCrossentropy) or (
            y_true_shape is not None and y_pred_shape is not None and
            (len(y_true_shape) < len(y_pred_shape) or y_true_shape[-1] == 1)):
        return SparseCategoricalAccuracy
    return CategoricalAccuracy


def serialize(metric):
    return {"class_name": type(metric).__name__, "config": metric.get_config()}


def deserialize(config):
    return ALL_OBJECTS_DICT[config["class_name"]].from_config(config.get("config", {}))
