"""EarlyStopping, ReduceLROnPlateau and CSVLogger: on synthetic logs (against hand-worked results and
against Keras 3 driven with the same logs), and in real fits (the compiled updates use the new rates)."""
import numpy as np
import pytest

import callback_cases
import fastfit as keras
from fastfit import layers
from conftest import needs_tensorflow


@pytest.fixture(scope="module")
def fastfit_results(tmp_path_factory):
    return callback_cases.run_all(keras.callbacks, str(tmp_path_factory.mktemp("fastfit_callbacks")))


# -- against worked results ------------------------------------------------------------------
def test_early_stopping_on_a_plateau(fastfit_results):
    # (epochs run, stopped_epoch, best_epoch, restored), worked by hand from Keras' rules
    results = fastfit_results["early_stopping"]
    assert results[0] == [4, 3, 1, None]      # best at 1; 2 and 3 do not improve: stop after epoch 3
    assert results[1] == [2, 1, 0, None]      # 0.97 is not 0.05 below 1.0
    assert results[2] == [6, 0, 5, None]      # improving every epoch never stops, baseline or not
    assert results[3] == [6, 5, 2, None]      # improvements above the baseline still count as waiting
    assert results[4] == [4, 3, 2, None]      # epochs 0 and 1 are not watched
    assert results[5] == [3, 2, 1, None]      # mode max: 0.6 again is no improvement
    assert results[6] == [4, 3, 1, 1]         # the best epoch's weights come back
    assert results[7] == [7, 6, 4, 4]         # best among the watched epochs only


def test_reduce_lr_on_plateau_schedule(fastfit_results):
    rates, logged = fastfit_results["reduce_lr"][1]  # patience 0, cooldown 2, on a rising loss
    np.testing.assert_allclose(rates, [0.01, 0.005, 0.005, 0.0025, 0.0025, 0.00125, 0.00125])
    assert logged[:3] == [0.01, 0.01, 0.005]  # each epoch's logs get the rate it trained with
    rates, _ = fastfit_results["reduce_lr"][2]
    np.testing.assert_allclose(rates, [0.01, 0.002, 0.002, 0.002, 0.002])  # never below min_lr


def test_csv_logger_rows(fastfit_results):
    lines = fastfit_results["csv"].split("\r\n")
    assert lines[0] == "epoch,accuracy,loss,per_class,val_accuracy,val_loss,val_per_class"
    assert lines[1] == '0,0.75,0.5,"""[0.5, 0.25]""",NA,NA,NA'
    assert lines[2] == '1,0.875,0.25,"""[1, 2]""",NA,0.3,NA'
    assert lines[4] == '0;0.75;0.5;"""[0.5, 0.25]""";NA;NA;NA'  # appended, no second header


@needs_tensorflow
# -- against Keras 3 ----------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["early_stopping", "reduce_lr", "csv"])
def test_same_as_keras(kind, keras_callback_reference, fastfit_results):
    assert fastfit_results[kind] == keras_callback_reference[0]["callbacks"][kind]


# -- in real fits --------------------------------------------------------------------------------
def linear_model(learning_rate=0.1, seed=0):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((3,)), layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate), loss="mse")
    return model


def linear_data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 3)).astype("float32")
    return x, (x @ np.array([[1.0], [-2.0], [0.5]]) + 0.3).astype("float32")


def sgd_reference(model, x, y, rates):
    """Full-batch SGD on MSE in float64, one step per epoch at the given rates."""
    w, b = (v.astype(np.float64) for v in model.get_weights())
    for lr in rates:
        err = x @ w + b - y
        w, b = w - lr * 2 * x.T @ err / len(x), b - lr * 2 * err.mean(0)
    return w, b


def fit_full_batch(model, x, y, epochs, callbacks):
    return model.fit(x, y, batch_size=len(x), epochs=epochs, shuffle=False, verbose=0, callbacks=callbacks)


def test_early_stopping_real_fit_on_a_plateau():
    x, y = linear_data()
    # learning rate 0: the loss is the same every epoch, a plateau from the start
    h = fit_full_batch(linear_model(0.0), x, y, 10, [keras.callbacks.EarlyStopping(monitor="loss", patience=2)])
    assert h.epoch == [0, 1, 2]
    h = fit_full_batch(linear_model(0.0), x, y, 10,
                       [keras.callbacks.EarlyStopping(monitor="loss", patience=2, baseline=0.0)])
    assert h.epoch == [0, 1]  # the first epoch never beat the baseline: it counts as waiting
    h = fit_full_batch(linear_model(0.0), x, y, 10,
                       [keras.callbacks.EarlyStopping(monitor="loss", patience=0, start_from_epoch=2)])
    assert h.epoch == [0, 1, 2, 3]


