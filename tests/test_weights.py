"""Sample and class weights on the C++ hot path, with Keras 3's formulas: the loss is
sum(w * loss) / batch size; a weighted metric is sum(w * value) / sum(w)."""
import numpy as np
import pytest

import fastfit as keras
from fastfit.models.tracing import CompiledRunner
from helpers import runner_of
from conftest import guide_model


def compiled(**kw):
    model = guide_model()
    model.compile(keras.optimizers.RMSprop(1e-3), "sparse_categorical_crossentropy", **kw)
    return model


def per_sample_loss(model, x, y):
    p = model.predict(x, verbose=0).astype(np.float64)
    return -np.log(np.clip(p[np.arange(len(y)), y], 1e-7, 1 - 1e-7))


def keras_weighted_loss(losses, w, batch_size):
    """Keras' evaluate: per batch sum(w * l) / batch size, averaged over batches by their sizes."""
    total = sum(np.sum(w[i:i + batch_size] * losses[i:i + batch_size]) for i in range(0, len(w), batch_size))
    return total / len(w)


def test_evaluate_with_sample_weights_matches_the_formula(small_data):
    x, y = small_data
    model = compiled(metrics=["accuracy"], weighted_metrics=["accuracy"])
    w = np.random.default_rng(0).uniform(0, 2, size=len(y)).astype("float32")
    res = model.evaluate(x, y, sample_weight=w, batch_size=64, verbose=0, return_dict=True)
    assert list(res) == ["accuracy", "loss", "weighted_accuracy"]
    losses = per_sample_loss(model, x, y)
    assert res["loss"] == pytest.approx(keras_weighted_loss(losses, w, 64), rel=1e-5)
    hit = model.predict(x, verbose=0).argmax(1) == y
    assert res["accuracy"] == pytest.approx(hit.mean(), rel=1e-6)
    assert res["weighted_accuracy"] == pytest.approx(np.sum(w * hit) / np.sum(w), rel=1e-5)
    assert isinstance(runner_of(model, "test"), CompiledRunner)
    # as a list: the loss, then the metrics in compile order
    assert model.evaluate(x, y, sample_weight=w, batch_size=64, verbose=0) == pytest.approx(
        [res["loss"], res["accuracy"], res["weighted_accuracy"]])


def test_a_zero_weight_masks_a_sample_out(small_data):
    x, y = small_data
    w = np.ones(len(y), "float32")
    w[::3] = 0
    corrupted = y.copy()
    corrupted[::3] = (corrupted[::3] + 1) % 10  # only the masked samples change
    a, b = compiled(), compiled()
    ha = a.fit(x, y, sample_weight=w, batch_size=32, epochs=2, shuffle=False, verbose=0).history
    hb = b.fit(x, corrupted, sample_weight=w, batch_size=32, epochs=2, shuffle=False, verbose=0).history
    assert ha == hb
    for p, q in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(p, q)


def test_class_weight_raises_its_classes_share_of_the_loss(fashion):
    """The guide's example: class 5 weighted 2.0."""
    (x_train, y_train), _, _ = fashion
    x, y = x_train[:2048], y_train[:2048]
    class_weight = {i: 1.0 for i in range(10)}
    class_weight[5] = 2.0
    model = compiled()
    plain = model.test_on_batch(x, y)
    weighted_loss = model.evaluate(x, y, sample_weight=np.where(y == 5, 2.0, 1.0), batch_size=2048, verbose=0)
    losses = per_sample_loss(model, x, y)
    assert plain == pytest.approx(losses.mean(), rel=1e-5)
    assert weighted_loss == pytest.approx(np.mean(np.where(y == 5, 2.0, 1.0) * losses), rel=1e-5)
    assert model.train_on_batch(x, y, class_weight=class_weight) == pytest.approx(weighted_loss, rel=1e-5)
    # trained with the weights, class 5 is learned at least as well as without them
    keras.utils.set_random_seed(0)
    with_cw, without = compiled(), compiled()
    with_cw.fit(x, y, class_weight=class_weight, batch_size=64, epochs=3, shuffle=False, verbose=0)
    without.fit(x, y, batch_size=64, epochs=3, shuffle=False, verbose=0)
    fives = y == 5
    share = lambda m: per_sample_loss(m, x, y)[fives].sum() / per_sample_loss(m, x, y).sum()
    assert share(with_cw) < share(without)


