"""Losses against the formulas and values Keras documents: every loss function's values and gradients
against a NumPy float64 reference (central differences), the documented examples, reductions, sample
weights, label smoothing, logits, ignore_class, names and configs."""
import numpy as np
import pytest

import fastfit as keras
from helpers import check_op

pytestmark = pytest.mark.usefixtures("device")  # each test on each device (conftest.py)

EPS = 1e-7
rng = np.random.default_rng(0)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _softmax(x, axis=-1):
    e = np.exp(x - x.max(axis, keepdims=True))
    return e / e.sum(axis, keepdims=True)


def _bce(y, p):
    p = np.clip(p, EPS, 1 - EPS)
    return -(y * np.log(p) + (1 - y) * np.log(1 - p))


def _bce_logits(y, x):
    return np.maximum(x, 0) - x * y + np.log1p(np.exp(-np.abs(x)))


def _unit(x):
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def _hinge_labels(y):
    return 2 * y - 1 if np.all((y == 0) | (y == 1)) else y


def _cce(y, p):
    q = np.clip(p / p.sum(-1, keepdims=True), EPS, 1 - EPS)
    return -(y * np.log(q)).sum(-1)


def _focal_bce(y, p, gamma, alpha=None):
    pt = y * p + (1 - y) * (1 - p)
    weight = 1.0 if alpha is None else y * alpha + (1 - y) * (1 - alpha)
    return (weight * (1 - pt) ** gamma * _bce(y, p)).mean(-1)


def _focal_cce(y, p, gamma=2.0, alpha=0.25):
    q = np.clip(p / p.sum(-1, keepdims=True), EPS, 1 - EPS)
    return (alpha * (1 - q) ** gamma * -y * np.log(q)).sum(-1)


def _data(kind, shape=(5, 4)):
    if kind == "real":
        return rng.normal(size=shape).astype(np.float32)
    if kind == "positive":
        return rng.uniform(0.2, 2.0, size=shape).astype(np.float32)
    if kind == "binary":
        return rng.integers(0, 2, size=shape).astype(np.float32)
    if kind == "probs":
        return _softmax(rng.normal(size=shape)).astype(np.float32)
    if kind == "onehot":
        return np.eye(shape[-1], dtype=np.float32)[rng.integers(0, shape[-1], shape[:-1])]
    return rng.uniform(0.05, 0.95, size=shape).astype(np.float32)  # "unit": probabilities per element


