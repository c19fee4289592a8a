"""Accuracies: how often predictions match the targets. The metric classes fold in C++; the functions
give the per-sample values (1 or 0) from fastfit ops."""
from .. import ops
from ..losses.loss import squeeze_or_expand_to_same_rank
from ..tensor import as_float, convert_to_tensor
from .metric import Metric


def accuracy(y_true, y_pred):
    """1 where y_pred equals y_true, element by element."""
    return ops.equal(*squeeze_or_expand_to_same_rank(as_float(y_true), as_float(y_pred)))


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """1 where (y_pred > threshold) equals y_true, element by element."""
    y_true, y_pred = squeeze_or_expand_to_same_rank(as_float(y_true), as_float(y_pred))
    return ops.equal(y_true, ops.greater(y_pred, threshold))


def categorical_accuracy(y_true, y_pred):
    """1 where argmax(y_pred) equals argmax(y_true), per sample."""
    return ops.equal(ops.argmax(y_true, axis=-1), ops.argmax(y_pred, axis=-1))


def sparse_categorical_accuracy(y_true, y_pred):
    """1 where argmax(y_pred) equals the integer label, per sample."""
    y_true, y_pred = convert_to_tensor(y_true), as_float(y_pred)
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = ops.squeeze(y_true, -1)
    return ops.equal(y_true, ops.argmax(y_pred, axis=-1))


class Accuracy(Metric):
    """How often y_pred equals y_true, element by element."""

    _direction = "up"
    _kind = "accuracy"

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(name, dtype)


class BinaryAccuracy(Metric):
    """How often (y_pred > threshold) equals y_true."""

    _direction = "up"
    _kind = "binary_accuracy"

    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        super().__init__(name, dtype)
        self.threshold = threshold

    def _config(self):
        return {"threshold": float(self.threshold)}

    def get_config(self):
        return {**super().get_config(), "threshold": self.threshold}


class CategoricalAccuracy(Metric):
    """How often argmax(y_pred) equals argmax(y_true) for one-hot labels."""

    _direction = "up"
    _kind = "categorical_accuracy"

    def __init__(self, name="categorical_accuracy", dtype=None):
        super().__init__(name, dtype)


class SparseCategoricalAccuracy(Metric):
    """How often the argmax of y_pred (B, C) equals the integer label y_true (B,) or (B, 1)."""

    _direction = "up"
    _kind = "sparse_categorical_accuracy"

    def __init__(self, name="sparse_categorical_accuracy", dtype=None):
        super().__init__(name, dtype)


class TopKCategoricalAccuracy(Metric):
    """How often the one-hot target's class is among the `k` highest predictions (ties at the
    boundary count, as tf.math.in_top_k)."""

    _direction = "up"
    _kind = "top_k_categorical_accuracy"

    def __init__(self, k=5, name="top_k_categorical_accuracy", dtype=None):
        super().__init__(name, dtype)
        self.k = k

    def _config(self):
        return {"k": int(self.k)}

    def get_config(self):
        return {**super().get_config(), "k": self.k}


class SparseTopKCategoricalAccuracy(Metric):
    """How often the integer label is among the `k` highest predictions; with from_sorted_ids, y_pred
    holds class ids best first and the label must be among the first k."""

    _direction = "up"
    _kind = "sparse_top_k_categorical_accuracy"

    def __init__(self, k=5, name="sparse_top_k_categorical_accuracy", dtype=None, from_sorted_ids=False):
        super().__init__(name, dtype)
        self.k, self.from_sorted_ids = k, from_sorted_ids

    def _config(self):
        return {"k": int(self.k), "from_sorted_ids": bool(self.from_sorted_ids)}

    def get_config(self):
        config = {**super().get_config(), "k": self.k}
        return {**config, "from_sorted_ids": True} if self.from_sorted_ids else config
