"""Losses and metrics against the values Keras documents."""
import numpy as np
import pytest

import fastfit as keras


def test_sparse_categorical_crossentropy_documented_value():
    loss = keras.losses.SparseCategoricalCrossentropy()([1, 2], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]])
    assert float(loss) == pytest.approx(1.177, abs=1e-3)


def test_categorical_crossentropy_documented_value():
    loss = keras.losses.CategoricalCrossentropy()([[0, 1, 0], [0, 0, 1]], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]])
    assert float(loss) == pytest.approx(1.177, abs=1e-3)


def test_mean_squared_error_documented_value():
    assert float(keras.losses.MeanSquaredError()([[0., 1.], [0., 0.]], [[1., 1.], [1., 0.]])) == pytest.approx(0.5)


@pytest.mark.parametrize("reduction,expected", [("sum_over_batch_size", 1.177), ("sum", 2.354)])
def test_reductions(reduction, expected):
    loss = keras.losses.SparseCategoricalCrossentropy(reduction=reduction)([1, 2], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]])
    assert float(loss) == pytest.approx(expected, abs=2e-3)


def test_reduction_none_gives_per_sample_values():
    values = keras.losses.SparseCategoricalCrossentropy(reduction="none")([1, 2], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]])
    np.testing.assert_allclose(values.numpy(), [0.0513, 2.3026], atol=1e-3)


def test_from_logits_matches_softmax_of_logits():
    logits = np.array([[2.0, 1.0, 0.1], [0.5, 2.5, 0.3]], np.float32)
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    a = keras.losses.SparseCategoricalCrossentropy(from_logits=True)([0, 1], logits)
    b = keras.losses.SparseCategoricalCrossentropy()([0, 1], p)
    assert float(a) == pytest.approx(float(b), rel=1e-5)


def test_invalid_reduction_and_unknown_loss():
    with pytest.raises(ValueError, match="reduction"):
        keras.losses.MeanSquaredError(reduction="avg")
    with pytest.raises(ValueError, match="Valid names"):
        keras.losses.get("hinge_but_wrong")


@pytest.mark.parametrize("metric,y_true,y_pred,expected", [
    (keras.metrics.SparseCategoricalAccuracy(), [[2], [1]], [[0.1, 0.6, 0.3], [0.05, 0.95, 0]], 0.5),
    (keras.metrics.CategoricalAccuracy(), [[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]], 0.5),
    (keras.metrics.Accuracy(), [[1], [2], [3], [4]], [[0], [2], [3], [4]], 0.75),
    (keras.metrics.BinaryAccuracy(), [[1], [1], [0], [0]], [[0.98], [1], [0], [0.6]], 0.75),
])
def test_accuracy_metrics_documented_values(metric, y_true, y_pred, expected):
    metric.update_state(np.array(y_true, np.float32), np.array(y_pred, np.float32))
    assert float(metric.result()) == pytest.approx(expected)
    metric.reset_state()
    assert float(metric.result()) == 0.0


def test_mean_accumulates_and_resets_with_both_spellings():
    m = keras.metrics.Mean()
    m.update_state([1, 3, 5, 7])
    assert float(m.result()) == pytest.approx(4.0)
    m.update_state([10.0])
    assert float(m.result()) == pytest.approx(26 / 5)
    m.reset_states()
    assert float(m.result()) == 0.0


def test_metric_accumulates_across_batches():
    m = keras.metrics.SparseCategoricalAccuracy()
    m.update_state([0, 1], [[0.9, 0.1], [0.8, 0.2]])
    m.update_state([1], [[0.3, 0.7]])
    assert float(m.result()) == pytest.approx(2 / 3)


def test_accuracy_string_resolution():
    assert isinstance(keras.metrics.get("accuracy", (8,), (8, 10)), keras.metrics.SparseCategoricalAccuracy)
    assert isinstance(keras.metrics.get("accuracy", (8, 10), (8, 10)), keras.metrics.CategoricalAccuracy)
    assert isinstance(keras.metrics.get("accuracy", (8, 1), (8, 1)), keras.metrics.BinaryAccuracy)
    assert keras.metrics.get("accuracy", (8,), (8, 10)).name == "accuracy"
    with pytest.raises(ValueError, match="Valid names"):
        keras.metrics.get("acuracy")