L = keras.losses
# name: (fastfit function, the documented formula in NumPy, y_true kind, y_pred kind); gradients w.r.t. y_pred
FORMULAS = {
    "mse": (L.mean_squared_error, lambda y, p: ((y - p) ** 2).mean(-1), "real", "real"),
    "mae": (L.mean_absolute_error, lambda y, p: np.abs(y - p).mean(-1), "real", "real"),
    "mape": (L.mean_absolute_percentage_error,
             lambda y, p: 100 * np.abs((y - p) / np.maximum(np.abs(y), EPS)).mean(-1), "real", "real"),
    "msle": (L.mean_squared_logarithmic_error,
             lambda y, p: ((np.log(np.maximum(p, EPS) + 1) - np.log(np.maximum(y, EPS) + 1)) ** 2).mean(-1),
             "positive", "positive"),
    "cosine_similarity": (L.cosine_similarity, lambda y, p: -(_unit(y) * _unit(p)).sum(-1), "real", "real"),
    "huber": (L.huber, lambda y, p: np.where(np.abs(p - y) <= 1, 0.5 * (p - y) ** 2, np.abs(p - y) - 0.5).mean(-1),
              "real", "real"),
    "huber_delta": (lambda y, p: L.huber(y, p, delta=0.3),
                    lambda y, p: np.where(np.abs(p - y) <= 0.3, 0.5 * (p - y) ** 2,
                                          0.3 * np.abs(p - y) - 0.5 * 0.09).mean(-1), "real", "real"),
    "log_cosh": (L.log_cosh, lambda y, p: np.log(np.cosh(p - y)).mean(-1), "real", "real"),
    "kl_divergence": (L.kl_divergence, lambda y, p: (np.clip(y, EPS, 1) * np.log(np.clip(y, EPS, 1) /
                                                                                 np.clip(p, EPS, 1))).sum(-1),
                      "probs", "probs"),
    "poisson": (L.poisson, lambda y, p: (p - y * np.log(p + EPS)).mean(-1), "positive", "positive"),
    "hinge_binary": (L.hinge, lambda y, p: np.maximum(1 - _hinge_labels(y) * p, 0).mean(-1), "binary", "real"),
    "hinge_signed": (L.hinge, lambda y, p: np.maximum(1 - y * p, 0).mean(-1), "real", "real"),
    "squared_hinge": (L.squared_hinge, lambda y, p: (np.maximum(1 - _hinge_labels(y) * p, 0) ** 2).mean(-1),
                      "binary", "real"),
    "categorical_hinge": (L.categorical_hinge,
                          lambda y, p: np.maximum(((1 - y) * p).max(-1) - (y * p).sum(-1) + 1, 0), "onehot", "real"),
    "binary_crossentropy": (L.binary_crossentropy, lambda y, p: _bce(y, p).mean(-1), "binary", "unit"),
    "binary_crossentropy_logits": (lambda y, x: L.binary_crossentropy(y, x, from_logits=True),
                                   lambda y, x: _bce_logits(y, x).mean(-1), "binary", "real"),
    "binary_crossentropy_smoothing": (lambda y, p: L.binary_crossentropy(y, p, label_smoothing=0.2),
                                      lambda y, p: _bce(y * 0.8 + 0.1, p).mean(-1), "binary", "unit"),
    "binary_focal": (L.binary_focal_crossentropy, lambda y, p: _focal_bce(y, p, 2.0), "binary", "unit"),
    "binary_focal_balanced": (lambda y, p: L.binary_focal_crossentropy(y, p, apply_class_balancing=True, alpha=0.3,
                                                                       gamma=1.5),
                              lambda y, p: _focal_bce(y, p, 1.5, 0.3), "binary", "unit"),
    "categorical_crossentropy": (L.categorical_crossentropy, _cce, "onehot", "probs"),
    "categorical_crossentropy_logits": (lambda y, x: L.categorical_crossentropy(y, x, from_logits=True),
                                        lambda y, x: -(y * np.log(_softmax(x))).sum(-1), "onehot", "real"),
    "categorical_crossentropy_smoothing": (lambda y, p: L.categorical_crossentropy(y, p, label_smoothing=0.1),
                                           lambda y, p: _cce(y * 0.9 + 0.1 / y.shape[-1], p), "onehot", "probs"),
    "categorical_focal": (L.categorical_focal_crossentropy, _focal_cce, "onehot", "probs"),
    "categorical_focal_logits": (lambda y, x: L.categorical_focal_crossentropy(y, x, from_logits=True, gamma=1.5),
                                 lambda y, x: _focal_cce(y, _softmax(x), gamma=1.5), "onehot", "real"),
}


@pytest.mark.parametrize("name", sorted(FORMULAS))
def test_loss_function_values_and_gradients_follow_the_formula(name):
    fn, formula, true_kind, pred_kind = FORMULAS[name]
    check_op(fn, formula, [_data(true_kind), _data(pred_kind)], grad_inputs=[1], rtol=1e-4, atol=1e-5)


def test_sparse_categorical_crossentropy_follows_the_formula():
    labels = rng.integers(0, 4, 6).astype(np.int32)
    probs, logits = _data("probs", (6, 4)), _data("real", (6, 4))
    check_op(L.sparse_categorical_crossentropy,  # Keras: log(clip(p)), then the softmax crossentropy of that
             lambda y, p: -np.log(np.clip(p, EPS, 1 - EPS)[np.arange(6), y] / np.clip(p, EPS, 1 - EPS).sum(-1)),
             [labels, probs], grad_inputs=[1])
    check_op(lambda y, x: L.sparse_categorical_crossentropy(y, x, from_logits=True),
             lambda y, x: -np.log(_softmax(x)[np.arange(6), y]), [labels, logits], grad_inputs=[1])