def test_class_weight_for_one_hot_targets_and_fit_equals_sample_weights(small_data):
    x, y = small_data
    onehot = np.eye(10, dtype="float32")[y]
    cw = {3: 3.0, 7: 0.5}
    w = np.array([cw.get(int(c), 1.0) for c in y], "float32")
    a, b = guide_model(), guide_model()
    for m in (a, b):
        m.compile("sgd", "categorical_crossentropy", weighted_metrics=["accuracy"])
    ha = a.fit(x, onehot, class_weight=cw, batch_size=40, epochs=2, shuffle=False, verbose=0).history
    hb = b.fit(x, onehot, sample_weight=w, batch_size=40, epochs=2, shuffle=False, verbose=0).history
    assert ha == hb


def test_weights_from_a_generator_and_in_validation_data(small_data):
    x, y = small_data
    w = np.random.default_rng(1).uniform(0.5, 1.5, len(y)).astype("float32")

    def gen():
        while True:
            for i in range(0, len(x), 50):
                yield x[i:i + 50], y[i:i + 50], w[i:i + 50]

    a, b = compiled(), compiled()
    ha = a.fit(gen(), steps_per_epoch=4, epochs=2, verbose=0, validation_data=(x, y, w),
               validation_batch_size=50).history
    hb = b.fit(x, y, sample_weight=w, batch_size=50, epochs=2, shuffle=False, verbose=0,
               validation_data=(x, y, w)).history
    assert ha == hb
    assert hb["val_loss"][-1] == pytest.approx(b.evaluate(x, y, sample_weight=w, verbose=0), rel=1e-6)


def test_validation_split_splits_the_weights_too(small_data):
    x, y = small_data
    w = np.where(np.arange(len(y)) >= 150, 0.0, 1.0).astype("float32")  # the validation quarter weighs 0
    h = compiled().fit(x, y, sample_weight=w, validation_split=0.25, epochs=1, verbose=0).history
    assert h["val_loss"] == [0.0]


def test_weight_errors(small_data):
    x, y = small_data
    with pytest.raises(ValueError, match=r"one weight per sample: expected shape \(200,\), got \(199,\)"):
        compiled().fit(x, y, sample_weight=np.ones(199), verbose=0)
    with pytest.raises(ValueError, match=r"`class_weight` names classes \[12\], but the model has 10 classes"):
        compiled().fit(x, y, class_weight={0: 1.0, 12: 2.0}, verbose=0)
    with pytest.raises(ValueError, match="cannot pass `class_weight` and `sample_weight`"):
        compiled().fit(x, y, class_weight={0: 1.0}, sample_weight=np.ones(200), verbose=0)
    with pytest.raises(TypeError, match="class_weight"):
        compiled().fit(x, y, class_weight=[1.0, 2.0], verbose=0)
    with pytest.raises(ValueError, match="sample_weight"):
        compiled().fit(iter([(x, y)]), sample_weight=np.ones(200), verbose=0)


def test_metric_objects_take_sample_weights():
    m = keras.metrics.SparseCategoricalAccuracy()
    m.update_state([1, 0, 1], [[0.1, 0.9], [0.2, 0.8], [0.7, 0.3]], sample_weight=[1.0, 2.0, 3.0])
    assert float(m.result()) == pytest.approx(1 / 6)
    mean = keras.metrics.Mean()
    mean.update_state([1.0, 3.0], sample_weight=[[3.0], [1.0]])
    assert float(mean.result()) == pytest.approx(1.5)
    loss = keras.losses.SparseCategoricalCrossentropy()
    y, p = [1, 0], [[0.1, 0.9], [0.2, 0.8]]
    per = -np.log([0.9, 0.2])
    assert float(loss(y, p, sample_weight=[[2.0], [0.0]])) == pytest.approx(2 * per[0] / 2, rel=1e-5)
