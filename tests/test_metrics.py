"""Metrics against the values Keras documents and its formulas worked by hand: sample weights,
thresholds, top_k, class_id, curves, averages; names, string identifiers and configs."""
import numpy as np
import pytest

import fastfit as keras

M = keras.metrics
rng = np.random.default_rng(0)

# The examples of Keras' docstrings: (metric, y_true, y_pred, expected, sample_weight, weighted expected)
PAIRS = [[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]]
REG = [[0, 1], [0, 0]], [[1, 1], [0, 0]]
CLASSES = [[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]]
CE = [[0, 1, 0], [0, 0, 1]], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]]
CONSTRAINED = [0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8]
ONE_HOT_IOU = [[0, 0, 1], [1, 0, 0], [0, 1, 0], [1, 0, 0]], [[0.2, 0.3, 0.5], [0.1, 0.2, 0.7], [0.5, 0.3, 0.1],
                                                              [0.1, 0.4, 0.5]]
F_SCORE = [[1, 1, 1], [1, 0, 0], [1, 1, 0]], [[0.2, 0.6, 0.7], [0.2, 0.6, 0.6], [0.6, 0.8, 0.0]]
DOCUMENTED = [
    (M.Accuracy, {}, [[1], [2], [3], [4]], [[0], [2], [3], [4]], 0.75, [1, 1, 0, 0], 0.5),
    (M.BinaryAccuracy, {}, [[1], [1], [0], [0]], [[0.98], [1], [0], [0.6]], 0.75, [1, 0, 0, 1], 0.5),
    (M.CategoricalAccuracy, {}, *CLASSES, 0.5, [0.7, 0.3], 0.3),
    (M.SparseCategoricalAccuracy, {}, [[2], [1]], [[0.1, 0.6, 0.3], [0.05, 0.95, 0]], 0.5, [0.7, 0.3], 0.3),
    (M.TopKCategoricalAccuracy, {"k": 1}, *CLASSES, 0.5, [0.7, 0.3], 0.3),
    (M.SparseTopKCategoricalAccuracy, {"k": 1}, [2, 1], CLASSES[1], 0.5, [0.7, 0.3], 0.3),
    (M.SparseTopKCategoricalAccuracy, {"k": 1, "from_sorted_ids": True}, [2, 1], [[1, 0, 3], [1, 2, 3]], 0.5, None,
     None),
    (M.FalsePositives, {}, [0, 1, 0, 0], [0, 0, 1, 1], 2.0, [0, 0, 1, 0], 1.0),
    (M.FalseNegatives, {}, [0, 1, 1, 1], [0, 1, 0, 0], 2.0, [0, 0, 1, 0], 1.0),
    (M.TrueNegatives, {}, [0, 1, 0, 0], [1, 1, 0, 0], 2.0, [0, 0, 1, 0], 1.0),
    (M.TruePositives, {}, [0, 1, 1, 1], [1, 0, 1, 1], 2.0, [0, 0, 1, 0], 1.0),
    (M.Precision, {}, [0, 1, 1, 1], [1, 0, 1, 1], 0.6666667, [0, 0, 1, 0], 1.0),
    (M.Precision, {"top_k": 2}, [0, 0, 1, 1], [1, 1, 1, 1], 0.0, None, None),
    (M.Precision, {"top_k": 4}, [0, 0, 1, 1], [1, 1, 1, 1], 0.5, None, None),
    (M.Recall, {}, [0, 1, 1, 1], [1, 0, 1, 1], 0.6666667, [0, 0, 1, 0], 1.0),
    (M.SensitivityAtSpecificity, {"specificity": 0.5}, *CONSTRAINED, 0.5, [1, 1, 2, 2, 1], 0.333333),
    (M.SpecificityAtSensitivity, {"sensitivity": 0.5}, *CONSTRAINED, 0.66666667, [1, 1, 2, 2, 2], 0.5),
    (M.PrecisionAtRecall, {"recall": 0.5}, *CONSTRAINED, 0.5, [2, 2, 2, 1, 1], 0.33333333),
    (M.RecallAtPrecision, {"precision": 0.8}, [0, 0, 1, 1], [0, 0.5, 0.3, 0.9], 0.5, [1, 0, 0, 1], 1.0),
    (M.AUC, {"num_thresholds": 3}, [0, 0, 1, 1], [0, 0.5, 0.3, 0.9], 0.75, [1, 0, 0, 1], 1.0),
    # Keras' docstrings weigh IoUs with fractions, which its default integer matrix truncates to 0: dtype float32
    (M.IoU, {"num_classes": 2, "target_class_ids": [0], "dtype": "float32"}, [0, 0, 1, 1], [0, 1, 0, 1], 0.33333334,
     [0.3, 0.3, 0.3, 0.1], 0.33333334),
    (M.BinaryIoU, {"target_class_ids": [0, 1], "threshold": 0.3}, [0, 1, 0, 1], [0.1, 0.2, 0.4, 0.7], 0.33333334,
     None, None),
    (M.BinaryIoU, {"target_class_ids": [0, 1], "threshold": 0.3, "dtype": "float32"}, [0, 1, 0, 1],
     [0.1, 0.2, 0.4, 0.7], 0.33333334, [0.2, 0.3, 0.4, 0.1], 0.17361112),
    (M.MeanIoU, {"num_classes": 2}, [0, 0, 1, 1], [0, 1, 0, 1], 0.33333334, None, None),
    (M.MeanIoU, {"num_classes": 2, "dtype": "float32"}, [0, 0, 1, 1], [0, 1, 0, 1], 0.33333334, [0.3, 0.3, 0.3, 0.1],
     0.23809525),
    (M.OneHotIoU, {"num_classes": 3, "target_class_ids": [0, 2], "dtype": "float32"}, *ONE_HOT_IOU, 1 / 6,
     [0.1, 0.2, 0.3, 0.4], 0.07142855),
    (M.OneHotMeanIoU, {"num_classes": 3, "dtype": "float32"}, *ONE_HOT_IOU, 1 / 9, [0.1, 0.2, 0.3, 0.4], 0.047619034),
    (M.F1Score, {"threshold": 0.5}, *F_SCORE, [0.5, 0.8, 0.6666667], None, None),
    (M.FBetaScore, {"beta": 2.0, "threshold": 0.5}, *F_SCORE, [0.3846154, 0.90909094, 0.8333334], None, None),
    (M.MeanSquaredError, {}, *REG, 0.25, None, None),
    (M.MeanAbsoluteError, {}, *REG, 0.25, [1, 0], 0.5),
    (M.MeanAbsolutePercentageError, {}, *REG, 250000000.0, [1, 0], 500000000.0),
    (M.MeanSquaredLogarithmicError, {}, *REG, 0.12011322, [1, 0], 0.24022643),
    (M.RootMeanSquaredError, {}, *REG, 0.5, [1, 0], 0.70710677),
    (M.CosineSimilarity, {"axis": 1}, [[0., 1.], [1., 1.]], [[1., 0.], [1., 1.]], 0.49999997, [0.3, 0.7], 0.6999999),
    (M.LogCoshError, {}, *REG, 0.10844523, [1, 0], 0.21689045),
    (M.R2Score, {}, [[1], [4], [3]], [[2], [4], [4]], 0.57142854, None, None),
    (M.KLDivergence, {}, *PAIRS, 0.45814306, [1, 0], 0.9162892),
    (M.Poisson, {}, *REG, 0.49999997, [1, 0], 0.99999994),
    (M.BinaryCrossentropy, {}, *PAIRS, 0.81492424, [1, 0], 0.9162905),
    (M.CategoricalCrossentropy, {}, *CE, 1.1769392, [0.3, 0.7], 1.6271976),
    (M.SparseCategoricalCrossentropy, {}, [1, 2], CE[1], 1.1769392, [0.3, 0.7], 1.6271976),
    (M.Hinge, {}, *PAIRS, 1.3, [1, 0], 1.1),
    (M.SquaredHinge, {}, *PAIRS, 1.86, [1, 0], 1.46),
    (M.CategoricalHinge, {}, *PAIRS, 1.4000001, [1, 0], 1.2),
]


