"""Every argument fastfit accepts takes effect or raises NotImplementedError naming it."""
import numpy as np
import pytest

import fastfit as keras
from conftest import guide_model


def compiled(**kw):
    model = guide_model()
    model.compile(keras.optimizers.RMSprop(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"], **kw)
    return model


def test_run_eagerly_gives_the_compiled_history(small_data):
    x, y = small_data
    fast = compiled().fit(x, y, batch_size=32, epochs=3, validation_split=0.2, verbose=0).history
    slow_model = compiled(run_eagerly=True)
    slow = slow_model.fit(x, y, batch_size=32, epochs=3, validation_split=0.2, verbose=0).history
    assert list(fast) == list(slow)
    for k in fast:
        np.testing.assert_allclose(fast[k], slow[k], rtol=1e-5, err_msg=k)
    assert not slow_model._programs  # nothing was compiled


def test_loss_weights_scale_the_loss(small_data):
    x, y = small_data
    plain = compiled().evaluate(x, y, verbose=0)[0]
    for weights in (0.5, [0.5], {"predictions": 0.5}):
        assert compiled(loss_weights=weights).evaluate(x, y, verbose=0)[0] == pytest.approx(0.5 * plain, rel=1e-6)
    with pytest.raises(ValueError, match=r"\['nope'\] do not correspond to any model output"):
        compiled(loss_weights={"nope": 1.0})
    with pytest.raises(ValueError, match="`loss_weights` has 2 entries for the model's 1 outputs"):
        compiled(loss_weights=[0.5, 0.5])


def test_steps_per_execution_groups_batches_for_hooks(small_data):
    x, y = small_data
    seen = []

    class Batches(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(batch)

    model = compiled(steps_per_execution=3)
    model.fit(x, y, batch_size=20, epochs=1, verbose=0, callbacks=[Batches()])  # 10 batches
    assert seen == [2, 5, 8, 9]
    with pytest.raises(ValueError, match="steps_per_execution"):
        compiled(steps_per_execution=0)


def test_compile_argument_errors():
    with pytest.raises(TypeError, match="weighted_metrics"):
        compiled(weighted_metrics="accuracy")
    with pytest.raises(ValueError, match="jit_compile"):
        compiled(jit_compile="xla")
    with pytest.raises(TypeError, match="run_eagerly"):
        compiled(run_eagerly="yes")
    for value in (True, False, "auto"):
        compiled(jit_compile=value)


def test_validation_steps_evaluate_steps_and_predict_steps(small_data):
    x, y = small_data
    model = compiled()
    h = model.fit(x, y, batch_size=50, epochs=1, validation_data=(x, y), validation_steps=2, verbose=0).history
    assert h["val_loss"][0] == pytest.approx(model.evaluate(x[:100], y[:100], batch_size=50, verbose=0)[0], rel=1e-6)
    assert model.predict(x, batch_size=30, steps=3, verbose=0).shape == (90, 10)


@pytest.mark.parametrize("call", ["fit", "evaluate", "predict", "train_on_batch"])
def test_zero_samples_say_so(call):
    model = compiled()
    x, y = np.zeros((0, 784), "float32"), np.zeros((0,), "int32")
    with pytest.raises(ValueError, match="0 samples"):
        if call == "predict":
            model.predict(x, verbose=0)
        else:
            getattr(model, call)(x, y, **({"verbose": 0} if call != "train_on_batch" else {}))


@pytest.mark.parametrize("kw,match", [({"epochs": -1}, "epochs"), ({"epochs": 1.5}, "epochs"),
                                       ({"initial_epoch": -1}, "initial_epoch"),
                                       ({"validation_freq": 0}, "validation_freq"),
                                       ({"steps_per_epoch": 0}, "steps_per_epoch"),
                                       ({"validation_steps": -2}, "validation_steps")])
def test_bad_counts(small_data, kw, match):
    x, y = small_data
    with pytest.raises(ValueError, match=match):
        compiled().fit(x, y, verbose=0, **kw)


def test_shuffle_values(small_data):
    x, y = small_data
    with pytest.raises(NotImplementedError, match="shuffle='batch'"):
        compiled().fit(x, y, shuffle="batch", verbose=0)
    with pytest.raises(TypeError, match="shuffle"):
        compiled().fit(x, y, shuffle=1, verbose=0)


def test_zero_epochs_train_nothing(small_data):
    x, y = small_data
    model = compiled()
    before = model.get_weights()
    assert model.fit(x, y, epochs=0, verbose=0).history == {}
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_steps_per_epoch_with_arrays(small_data):
    x, y = small_data
    model = compiled()
    seen = []

    class Count(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(batch)

    model.fit(x, y, batch_size=20, steps_per_epoch=4, epochs=2, shuffle=False, verbose=0, callbacks=[Count()])
    assert seen == [0, 1, 2, 3, 0, 1, 2, 3]


def test_dtypes_other_than_float32_are_refused_not_ignored():
    from fastfit import layers
    with pytest.raises(NotImplementedError, match="float64"):
        layers.Dense(3, dtype="float64")
    with pytest.raises(NotImplementedError, match="int64"):
        keras.Input(shape=(3,), dtype="int64")  # int32 Inputs carry ids (test_embedding.py)
    with pytest.raises(NotImplementedError, match="float16"):
        keras.metrics.Mean(dtype="float16")
    layer = layers.Dense(3, dtype="float32")
    w = layer.add_weight((2,), "zeros", "count", trainable=False, dtype="int32")
    assert w.dtype_name == "int32"