# The examples of Keras' docstrings: (loss, y_true, y_pred, expected, sample_weight, weighted expected)
LOGITS_Y, LOGITS = [[0, 1], [0, 0]], [[-18.6, 0.51], [2.94, -12.8]]
CLASS_Y, CLASS_P = [[0, 1, 0], [0, 0, 1]], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]]
DOCUMENTED = [
    (L.MeanSquaredError(), [1.0, 0.0, 1.0], [0.9, 0.1, 0.8], 0.02, None, None),
    (L.MeanAbsoluteError(), [1.0, 0.3, 1.0], [1.9, 0.3, 1.8], 0.5666667, None, None),
    (L.MeanAbsolutePercentageError(), [100.0, 200.0, 300.0], [90.0, 210.0, 310.0], 6.111111, None, None),
    (L.BinaryCrossentropy(from_logits=True), [0, 1, 0, 0], [-18.6, 0.51, 2.94, -12.8], 0.8654, None, None),
    (L.BinaryCrossentropy(from_logits=True), LOGITS_Y, LOGITS, 0.8654, [0.8, 0.2], 0.243),
    (L.BinaryCrossentropy(from_logits=True, reduction="sum"), LOGITS_Y, LOGITS, 1.730, None, None),
    (L.BinaryCrossentropy(from_logits=True, reduction=None), LOGITS_Y, LOGITS, [0.235, 1.496], None, None),
    (L.BinaryFocalCrossentropy(gamma=2, from_logits=True), [0, 1, 0, 0], [-18.6, 0.51, 2.94, -12.8], 0.691, None,
     None),
    (L.BinaryFocalCrossentropy(apply_class_balancing=True, gamma=2, from_logits=True), [0, 1, 0, 0],
     [-18.6, 0.51, 2.94, -12.8], 0.51, None, None),
    (L.BinaryFocalCrossentropy(gamma=3, from_logits=True), LOGITS_Y, LOGITS, 0.647, [0.8, 0.2], 0.133),
    (L.BinaryFocalCrossentropy(apply_class_balancing=True, gamma=3, from_logits=True), LOGITS_Y, LOGITS, 0.482,
     [0.8, 0.2], 0.097),
    (L.BinaryFocalCrossentropy(gamma=4, from_logits=True, reduction="sum"), LOGITS_Y, LOGITS, 1.222, None, None),
    (L.BinaryFocalCrossentropy(gamma=5, from_logits=True, reduction=None), LOGITS_Y, LOGITS, [0.0017, 1.1561], None,
     None),
    (L.BinaryFocalCrossentropy(apply_class_balancing=True, gamma=5, from_logits=True, reduction=None), LOGITS_Y,
     LOGITS, [0.0004, 0.8670], None, None),
    (L.CategoricalCrossentropy(), CLASS_Y, CLASS_P, 1.177, [0.3, 0.7], 0.814),
    (L.CategoricalCrossentropy(reduction="sum"), CLASS_Y, CLASS_P, 2.354, None, None),
    (L.CategoricalCrossentropy(reduction="none"), CLASS_Y, CLASS_P, [0.0513, 2.303], None, None),
    (L.CategoricalFocalCrossentropy(), CLASS_Y, CLASS_P, 0.23315276, [0.3, 0.7], 0.1632),
    (L.CategoricalFocalCrossentropy(reduction="sum"), CLASS_Y, CLASS_P, 0.46631, None, None),
    (L.CategoricalFocalCrossentropy(reduction=None), CLASS_Y, CLASS_P, [3.2058331e-05, 4.6627346e-01], None, None),
    (L.SparseCategoricalCrossentropy(), [1, 2], CLASS_P, 1.177, [0.3, 0.7], 0.814),
    (L.SparseCategoricalCrossentropy(reduction="sum"), [1, 2], CLASS_P, 2.354, None, None),
    (L.SparseCategoricalCrossentropy(reduction="none"), [1, 2], CLASS_P, [0.0513, 2.303], None, None),
]