@pytest.mark.parametrize("cls,kwargs,y_true,y_pred,expected,sample_weight,weighted", DOCUMENTED,
                         ids=[f"{c[0].__name__}-{i}" for i, c in enumerate(DOCUMENTED)])
def test_documented_examples(cls, kwargs, y_true, y_pred, expected, sample_weight, weighted):
    m = cls(**kwargs)
    m.update_state(np.array(y_true), np.array(y_pred, np.float32))
    np.testing.assert_allclose(m.result().numpy(), expected, rtol=1e-5, atol=1e-6)
    if sample_weight is not None:
        m.reset_state()
        m.update_state(np.array(y_true), np.array(y_pred, np.float32), sample_weight=sample_weight)
        np.testing.assert_allclose(m.result().numpy(), weighted, rtol=1e-5, atol=1e-6)


def test_mean_and_sum_with_weights_per_sample_per_element_and_scalar():
    assert float(M.Mean()([1, 3, 5, 7])) == 4.0 and float(M.Mean()([1, 3, 5, 7], sample_weight=[1, 1, 0, 0])) == 2.0
    assert float(M.Sum()([1, 3, 5, 7])) == 16.0 and float(M.Sum()([1, 3, 5, 7], sample_weight=[1, 1, 0, 0])) == 4.0
    v, w = np.array([[1.0, 2.0], [3.0, 5.0]]), np.array([[1.0, 0.0], [1.0, 1.0]])
    # per sample: mean(v * w) over its values, counted with mean(w)
    assert float(M.Mean()(v, sample_weight=w)) == pytest.approx((0.5 + 4.0) / (0.5 + 1.0))
    assert float(M.Mean()(v, sample_weight=[2.0, 0.0])) == pytest.approx(1.5)
    assert float(M.Mean()(v, sample_weight=3.0)) == pytest.approx(v.mean())
    m = M.Mean()
    m.update_state([1.0, 3.0])
    m.update_state([10.0])
    assert float(m.result()) == pytest.approx(14 / 3)
    m.reset_states()
    assert float(m.result()) == 0.0