def test_early_stopping_restores_the_best_weights(capsys):
    x, y = linear_data()
    model = linear_model(0.1)
    seen = []
    record = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(model.get_weights()))
    # a rate that diverges from epoch 3 on: the loss rises, so the best epoch is an early one
    diverge = keras.callbacks.LearningRateScheduler(lambda epoch: 0.1 if epoch < 3 else 2.0)
    stop = keras.callbacks.EarlyStopping(monitor="loss", patience=2, restore_best_weights=True, verbose=1)
    h = fit_full_batch(model, x, y, 20, [diverge, record, stop])
    best = int(np.argmin(h.history["loss"]))
    assert stop.best_epoch == best and len(h.epoch) == best + 3
    assert capsys.readouterr().out == (f"Epoch {best + 3}: early stopping\n"
                                       f"Restoring model weights from the end of the best epoch: {best + 1}.\n")
    for restored, kept in zip(model.get_weights(), seen[best]):
        np.testing.assert_array_equal(restored, kept)


def test_early_stopping_auto_mode_reads_the_metric_direction():
    x, y = linear_data()
    model = linear_model()
    model.compile(optimizer="sgd", loss="mse", metrics=["mae", keras.metrics.R2Score()])
    up = keras.callbacks.EarlyStopping(monitor="val_r2_score")
    down = keras.callbacks.EarlyStopping(monitor="mae")
    model.fit(x, y, epochs=1, validation_split=0.25, verbose=0, callbacks=[up, down])
    assert up.monitor_op(2, 1) and down.monitor_op(1, 2)
    unknown = keras.callbacks.EarlyStopping(monitor="val_custom")
    with pytest.raises(ValueError, match="Pass `mode='max'`"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[unknown])
    with pytest.warns(UserWarning, match="mode 'maximum' is unknown"):
        keras.callbacks.EarlyStopping(mode="maximum")
    # An output's loss goes down, for EarlyStopping as for ModelCheckpoint (one rule for both)
    inputs = keras.Input(shape=(x.shape[1],))
    two = keras.Model(inputs, [layers.Dense(1, name="a")(inputs), layers.Dense(1, name="b")(inputs)])
    two.compile(optimizer="sgd", loss="mse")
    per_output = keras.callbacks.EarlyStopping(monitor="val_a_loss")
    two.fit(x, [y, y], epochs=1, validation_split=0.25, verbose=0, callbacks=[per_output])
    assert per_output.monitor_op(1, 2)
    with pytest.warns(UserWarning, match="`val_loss` which is not available. Available metrics are: loss"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[keras.callbacks.EarlyStopping()])


def test_reduce_lr_on_plateau_lowers_the_compiled_rate():
    x, y = linear_data()
    model = linear_model(0.1)
    # a min_delta no change can pass: every epoch after the first is a plateau, patience 0 halves the rate
    reduce = keras.callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=0, min_delta=1e9)
    w, b = sgd_reference(model, x, y, [0.1, 0.1, 0.05, 0.025])
    h = fit_full_batch(model, x, y, 4, [reduce])
    np.testing.assert_allclose(h.history["learning_rate"], [0.1, 0.1, 0.05, 0.025], rtol=1e-6)
    np.testing.assert_allclose(model.get_weights()[0], w, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.get_weights()[1], b, rtol=1e-5, atol=1e-6)
    assert float(model.optimizer.learning_rate) == pytest.approx(0.0125)


def test_reduce_lr_on_plateau_arguments(capsys):
    with pytest.raises(ValueError, match="does not support a factor >= 1.0"):
        keras.callbacks.ReduceLROnPlateau(factor=1.5)
    x, y = linear_data()
    reduce = keras.callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=0, min_delta=1e9, verbose=1)
    fit_full_batch(linear_model(0.1), x, y, 2, [reduce])
    assert "Epoch 2: ReduceLROnPlateau reducing learning rate to 0.05" in capsys.readouterr().out


def test_csv_logger_in_fit(tmp_path):
    x, y = linear_data()
    path = tmp_path / "training.log"
    fit_full_batch(linear_model(), x[:24], y[:24], 2, [keras.callbacks.CSVLogger(path)])
    h = linear_model().fit(x, y, batch_size=8, epochs=1, validation_split=0.25, shuffle=False, verbose=0,
                           callbacks=[keras.callbacks.CSVLogger(str(path), separator="\t", append=True)])
    rows = path.read_text().splitlines()
    assert rows[0] == "epoch,loss,val_loss" and rows[1].startswith("0,") and rows[2].startswith("1,")
    assert rows[1].endswith(",NA") and len(rows) == 4
    assert rows[3] == f"0\t{h.history['loss'][0]}\t{h.history['val_loss'][0]}"