@pytest.mark.parametrize("loss,y_true,y_pred,expected,sample_weight,weighted", DOCUMENTED)
def test_documented_examples(loss, y_true, y_pred, expected, sample_weight, weighted):
    y_true = np.array(y_true, np.int32 if loss.sparse_labels else np.float32)
    np.testing.assert_allclose(loss(y_true, np.array(y_pred, np.float32)).numpy(), expected, rtol=2e-3, atol=2e-4)
    if sample_weight is not None:
        got = loss(y_true, np.array(y_pred, np.float32), sample_weight=sample_weight).numpy()
        np.testing.assert_allclose(got, weighted, rtol=2e-3, atol=2e-4)


@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "mean", "sum", "none", None, "mean_with_sample_weight"])
def test_reductions_with_sample_weights(reduction):
    y, p, w = _data("real", (6, 3)), _data("real", (6, 3)), rng.uniform(0, 2, 6).astype(np.float32)
    values = ((y - p) ** 2).mean(-1) * w
    expected = {"sum": values.sum(), "none": values, None: values, "mean_with_sample_weight": values.sum() / w.sum()}
    got = L.MeanSquaredError(reduction=reduction)(y, p, sample_weight=w).numpy()
    np.testing.assert_allclose(got, expected.get(reduction, values.mean()), rtol=1e-5)


def test_sample_weight_shapes_follow_keras():
    y, p = _data("real", (4, 3)), _data("real", (4, 3))
    per_sample = ((y - p) ** 2).mean(-1)
    loss = L.MeanSquaredError()
    w = np.array([1.0, 0.0, 2.0, 0.5], np.float32)
    for weights in (w, w[:, None], list(w)):  # (n,) and (n, 1) mean the same
        np.testing.assert_allclose(loss(y, p, sample_weight=weights).numpy(), (per_sample * w).mean(), rtol=1e-6)
    np.testing.assert_allclose(loss(y, p, sample_weight=2.0).numpy(), 2 * per_sample.mean(), rtol=1e-6)
    elementwise = L.MeanAbsoluteError(reduction="none")
    np.testing.assert_allclose(elementwise(y[:, :, None], p[:, :, None], sample_weight=w).numpy(),
                               np.abs(y - p) * w[:, None], rtol=1e-6)


def test_mean_with_sample_weight_of_zero_weights_is_zero():
    loss = L.MeanSquaredError(reduction="mean_with_sample_weight")
    assert float(loss([[1.0], [2.0]], [[0.0], [0.0]], sample_weight=[0.0, 0.0])) == 0.0


def test_ignore_class_drops_samples_from_the_loss_and_the_mean():
    labels = np.array([1, 2, 0, 2], np.int32)
    probs = _data("probs", (4, 3))
    full = -np.log(np.clip(probs, EPS, 1 - EPS)[np.arange(4), labels] / np.clip(probs, EPS, 1 - EPS).sum(-1))
    kept = labels != 2
    values = L.SparseCategoricalCrossentropy(ignore_class=2, reduction="none")(labels, probs).numpy()
    np.testing.assert_allclose(values, np.where(kept, full, 0), rtol=1e-5)
    mean = L.SparseCategoricalCrossentropy(ignore_class=2)(labels, probs).numpy()
    np.testing.assert_allclose(mean, full[kept].mean(), rtol=1e-5)  # over the kept samples
    w = np.array([0.5, 1.0, 2.0, 3.0], np.float32)
    weighted = L.SparseCategoricalCrossentropy(ignore_class=2)(labels, probs, sample_weight=w).numpy()
    np.testing.assert_allclose(weighted, (full * w)[kept].sum() / kept.sum(), rtol=1e-5)
    summed = L.SparseCategoricalCrossentropy(ignore_class=2, reduction="sum")(labels, probs).numpy()
    np.testing.assert_allclose(summed, full[kept].sum(), rtol=1e-5)
    x = keras.constant(probs)
    with keras.GradientTape() as tape:
        tape.watch(x)
        total = L.SparseCategoricalCrossentropy(ignore_class=2, reduction="sum")(labels, x)
    grad = tape.gradient(total, x).numpy()
    assert np.all(grad[~kept] == 0) and np.all(np.abs(grad[kept]).sum(-1) > 0)
    assert float(L.SparseCategoricalCrossentropy(ignore_class=2)([2, 2], probs[:2])) == 0.0  # nothing kept


