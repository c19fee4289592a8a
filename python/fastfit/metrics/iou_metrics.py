"""Intersection over union from a confusion matrix of class ids (train/class_metrics.cpp): IoU, MeanIoU,
BinaryIoU, OneHotIoU, OneHotMeanIoU. Keras keeps the matrix in integers (dtype "int"): sample weights
are truncated to integers unless dtype is float32."""
from .metric import Metric


class IoU(Metric):
    """Mean over `target_class_ids` of tp / (tp + fp + fn), over the classes that occur. Ids are integers
    (truncated), or (sparse_y_*=False) the argmax of one-hot rows; ids outside [0, num_classes) and
    true ids equal to `ignore_class` are left out."""

    _direction = "up"
    _kind = "iou"

    def __init__(self, num_classes, target_class_ids, name=None, dtype=None, ignore_class=None, sparse_y_true=True,
                 sparse_y_pred=True, axis=-1):
        if getattr(dtype, "name", dtype) not in (None, "int", "int32", "int64", "float32"):
            raise NotImplementedError(f"{type(self).__name__}: dtype {dtype!r} is not supported yet (int or float32)")
        if axis != -1:
            raise NotImplementedError(f"{type(self).__name__}: only axis=-1 is supported yet, got axis={axis}")
        if max(target_class_ids) >= num_classes:
            raise ValueError(f"Target class id {max(target_class_ids)} is out of range, which is [0, {num_classes}).")
        super().__init__(name)
        self.num_classes, self.target_class_ids = num_classes, list(target_class_ids)
        self.ignore_class, self.sparse_y_true, self.sparse_y_pred, self.axis = ignore_class, sparse_y_true, \
            sparse_y_pred, axis
        self._dtype = "int32" if getattr(dtype, "name", dtype) in (None, "int", "int32", "int64") else "float32"
        self._threshold = -1.0  # BinaryIoU's

    def _config(self):
        return {"num_classes": int(self.num_classes), "target_class_ids": [int(c) for c in self.target_class_ids],
                "ignore_class": -1 if self.ignore_class is None else int(self.ignore_class),
                "sparse_y_true": bool(self.sparse_y_true), "sparse_y_pred": bool(self.sparse_y_pred),
                "int_weights": self._dtype == "int32", "threshold": float(self._threshold)}

    _config_keys = ("num_classes", "target_class_ids", "ignore_class", "sparse_y_true", "sparse_y_pred", "axis")

    def get_config(self):  # the constructor's arguments, as Keras lists them
        return {"name": self.name, "dtype": self._dtype, **{k: getattr(self, k) for k in self._config_keys}}


class MeanIoU(IoU):
    """IoU averaged over all `num_classes` classes (those that occur)."""

    _config_keys = ("num_classes", "ignore_class", "sparse_y_true", "sparse_y_pred", "axis")

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None, sparse_y_true=True, sparse_y_pred=True,
                 axis=-1):
        super().__init__(num_classes, list(range(num_classes)), name, dtype, ignore_class, sparse_y_true,
                         sparse_y_pred, axis)


class BinaryIoU(IoU):
    """IoU of two classes: a prediction is class 1 where y_pred >= threshold."""

    _config_keys = ("target_class_ids", "threshold")

    def __init__(self, target_class_ids=(0, 1), threshold=0.5, name=None, dtype=None):
        super().__init__(2, target_class_ids, name, dtype)
        self.threshold = self._threshold = threshold


class OneHotIoU(IoU):
    """IoU of one-hot targets (and, unless sparse_y_pred, scores): class ids are the argmax of rows."""

    _config_keys = ("num_classes", "target_class_ids", "ignore_class", "sparse_y_pred", "axis")

    def __init__(self, num_classes, target_class_ids, name=None, dtype=None, ignore_class=None, sparse_y_pred=False,
                 axis=-1):
        super().__init__(num_classes, target_class_ids, name, dtype, ignore_class, False, sparse_y_pred, axis)


class OneHotMeanIoU(MeanIoU):
    """MeanIoU of one-hot targets (and, unless sparse_y_pred, scores)."""

    _config_keys = ("num_classes", "ignore_class", "sparse_y_pred", "axis")

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None, sparse_y_pred=False, axis=-1):
        super().__init__(num_classes, name, dtype, ignore_class, False, sparse_y_pred, axis)
