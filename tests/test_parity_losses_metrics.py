"""Parity with Keras 3 on TensorFlow (skips without tensorflow): every loss (values and gradients w.r.t.
y_pred) and every metric (results over two update_state calls) on random inputs, with and without
sample weights, across their options. Keras runs once, in a subprocess, for all cases."""
import importlib.util

import numpy as np
import pytest

import fastfit
import keras_cases

pytestmark = pytest.mark.skipif(importlib.util.find_spec("tensorflow") is None, reason="tensorflow is not installed")

rng = np.random.default_rng(42)
B, C = 24, 5
CASES, ARRAYS = [], {}


def _add(kind, cls, y_true, y_pred, weighted=False, activation=None, **kwargs):
    i = len(CASES)
    CASES.append({"kind": kind, "cls": cls, "kwargs": kwargs, "activation": activation, "batches": 2})
    ARRAYS[f"{i}_y_true"], ARRAYS[f"{i}_y_pred"] = y_true, y_pred
    if weighted:
        ARRAYS[f"{i}_sw"] = rng.uniform(0, 2, len(y_true)).astype(np.float32)


def _probs(*shape):
    p = rng.uniform(0.01, 1, size=shape).astype(np.float32)
    return p / p.sum(-1, keepdims=True)


def _onehot(n, c):
    return np.eye(c, dtype=np.float32)[rng.integers(0, c, n)]


real = rng.normal(size=(B, 3)).astype(np.float32)
real2 = rng.normal(size=(B, 3)).astype(np.float32)
positive, positive2 = np.abs(real) + 0.1, np.abs(real2) + 0.1
binary = rng.integers(0, 2, (B, 3)).astype(np.float32)
unit = rng.uniform(size=(B, 3)).astype(np.float32)
logits = (rng.normal(size=(B, 3)) * 3).astype(np.float32)
onehot, probs, class_logits = _onehot(B, C), _probs(B, C), (rng.normal(size=(B, C)) * 2).astype(np.float32)
labels = rng.integers(0, C, B).astype(np.int32)
binary_col, unit_col = binary[:, :1], np.round(unit[:, :1] * 8) / 8  # some predictions on the thresholds