def test_thresholds_give_one_value_each():
    y, p = [0, 1, 1, 0, 1], [0.2, 0.4, 0.7, 0.8, 0.95]
    np.testing.assert_allclose(M.TruePositives(thresholds=[0.3, 0.75])(y, p).numpy(), [3, 1])
    np.testing.assert_allclose(M.FalsePositives(thresholds=[0.3, 0.75])(y, p).numpy(), [1, 1])
    np.testing.assert_allclose(M.Precision(thresholds=[0.3, 0.75])(y, p).numpy(), [0.75, 0.5])
    np.testing.assert_allclose(M.Recall(thresholds=[0.3, 0.75])(y, p).numpy(), [1.0, 1 / 3])
    assert M.Precision(thresholds=[0.3])(y, p).shape == ()  # a single threshold: a scalar
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        M.Precision(thresholds=[1.5])


def test_top_k_and_class_id():
    y = np.array([[0, 1, 0, 1], [1, 0, 0, 0], [0, 0, 1, 1]], np.float32)
    p = np.array([[0.9, 0.8, 0.1, 0.3], [0.2, 0.5, 0.4, 0.1], [0.3, 0.3, 0.35, 0.0]], np.float32)
    # with top_k (and no thresholds) a row's k highest are its positive predictions
    assert float(M.Precision(top_k=2)(y, p)) == pytest.approx(2 / 6)
    assert float(M.Recall(top_k=2)(y, p)) == pytest.approx(2 / 5)
    assert float(M.Recall(class_id=3)(y, p)) == pytest.approx(0.0)  # column 3: predictions 0.3, 0.1, 0.0
    assert float(M.Precision(class_id=1)(y, p)) == pytest.approx(1.0)  # column 1: 0.8 (true); 0.5 is not > 0.5
    assert float(M.Precision(top_k=1, class_id=0)(y, p)) == pytest.approx(0.0)  # row 1's top is column 0, false
    assert float(M.TopKCategoricalAccuracy(k=1)(np.eye(3)[[2, 0, 1]], [[0.3, 0.3, 0.3]] * 3)) == 1.0  # ties count


def test_auc_curves_and_summations_by_hand():
    y, p = [0, 0, 1, 1], [0, 0.5, 0.3, 0.9]
    # thresholds [-eps, 0.5, 1 + eps]: tp [2, 1, 0], fp [2, 0, 0]: recall [1, .5, 0], precision [.5, 1, 0]
    assert float(M.AUC(num_thresholds=3, curve="PR", summation_method="majoring")(y, p)) == pytest.approx(1.0)
    assert float(M.AUC(num_thresholds=3, curve="PR", summation_method="minoring")(y, p)) == pytest.approx(0.25)
    assert float(M.AUC(num_thresholds=3, summation_method="minoring")(y, p)) == pytest.approx(0.5)
    # PR interpolation (Davis & Goadrich): the segment from (tp 1, p 1) to (tp 2, p 4) has slope 1/3
    expected = (1 / 3) * (1 + (1 - 1 / 3 * 1) * np.log(4 / 1)) / 2 + 1.0 * (1 + 0) / 2
    assert float(M.AUC(num_thresholds=3, curve="PR")(y, p)) == pytest.approx(expected, rel=1e-5)
    assert float(M.AUC(thresholds=[0.5], curve="PR", summation_method="majoring")(y, p)) == pytest.approx(1.0)