def test_outputs_of_sigmoid_and_softmax_are_read_as_logits():
    logits = _data("real", (5, 3)) * 10  # saturating: probabilities alone would clip
    y = _data("binary", (5, 3))
    via_activation = L.binary_crossentropy(y, keras.activations.sigmoid(keras.constant(logits))).numpy()
    np.testing.assert_allclose(via_activation, _bce_logits(y, logits).mean(-1), rtol=1e-5)
    onehot = _data("onehot", (5, 3))
    softmax = keras.activations.softmax(keras.constant(logits))
    np.testing.assert_allclose(L.categorical_crossentropy(onehot, softmax).numpy(),
                               -(onehot * np.log(_softmax(logits))).sum(-1), rtol=1e-5)
    with pytest.warns(UserWarning, match="from_logits=True"):
        L.binary_crossentropy(y, keras.activations.sigmoid(keras.constant(logits)), from_logits=True)


def test_categorical_crossentropy_along_another_axis():
    y = np.moveaxis(_data("onehot", (3, 2, 4)), -1, 1).copy()
    p = np.moveaxis(_data("probs", (3, 2, 4)), -1, 1).copy()
    np.testing.assert_allclose(L.CategoricalCrossentropy(axis=1, reduction="none")(y, p).numpy(),
                               _cce(np.moveaxis(y, 1, -1), np.moveaxis(p, 1, -1)), rtol=1e-5)
    with pytest.raises(ValueError, match="Only axis=-1"):
        L.SparseCategoricalCrossentropy(axis=0)([1, 2], CLASS_P)


def test_loss_names_aliases_and_configs():
    assert isinstance(L.get("mse"), L.MeanSquaredError) and L.get("mse").name == "mse"
    expected = {"mae": L.MeanAbsoluteError, "mape": L.MeanAbsolutePercentageError,
                "msle": L.MeanSquaredLogarithmicError, "kld": L.KLDivergence, "huber": L.Huber, "logcosh": L.LogCosh,
                "log_cosh": L.LogCosh, "bce": L.BinaryCrossentropy, "binary_crossentropy": L.BinaryCrossentropy,
                "BinaryFocalCrossentropy": L.BinaryFocalCrossentropy, "poisson": L.Poisson, "hinge": L.Hinge,
                "squared_hinge": L.SquaredHinge, "categorical_hinge": L.CategoricalHinge,
                "cosine_similarity": L.CosineSimilarity, "kullback_leibler_divergence": L.KLDivergence,
                "categorical_focal_crossentropy": L.CategoricalFocalCrossentropy}
    for name, cls in expected.items():
        assert type(L.get(name)) is cls, name
    assert type(L.get(L.sparse_categorical_crossentropy)) is L.SparseCategoricalCrossentropy
    assert L.get(L.Huber) is not None and L.get(None) is None
    custom = L.get(lambda y, p: keras.reduce_mean(keras.square(y - p), axis=-1))
    assert isinstance(custom, L.LossFunctionWrapper)
    bce = L.BinaryCrossentropy(from_logits=True, label_smoothing=0.1)
    assert bce.get_config() == {"name": "binary_crossentropy", "reduction": "sum_over_batch_size", "from_logits": True,
                                "label_smoothing": 0.1, "axis": -1}
    # Keras' config leaves delta out (it would reload another loss); fastfit adds an argument off its default
    assert L.Huber().get_config() == {"name": "huber_loss", "reduction": "sum_over_batch_size"}
    assert L.Huber(delta=2.0).get_config() == {"name": "huber_loss", "reduction": "sum_over_batch_size", "delta": 2.0}
    again = L.get({"class_name": "BinaryCrossentropy", "config": bce.get_config()})
    assert again.get_config() == bce.get_config()
    assert L.SparseCategoricalCrossentropy(ignore_class=3).get_config()["ignore_class"] == 3
    with pytest.raises(ValueError, match="reduction"):
        L.MeanSquaredError(reduction="avg")
    with pytest.raises(ValueError, match="Valid names"):
        L.get("hinge_but_wrong")
    with pytest.raises(NotImplementedError, match="dtype"):
        L.MeanSquaredError(dtype="float16")