for weighted in (False, True):
    for cls, y, p in [("MeanSquaredError", real, real2), ("MeanAbsoluteError", real, real2),
                      ("MeanAbsolutePercentageError", real, real2), ("MeanSquaredLogarithmicError", positive, positive2),
                      ("CosineSimilarity", real, real2), ("Huber", real, real2), ("LogCosh", real, real2),
                      ("Poisson", positive, positive2), ("KLDivergence", probs, _probs(B, C)),
                      ("Hinge", binary, real), ("Hinge", real, real2), ("SquaredHinge", binary, real),
                      ("CategoricalHinge", onehot, class_logits), ("BinaryCrossentropy", binary, unit),
                      ("BinaryFocalCrossentropy", binary, unit), ("CategoricalCrossentropy", onehot, probs),
                      ("CategoricalFocalCrossentropy", onehot, probs), ("SparseCategoricalCrossentropy", labels, probs)]:
        _add("loss", cls, y, p, weighted)
    _add("loss", "Huber", real, real2, weighted, delta=0.4, reduction="sum")
    _add("loss", "BinaryCrossentropy", binary, logits, weighted, from_logits=True, label_smoothing=0.2)
    _add("loss", "BinaryCrossentropy", binary, logits, weighted, "sigmoid", reduction="mean_with_sample_weight")
    _add("loss", "BinaryFocalCrossentropy", binary, logits, weighted, from_logits=True, gamma=3.0,
         apply_class_balancing=True, alpha=0.4)
    _add("loss", "BinaryFocalCrossentropy", binary, logits, weighted, "sigmoid", label_smoothing=0.1, gamma=0.5)
    _add("loss", "CategoricalCrossentropy", onehot, class_logits, weighted, from_logits=True, label_smoothing=0.1)
    _add("loss", "CategoricalCrossentropy", onehot, class_logits, weighted, "softmax", reduction="none")
    _add("loss", "CategoricalCrossentropy", np.moveaxis(onehot.reshape(B // 2, 2, C), 2, 1).copy(),
         np.moveaxis(probs.reshape(B // 2, 2, C), 2, 1).copy(), False, axis=1)
    _add("loss", "CategoricalFocalCrossentropy", onehot, class_logits, weighted, from_logits=True, gamma=1.5,
         alpha=0.5, label_smoothing=0.1)
    _add("loss", "SparseCategoricalCrossentropy", labels, class_logits, weighted, from_logits=True)
    _add("loss", "SparseCategoricalCrossentropy", labels, class_logits, weighted, from_logits=True, ignore_class=1)

    for cls, y, p, kwargs in [
            ("Accuracy", np.round(unit * 2), np.round(binary * 2), {}), ("BinaryAccuracy", binary, unit, {}),
            ("BinaryAccuracy", binary, unit, {"threshold": 0.7}), ("CategoricalAccuracy", onehot, probs, {}),
            ("SparseCategoricalAccuracy", labels, probs, {}), ("SparseCategoricalAccuracy", labels[:, None], probs, {}),
            ("TopKCategoricalAccuracy", onehot, probs, {"k": 2}), ("SparseTopKCategoricalAccuracy", labels, probs,
                                                                  {"k": 3}),
            ("TruePositives", binary_col, unit_col, {}), ("FalsePositives", binary, unit, {"thresholds": [0.2, 0.75]}),
            ("TrueNegatives", binary, unit, {"thresholds": [0.0, 0.5, 1.0]}), ("FalseNegatives", binary_col, unit_col, {}),
            ("Precision", binary, unit, {}), ("Recall", binary, unit, {"thresholds": [0.0, 0.5, 1.0]}),
            ("Precision", onehot, probs, {"top_k": 2}), ("Recall", onehot, probs, {"top_k": 1, "class_id": 2}),
            ("Precision", onehot, probs, {"class_id": 3, "thresholds": 0.1}),
            ("SensitivityAtSpecificity", binary_col, unit_col, {"specificity": 0.5}),
            ("SpecificityAtSensitivity", binary_col, unit_col, {"sensitivity": 0.6, "num_thresholds": 50}),
            ("PrecisionAtRecall", binary, unit, {"recall": 0.4}),
            ("RecallAtPrecision", binary, unit, {"precision": 0.5, "num_thresholds": 1}),
            ("PrecisionAtRecall", onehot, probs, {"recall": 0.3, "class_id": 1}),
            ("AUC", binary, unit, {"multi_label": True}),
            ("AUC", binary, unit, {"multi_label": True, "curve": "PR", "label_weights": [0.2, 1.0, 0.5]}),
            ("AUC", binary, unit, {"label_weights": [0.2, 1.0, 0.5]}),
            ("AUC", binary, logits, {"from_logits": True, "num_thresholds": 17}),
            ("AUC", binary, unit, {"thresholds": [0.3, 0.1, 0.6]}), ("AUC", binary_col, unit_col, {"num_thresholds": 5}),
            ("MeanIoU", labels, probs.argmax(1).astype(np.float32), {"num_classes": C}),
            ("MeanIoU", labels, probs.argmax(1).astype(np.float32), {"num_classes": C, "ignore_class": 2}),
            ("IoU", labels, probs.argmax(1).astype(np.float32), {"num_classes": C, "target_class_ids": [0, 3]}),
            ("BinaryIoU", binary_col, unit_col, {"threshold": 0.4}),
            ("OneHotMeanIoU", onehot, probs, {"num_classes": C, "dtype": "float32"}),
            ("OneHotIoU", onehot, probs, {"num_classes": C, "target_class_ids": [1]}),
            ("R2Score", real, real + real2, {}), ("R2Score", real, real + real2, {"class_aggregation": None}),
            ("R2Score", real, real + real2, {"class_aggregation": "variance_weighted_average", "num_regressors": 2}),
            ("R2Score", real[:, :1], real[:, 0] + real2[:, 0], {}),
            ("MeanSquaredError", real, real2, {}), ("RootMeanSquaredError", real, real2, {}),
            ("MeanAbsoluteError", real, real2, {}), ("MeanAbsolutePercentageError", real, real2, {}),
            ("MeanSquaredLogarithmicError", positive, positive2, {}), ("CosineSimilarity", real, real2, {}),
            ("LogCoshError", real, real2, {}), ("Hinge", binary, real, {}), ("SquaredHinge", real, real2, {}),
            ("CategoricalHinge", onehot, class_logits, {}), ("KLDivergence", onehot, probs, {}),
            ("Poisson", positive, positive2, {}), ("BinaryCrossentropy", binary, unit, {"label_smoothing": 0.1}),
            ("BinaryCrossentropy", binary, logits, {"from_logits": True}),
            ("CategoricalCrossentropy", onehot, probs, {"label_smoothing": 0.2}),
            ("SparseCategoricalCrossentropy", labels, probs, {}),
            ("SparseCategoricalCrossentropy", labels, class_logits, {"from_logits": True, "ignore_class": 0})]:
        _add("metric", cls, y, p, weighted, **kwargs)
    for curve in ("ROC", "PR", "PRGAIN"):
        for summation in ("interpolation", "majoring", "minoring"):
            _add("metric", "AUC", binary, unit, weighted, curve=curve, summation_method=summation)
    for average in (None, "micro", "macro", "weighted"):
        _add("metric", "F1Score", binary, unit, weighted, average=average)
        _add("metric", "FBetaScore", binary, unit, weighted, average=average, beta=2.0, threshold=0.4)


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    return (keras_cases.run(fastfit, fastfit, CASES, ARRAYS),
            keras_cases.keras_results(CASES, ARRAYS, tmp_path_factory.mktemp("keras")))


def _id(i):
    case = CASES[i]
    return f"{case['kind']}-{case['cls']}-{i}"


@pytest.mark.parametrize("i", range(len(CASES)), ids=[_id(i) for i in range(len(CASES))])
def test_matches_keras(results, i):
    ours, keras_ = results
    for key in (f"{i}_value", f"{i}_grad"):
        if key in keras_:
            assert ours[key].shape == keras_[key].shape, key
            # atol: Keras sums weights in float32 (its tn = total - fp leaves ~1e-6 where ours is 0)
            np.testing.assert_allclose(ours[key], keras_[key], rtol=1e-5, atol=1e-5, equal_nan=True, err_msg=key)
