"""Metrics of thresholded confusion counts (train/confusion_metrics.cpp folds them): TruePositives,
FalsePositives, TrueNegatives, FalseNegatives, Precision, Recall, the *At* metrics and AUC. Thresholds
are chosen here, as Keras chooses them; predictions above a threshold count as positive."""
import numpy as np

from ..backend import epsilon
from .metric import Metric

NEG_INF = -1e10  # Keras' threshold under top_k: every kept prediction is above it


def _thresholds(thresholds, default):
    """A list of thresholds in [0, 1] (a number or a list), or [default]."""
    if thresholds is None:
        return [default]
    values = list(thresholds) if isinstance(thresholds, (list, tuple, np.ndarray)) else [thresholds]
    bad = [t for t in values if t is None or t < 0 or t > 1]
    if bad:
        raise ValueError(f"Threshold values must be in [0, 1]. Received: {bad}")
    return values


def _evenly(thresholds):
    """Keras' test for thresholds i / (n - 1): then it buckets predictions instead of comparing."""
    n = len(thresholds)
    return n >= 3 and bool(np.allclose(thresholds, np.arange(n, dtype=np.float32) / (n - 1), atol=epsilon()))


class _Confusion(Metric):
    """A confusion metric: `_kind` names what its result computes from the counts."""

    def __init__(self, thresholds, evenly, name, dtype, **attrs):
        super().__init__(name, dtype)
        self.thresholds = thresholds
        self._attrs = {"thresholds": [float(t) for t in thresholds], "evenly": evenly, **attrs}

    def _config(self):
        return self._attrs


class _Count(_Confusion):
    def __init__(self, thresholds=None, name=None, dtype=None):
        self.init_thresholds = thresholds
        values = _thresholds(thresholds, 0.5)
        super().__init__(values, _evenly(values), name, dtype)

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds}


class TruePositives(_Count):
    """Weighted count of positive targets predicted above each threshold (default 0.5)."""

    _kind = "true_positives"


class FalsePositives(_Count):
    """Weighted count of negative targets predicted above each threshold (default 0.5)."""

    _kind = "false_positives"


class TrueNegatives(_Count):
    """Weighted count of negative targets predicted at or below each threshold (default 0.5)."""

    _kind = "true_negatives"


class FalseNegatives(_Count):
    """Weighted count of positive targets predicted at or below each threshold (default 0.5)."""

    _kind = "false_negatives"


class _PrecisionRecall(_Confusion):
    _direction = "up"

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        self.init_thresholds, self.top_k, self.class_id = thresholds, top_k, class_id
        values = _thresholds(thresholds, 0.5 if top_k is None else NEG_INF)
        super().__init__(values, _evenly(values), name, dtype, top_k=int(top_k or 0),
                         class_id=-1 if class_id is None else int(class_id))

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds, "top_k": self.top_k,
                "class_id": self.class_id}


class Precision(_PrecisionRecall):
    """tp / (tp + fp) at each threshold; with top_k only the k highest predictions of a row can be
    positive; with class_id only that class counts."""

    _kind = "precision"


class Recall(_PrecisionRecall):
    """tp / (tp + fn) at each threshold; top_k and class_id as Precision's."""

    _kind = "recall"


class _AtConstraint(_Confusion):
    """The best of one rate over the thresholds where another reaches `value` (num_thresholds evenly
    spaced over [0, 1])."""

    _direction = "up"
    _constraint = None  # the argument's name: "specificity", ...

    def __init__(self, value, num_thresholds=200, class_id=None, name=None, dtype=None):
        if not 0 <= value <= 1:
            raise ValueError(f"Argument `{self._constraint}` must be in the range [0, 1]. Received: "
                             f"{self._constraint}={value}")
        if num_thresholds <= 0:
            raise ValueError(f"Argument `num_thresholds` must be an integer > 0. Received: "
                             f"num_thresholds={num_thresholds}")
        setattr(self, self._constraint, value)
        self.num_thresholds, self.class_id = num_thresholds, class_id
        inner = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
        values = [0.5] if num_thresholds == 1 else [0.0] + inner + [1.0]
        super().__init__(values, num_thresholds > 1, name, dtype, value=float(value),
                         class_id=-1 if class_id is None else int(class_id))

    def get_config(self):
        return {**super().get_config(), "class_id": self.class_id, "num_thresholds": self.num_thresholds,
                self._constraint: getattr(self, self._constraint)}