def test_auc_multi_label_from_logits_and_label_weights():
    y = rng.integers(0, 2, (30, 3)).astype(np.float32)
    p = rng.uniform(size=(30, 3)).astype(np.float32)
    per_label = [float(M.AUC()(y[:, j], p[:, j])) for j in range(3)]
    assert float(M.AUC(multi_label=True)(y, p)) == pytest.approx(np.mean(per_label), rel=1e-5)
    w = np.array([0.2, 1.0, 0.5])
    assert float(M.AUC(multi_label=True, label_weights=w)(y, p)) == pytest.approx(np.dot(per_label, w) / w.sum(),
                                                                                  rel=1e-5)
    logits = np.log(p / (1 - p))
    assert float(M.AUC(from_logits=True)(y, logits)) == pytest.approx(float(M.AUC()(y, p)), rel=1e-5)
    split = M.AUC(curve="PR")
    split.update_state(y[:10], p[:10])
    split.update_state(y[10:], p[10:])
    assert float(split.result()) == pytest.approx(float(M.AUC(curve="PR")(y, p)), rel=1e-6)
    split.reset_state()
    assert float(split.result()) == 0.0 and len(split._state.acc) == 4 * 200
    with pytest.raises(ValueError, match="num_labels"):
        M.AUC(num_labels=3)
    with pytest.raises(ValueError, match="num_labels=2 but y_pred has 3 labels"):
        M.AUC(multi_label=True, num_labels=2)(y, p)


def test_iou_ignore_class_and_integer_weights():
    y, p = [0, 1, 2, 2, 1], [0, 2, 2, 1, 1]
    # without class 2's true samples: cm rows 0: [1, 0, 0], 1: [0, 1, 1]; IoU 0: 1, 1: 1/2, 2: 0/1
    assert float(M.MeanIoU(3, ignore_class=2)(y, p)) == pytest.approx((1 + 0.5 + 0) / 3, rel=1e-6)
    # Keras keeps the confusion matrix in integers: weight 0.5 counts 0, weight 1.5 counts 1
    assert float(M.MeanIoU(2)([0, 1], [0, 1], sample_weight=[0.5, 1.5])) == pytest.approx(1 / (1 + 1e-7), rel=1e-6)
    with pytest.raises(NotImplementedError, match="axis"):
        M.MeanIoU(2, axis=1)


def test_f_score_averages_by_hand():
    y, p = np.array(F_SCORE[0], np.float32), np.array(F_SCORE[1], np.float32)
    tp, fp, fn = np.array([1, 2, 1.]), np.array([0, 1, 1.]), np.array([2, 0, 0.])  # predictions: p > 0.5
    f = 2 * tp / (2 * tp + fp + fn)
    assert float(M.F1Score(average="macro", threshold=0.5)(y, p)) == pytest.approx(f.mean(), rel=1e-5)
    support = y.sum(0)
    assert float(M.F1Score(average="weighted", threshold=0.5)(y, p)) == pytest.approx((f * support).sum() / support.sum(),
                                                                                       rel=1e-5)
    micro = 2 * tp.sum() / (2 * tp.sum() + fp.sum() + fn.sum())
    assert float(M.F1Score(average="micro", threshold=0.5)(y, p)) == pytest.approx(micro, rel=1e-5)
    # no threshold: each row's maximum is its prediction
    top = (p == p.max(1, keepdims=True)).astype(np.float32)
    tp, fp, fn = (top * y).sum(0), (top * (1 - y)).sum(0), ((1 - top) * y).sum(0)
    np.testing.assert_allclose(M.F1Score()(y, p).numpy(), 2 * tp / np.maximum(2 * tp + fp + fn, 1e-12), atol=1e-5)
    with pytest.raises(ValueError, match="average"):
        M.F1Score(average="samples")


def test_r2_score_aggregations_and_adjusted_by_hand():
    y = rng.normal(size=(12, 2)).astype(np.float32)
    p = (y + rng.normal(size=(12, 2)) * 0.5).astype(np.float32)
    ss_res, ss_tot = ((y - p) ** 2).sum(0), ((y - y.mean(0)) ** 2).sum(0)
    raw = 1 - ss_res / ss_tot
    np.testing.assert_allclose(M.R2Score(class_aggregation=None)(y, p).numpy(), raw, rtol=1e-5)
    weighted = M.R2Score(class_aggregation="variance_weighted_average")(y, p)
    assert float(weighted) == pytest.approx((raw * ss_tot).sum() / ss_tot.sum(), rel=1e-5)
    n = y.size
    assert float(M.R2Score(num_regressors=3)(y, p)) == pytest.approx(1 - (1 - raw.mean()) * (n - 1) / (n - 3 - 1),
                                                                     rel=1e-5)
    with pytest.warns(UserWarning, match="More independent predictors"):
        M.R2Score(num_regressors=30)(y, p)


