"""Losses and metrics in fit and evaluate: traced into the compiled C++ programs (the loss and the
metrics' per-sample values as ops, the metrics as C++ accumulators), giving the history that
run_eagerly=True gives."""
import numpy as np
import pytest

import fastfit as keras
from fastfit import layers
from fastfit.models.tracing import CompiledRunner
from helpers import runner_of

M, L = keras.metrics, keras.losses
rng = np.random.default_rng(0)
X = rng.normal(size=(240, 6)).astype(np.float32)
W = rng.uniform(0.2, 2.0, 240).astype(np.float32)
BINARY = (X[:, :3].sum(1, keepdims=True) > 0).astype(np.float32)
CLASSES = np.abs(X[:, :4]).argmax(1)
REGRESSION = np.stack([X[:, 0] - X[:, 1], X[:, 2] * 0.5], 1).astype(np.float32)


def _binary():
    return ("sigmoid", 1, BINARY, L.BinaryFocalCrossentropy(gamma=1.5, label_smoothing=0.05),
            ["accuracy", M.AUC(), M.AUC(curve="PR", name="pr_auc"), M.Precision(), M.Recall(thresholds=[0.3, 0.7]),
             M.TruePositives(), M.F1Score(threshold=0.5), M.BinaryIoU(), "mse", M.BinaryCrossentropy(),
             M.SensitivityAtSpecificity(0.5), "kld"],
            [M.AUC(name="weighted_auc"), "mae"])


def _categorical():
    return ("softmax", 4, np.eye(4, dtype=np.float32)[CLASSES], L.CategoricalCrossentropy(label_smoothing=0.1),
            ["accuracy", M.TopKCategoricalAccuracy(k=2), M.Precision(top_k=2), M.AUC(multi_label=True),
             M.F1Score(average="macro"), M.OneHotMeanIoU(4), M.KLDivergence(),
             M.MeanMetricWrapper(L.categorical_focal_crossentropy, name="focal", gamma=1.0)],
            [M.CategoricalAccuracy(name="weighted_accuracy"), M.CategoricalHinge()])


def _sparse():
    return (None, 4, CLASSES, L.SparseCategoricalCrossentropy(from_logits=True),
            ["accuracy", M.SparseTopKCategoricalAccuracy(k=3), M.SparseCategoricalCrossentropy(from_logits=True)],
            [M.SparseCategoricalAccuracy(name="weighted_accuracy")])


def _regression():
    return (None, 2, REGRESSION, L.Huber(delta=0.5),
            [M.RootMeanSquaredError(), M.MeanAbsoluteError(), M.R2Score(), M.CosineSimilarity(), M.LogCoshError(),
             "mape", M.MeanMetricWrapper(lambda y, p: keras.reduce_mean(keras.square(y - p) * 2.0, axis=-1),
                                         name="twice_mse")],
            [M.R2Score(class_aggregation="variance_weighted_average", name="weighted_r2"), "msle"])


def _hinge():
    return ("tanh", 1, BINARY, L.SquaredHinge(), [M.Hinge(), M.BinaryAccuracy(threshold=0.0)], [])


def _fit(config, run_eagerly):
    keras.backend.clear_session()  # metric names start over: "auc", not "auc_1"
    activation, units, y, loss, metrics, weighted = config()
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((6,)), layers.Dense(8, activation="relu"),
                              layers.Dense(units, activation=activation)])
    model.compile(optimizer="adam", loss=loss, metrics=metrics, weighted_metrics=weighted, run_eagerly=run_eagerly)
    history = model.fit(X, y, sample_weight=W, batch_size=32, epochs=2, validation_split=0.25, verbose=0).history
    return model, history, model.evaluate(X, y, sample_weight=W, batch_size=64, verbose=0, return_dict=True)


@pytest.mark.parametrize("config", [_binary, _categorical, _sparse, _regression, _hinge],
                         ids=["binary", "categorical", "sparse", "regression", "hinge"])
def test_compiled_fit_and_evaluate_match_eager(config):
    model, history, evaluated = _fit(config, run_eagerly=False)
    assert isinstance(runner_of(model, "train"), CompiledRunner)
    assert isinstance(runner_of(model, "test"), CompiledRunner)
    _, eager_history, eager_evaluated = _fit(config, run_eagerly=True)
    assert list(history) == list(eager_history)
    for key in history:
        np.testing.assert_allclose(np.array(history[key], np.float64), np.array(eager_history[key], np.float64),
                                   rtol=1e-5, atol=1e-6, err_msg=key)
    for key in evaluated:
        np.testing.assert_allclose(evaluated[key], eager_evaluated[key], rtol=1e-5, atol=1e-6, err_msg=key)


def test_history_keys_and_metric_of_several_values(capsys):
    model, history, _ = _fit(_binary, run_eagerly=False)
    assert {"auc", "pr_auc", "precision", "recall", "weighted_auc", "mae", "val_auc", "kld"} <= set(history)
    assert np.shape(history["recall"]) == (2, 2)  # one value per threshold, per epoch
    model.fit(X, BINARY, batch_size=64, epochs=1, verbose=1)  # the progress bar shows their mean
    assert "recall: " in capsys.readouterr().out


def test_metrics_keep_batches_split_across_threads():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((6,)), layers.Dense(8, activation="relu"), layers.Dense(4)])
    model.compile("rmsprop", L.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy", M.SparseCategoricalCrossentropy(from_logits=True), M.SparseTopKCategoricalAccuracy(2)])
    model.fit(X, CLASSES, batch_size=64, epochs=1, verbose=0)
    program = runner_of(model, "train").program
    assert program.splits("train") and program.splits("test")  # per-sample metric values are rows


def test_metrics_given_as_classes_strings_and_functions_are_named_as_keras_names_them():
    keras.backend.clear_session()
    model = keras.Sequential([keras.Input((6,)), layers.Dense(1, activation="sigmoid")])
    model.compile("adam", "bce", metrics=[M.AUC, "AUC", M.binary_accuracy, L.kl_divergence, "huber"])
    history = model.fit(X, BINARY, batch_size=64, epochs=1, verbose=0).history
    assert list(history) == ["AUC", "auc", "binary_accuracy", "huber", "kl_divergence", "loss"]
    assert isinstance(runner_of(model, "train"), CompiledRunner)