class SensitivityAtSpecificity(_AtConstraint):
    """The best sensitivity (recall) where specificity >= `specificity`."""

    _kind, _constraint = "sensitivity_at_specificity", "specificity"

    def __init__(self, specificity, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(specificity, num_thresholds, class_id, name, dtype)


class SpecificityAtSensitivity(_AtConstraint):
    """The best specificity where sensitivity (recall) >= `sensitivity`."""

    _kind, _constraint = "specificity_at_sensitivity", "sensitivity"

    def __init__(self, sensitivity, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(sensitivity, num_thresholds, class_id, name, dtype)


class PrecisionAtRecall(_AtConstraint):
    """The best precision where recall >= `recall`."""

    _kind, _constraint = "precision_at_recall", "recall"

    def __init__(self, recall, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(recall, num_thresholds, class_id, name, dtype)


class RecallAtPrecision(_AtConstraint):
    """The best recall where precision >= `precision`."""

    _kind, _constraint = "recall_at_precision", "precision"

    def __init__(self, precision, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(precision, num_thresholds, class_id, name, dtype)


_CURVES = {"roc": "ROC", "pr": "PR", "prgain": "PRGAIN"}
_SUMMATIONS = ("interpolation", "majoring", "minoring")


class AUC(_Confusion):
    """Area under the ROC curve (or the precision-recall curve, curve="PR"; "PRGAIN"), a Riemann sum over
    `num_thresholds` thresholds (or the given ones, plus 0 and 1): summation_method "interpolation"
    (for PR, Davis & Goadrich's), "majoring" or "minoring". multi_label: one curve per label (y_pred
    (batch, labels)), then their mean, or weighted by label_weights; otherwise label_weights weigh the
    labels' counts. from_logits: a sigmoid first."""

    _direction = "up"
    _kind = "auc"

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation", name=None, dtype=None,
                 thresholds=None, multi_label=False, num_labels=None, label_weights=None, from_logits=False):
        if str(curve).lower() not in _CURVES:
            raise ValueError(f'Invalid AUC curve value: "{curve}". Expected values are ["PR", "ROC", "PRGAIN"]')
        if str(summation_method).lower() not in _SUMMATIONS:
            raise ValueError(f'Invalid AUC summation method value: "{summation_method}". Expected values are '
                             f'["interpolation", "majoring", "minoring"]')
        self._init_from_thresholds = thresholds is not None
        if thresholds is not None:
            inner = sorted(thresholds)
            num_thresholds = len(inner) + 2
            evenly = _evenly([0.0] + inner + [1.0])
        else:
            if num_thresholds <= 1:
                raise ValueError(f"Argument `num_thresholds` must be an integer > 1. Received: "
                                 f"num_thresholds={num_thresholds}")
            inner, evenly = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)], True
        if num_labels and not multi_label:
            raise ValueError("`num_labels` is needed only when `multi_label` is True.")
        self.num_thresholds, self.curve, self.summation_method = num_thresholds, _CURVES[str(curve).lower()], \
            str(summation_method).lower()
        self.multi_label, self.num_labels, self._from_logits = multi_label, num_labels, from_logits
        self.label_weights = None if label_weights is None else [float(w) for w in np.asarray(label_weights)]
        super().__init__([0.0 - epsilon()] + inner + [1.0 + epsilon()], evenly, name, dtype,
                         curve=self.curve, summation_method=self.summation_method, multi_label=bool(multi_label),
                         num_labels=int(num_labels or 0), label_weights=self.label_weights or [],
                         from_logits=bool(from_logits))

    def get_config(self):
        config = {**super().get_config(), "num_thresholds": self.num_thresholds, "curve": self.curve,
                  "summation_method": self.summation_method, "multi_label": self.multi_label,
                  "num_labels": self.num_labels, "label_weights": self.label_weights, "from_logits": self._from_logits}
        return {**config, "thresholds": self.thresholds[1:-1]} if self._init_from_thresholds else config