def test_default_names_follow_keras():
    keras.backend.clear_session()
    assert [M.AUC().name, M.AUC().name, M.MeanIoU(2).name, M.Precision().name] == ["auc", "auc_1", "mean_io_u",
                                                                                 "precision"]
    assert M.F1Score().name == "f1_score" and M.LogCoshError().name == "logcosh"
    assert M.SensitivityAtSpecificity(0.5).name == "sensitivity_at_specificity"


def test_string_and_function_identifiers():
    assert type(M.get("AUC")) is M.AUC and M.get("AUC").name == "AUC"
    assert type(M.get("mse")) is M.MeanSquaredError and M.get("mse").name == "mse"
    assert type(M.get("top_k_categorical_accuracy")) is M.TopKCategoricalAccuracy
    assert type(M.get("kl_divergence")) is M.KLDivergence and type(M.get("r2_score")) is M.R2Score
    assert type(M.get(M.binary_accuracy)) is M.BinaryAccuracy
    for name in ("huber", "kld", "logcosh"):  # loss names beyond Keras 3's metric names: their mean
        assert isinstance(M.get(name), M.MeanMetricWrapper) and M.get(name).name == name
    wrapped = M.get(keras.losses.binary_focal_crossentropy)
    assert isinstance(wrapped, M.MeanMetricWrapper) and wrapped.name == "binary_focal_crossentropy"
    with pytest.raises(ValueError, match="Valid names"):
        M.get("acuracy")


def test_accuracy_string_resolution():
    assert isinstance(M.get("accuracy", (8,), (8, 10)), M.SparseCategoricalAccuracy)
    assert isinstance(M.get("accuracy", (8, 10), (8, 10)), M.CategoricalAccuracy)
    assert isinstance(M.get("accuracy", (8, 1), (8, 1)), M.BinaryAccuracy)
    assert M.get("accuracy", (8,), (8, 10)).name == "accuracy"


def test_mean_metric_wrapper_of_a_function_of_ops():
    m = M.MeanMetricWrapper(lambda y, p, scale: keras.reduce_mean(keras.abs(y - p), axis=-1) * scale, name="scaled",
                            scale=2.0)
    m.update_state([[0.0, 1.0]], [[1.0, 1.0]], sample_weight=[3.0])
    assert float(m.result()) == pytest.approx(1.0)
    assert m.get_config()["scale"] == 2.0
    ignoring = M.SparseCategoricalCrossentropy(ignore_class=0)
    probs = np.array([[0.2, 0.8], [0.7, 0.3], [0.5, 0.5]], np.float32)
    ignoring.update_state([1, 0, 1], probs)  # unweighted: ignored samples count as 0, as in Keras
    assert float(ignoring.result()) == pytest.approx((-np.log(0.8) - np.log(0.5)) / 3, rel=1e-5)
    ignoring.reset_state()
    ignoring.update_state([1, 0, 1], probs, sample_weight=[1.0, 1.0, 1.0])  # weighted: they are masked out
    assert float(ignoring.result()) == pytest.approx((-np.log(0.8) - np.log(0.5)) / 2, rel=1e-5)


CONFIGURED = [M.AUC(num_thresholds=50, curve="PR", multi_label=True, label_weights=[1, 2]),
              M.AUC(thresholds=[0.2, 0.7]), M.Precision(thresholds=[0.2, 0.4], top_k=2, class_id=1),
              M.Recall(), M.TruePositives(thresholds=0.3), M.SensitivityAtSpecificity(0.4, num_thresholds=20),
              M.RecallAtPrecision(0.7, class_id=2), M.MeanIoU(3, ignore_class=1), M.BinaryIoU(threshold=0.2),
              M.OneHotMeanIoU(4), M.IoU(3, [0, 2]), M.F1Score(average="macro", threshold=0.3),
              M.FBetaScore(beta=0.5), M.R2Score(class_aggregation=None, num_regressors=1), M.BinaryAccuracy(threshold=0.3),
              M.SparseTopKCategoricalAccuracy(k=2, from_sorted_ids=True), M.BinaryCrossentropy(label_smoothing=0.1),
              M.CategoricalCrossentropy(from_logits=True, axis=-1), M.SparseCategoricalCrossentropy(ignore_class=0)]


@pytest.mark.parametrize("metric", CONFIGURED, ids=[type(m).__name__ for m in CONFIGURED])
def test_config_round_trip(metric):
    again = type(metric).from_config(metric.get_config())
    assert again.get_config() == metric.get_config() and again._config() == metric._config()
    assert M.deserialize(M.serialize(metric)).get_config() == metric.get_config()
