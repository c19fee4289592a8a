"""The callback machinery: hooks and their logs and params, when fit returns to Python per batch,
the stop flags, the learning rate a callback sets (and the compiled updates use), and the small
built-ins: LearningRateScheduler, TerminateOnNaN, LambdaCallback, SwapEMAWeights, RemoteMonitor."""
import http.server
import json
import threading
import urllib.parse

import numpy as np
import pytest

import fastfit as keras
from fastfit import layers
from test_callbacks_monitor import fit_full_batch, linear_data, linear_model, sgd_reference


# -- when Python runs per batch ------------------------------------------------------------------
def test_batch_hooks_needed_only_by_callbacks_that_use_them(tmp_path):
    cbs = keras.callbacks
    per_epoch = cbs.CallbackList([cbs.EarlyStopping(), cbs.CSVLogger(tmp_path / "log.csv"),
                                  cbs.TensorBoard(tmp_path), cbs.ReduceLROnPlateau(), cbs.History(),
                                  cbs.LearningRateScheduler(lambda e: 0.1), cbs.SwapEMAWeights(),
                                  cbs.LambdaCallback(on_epoch_end=print), cbs.ProgbarLogger()])
    assert not any(per_epoch.has_batch_hooks(mode) for mode in ("train", "test", "predict"))
    assert cbs.CallbackList([cbs.TerminateOnNaN()]).has_batch_hooks("train")
    assert cbs.CallbackList([cbs.TensorBoard(tmp_path, update_freq=10)]).has_batch_hooks("train")
    assert cbs.CallbackList([cbs.LambdaCallback(on_train_batch_end=print)]).has_batch_hooks("train")
    assert cbs.CallbackList([cbs.LambdaCallback(on_test_batch_end=print)]).has_batch_hooks("test")

    class Old(cbs.Callback):  # the TF 2 spelling the guide uses
        def on_batch_end(self, batch, logs=None):
            pass
    assert cbs.CallbackList([Old()]).has_batch_hooks("train")
    assert not cbs.CallbackList([Old()]).has_batch_hooks("test")


def test_on_batch_aliases_see_every_training_batch():
    seen = []

    class Old(keras.callbacks.Callback):
        def on_batch_begin(self, batch, logs=None):
            seen.append(("begin", batch))

        def on_batch_end(self, batch, logs=None):
            seen.append(("end", batch, sorted(logs)))
    x, y = linear_data()
    linear_model().fit(x, y, batch_size=16, epochs=1, verbose=0, callbacks=[Old()])
    assert seen == [("begin", 0), ("end", 0, ["loss"]), ("begin", 1), ("end", 1, ["loss"])]


def test_params_logs_and_history():
    x, y = linear_data()
    model = linear_model()
    got = {}

    class Look(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            got["fit"] = dict(self.params)

        def on_epoch_end(self, epoch, logs=None):
            got["epoch_logs"] = dict(logs)
            logs["extra"] = 1.0  # every callback of one call shares the logs, as Keras'

        def on_test_begin(self, logs=None):
            got.setdefault("test", dict(self.params))

        def on_predict_begin(self, logs=None):
            got["predict"] = dict(self.params)

        def on_predict_batch_end(self, batch, logs=None):
            got.setdefault("outputs", []).append(logs["outputs"])
    h = model.fit(x, y, batch_size=8, epochs=2, validation_split=0.25, verbose=0, callbacks=[Look()])
    assert got["fit"] == {"verbose": 0, "epochs": 2, "steps": 3}
    assert set(got["epoch_logs"]) == {"loss", "val_loss"} and all(type(v) is float for v in got["epoch_logs"].values())
    assert h is model.history and h.history["extra"] == [1.0, 1.0] and h.epoch == [0, 1]
    got.pop("test")
    model.evaluate(x, y, batch_size=10, verbose=0, callbacks=[Look()])
    assert got["test"] == {"verbose": 0, "epochs": 1, "steps": 4}
    out = model.predict(x, batch_size=10, verbose=0, callbacks=[Look()])
    assert got["predict"] == {"verbose": 0, "epochs": 1, "steps": 4}
    assert [len(o) for o in got["outputs"]] == [10, 10, 10, 2]
    np.testing.assert_array_equal(np.concatenate(got["outputs"]), out)


def test_a_callback_list_passed_as_it_is():
    x, y = linear_data()
    model = linear_model()
    history = keras.callbacks.History()
    cbs = keras.callbacks.CallbackList([history], model=model, epochs=2, steps=1, verbose=0)
    model.fit(x, y, batch_size=32, epochs=2, verbose=0, callbacks=cbs)
    assert model.history is history and len(history.history["loss"]) == 2
    with pytest.raises(TypeError, match="must be keras.callbacks.Callback instances, got builtin_function_or_method"):
        model.fit(x, y, verbose=0, callbacks=[print])


# -- stopping ------------------------------------------------------------------------------------
class Stop(keras.callbacks.Callback):
    def __init__(self, hook, flag, at=0):
        super().__init__()
        self.flag, self.at = flag, at
        setattr(self, hook, self.stop)

    def stop(self, *args):  # (logs) or (index, logs)
        if len(args) < 2 or args[0] == self.at:
            setattr(self.model, self.flag, True)


def batches_run(model, method, x, y, *callbacks):
    count = keras.callbacks.LambdaCallback(**{f"on_{method}_batch_end": lambda b, logs: ran.append(b)})
    ran = []
    kwargs = dict(batch_size=4, verbose=0, callbacks=[count, *callbacks])
    result = {"train": lambda: model.fit(x, y, epochs=3, shuffle=False, **kwargs),
              "test": lambda: model.evaluate(x, y, **kwargs), "predict": lambda: model.predict(x, **kwargs)}[method]()
    return ran, result


@pytest.mark.parametrize("hook", ["on_train_begin", "on_epoch_begin", "on_epoch_end"])
def test_stop_training_from_epoch_hooks(hook):
    x, y = linear_data()
    model = linear_model()
    ran, h = batches_run(model, "train", x, y, Stop(hook, "stop_training"))
    # set before the epoch's batches, Keras still runs one; set at its end, the epoch is complete
    assert h.epoch == [0] and len(ran) == (8 if hook == "on_epoch_end" else 1)


def test_stop_training_from_a_batch_hook_and_without_batch_hooks():
    x, y = linear_data()
    ran, h = batches_run(linear_model(), "train", x, y, Stop("on_train_batch_end", "stop_training", at=2))
    assert ran == [0, 1, 2] and h.epoch == [0]
    h = linear_model().fit(x, y, batch_size=4, epochs=3, verbose=0, callbacks=[Stop("on_epoch_begin", "stop_training")])
    assert h.epoch == [0]


def test_stop_evaluating_and_predicting():
    x, y = linear_data()
    model = linear_model()
    ran, logs = batches_run(model, "test", x, y, Stop("on_test_batch_end", "stop_evaluating", at=1))
    assert ran == [0, 1] and logs == pytest.approx(model.evaluate(x[:8], y[:8], verbose=0), rel=1e-6)
    ran, out = batches_run(model, "predict", x, y, Stop("on_predict_batch_end", "stop_predicting", at=2))
    assert ran == [0, 1, 2] and out.shape == (12, 1)
    np.testing.assert_allclose(out, model.predict(x[:12], verbose=0), rtol=1e-6)
    assert model.predict(x, verbose=0).shape == (32, 1)  # the flags are reset by the next call


# -- learning rates --------------------------------------------------------------------------------
def test_learning_rate_scheduler_sets_the_compiled_rate(capsys):
    x, y = linear_data()
    model = linear_model(0.1)
    rates = [0.1, 0.05, 0.0, 0.2]
    w, b = sgd_reference(model, x, y, rates)
    seen = []
    scheduler = keras.callbacks.LearningRateScheduler(lambda epoch, lr: seen.append(lr) or rates[epoch], verbose=1)
    h = fit_full_batch(model, x, y, 4, [scheduler])
    assert seen == pytest.approx([0.1, 0.1, 0.05, 0.0])  # called with the current rate
    np.testing.assert_allclose(h.history["learning_rate"], rates, rtol=1e-6)
    np.testing.assert_allclose(model.get_weights()[0], w, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.get_weights()[1], b, rtol=1e-5, atol=1e-6)
    assert "Epoch 4: LearningRateScheduler setting learning rate to 0.2." in capsys.readouterr().out
    epoch_only = keras.callbacks.LearningRateScheduler(lambda epoch: 0.01)  # one argument: called with the epoch
    fit_full_batch(model, x, y, 1, [epoch_only])
    assert float(model.optimizer.learning_rate) == pytest.approx(0.01)
    with pytest.raises(ValueError, match="should be a float. Got: 1"):
        fit_full_batch(model, x, y, 1, [keras.callbacks.LearningRateScheduler(lambda epoch: 1)])


def test_setting_the_learning_rate_between_fits_and_in_hooks():
    x, y = linear_data()
    model = linear_model(0.1)
    w, b = sgd_reference(model, x, y, [0.1, 0.02, 0.03])
    fit_full_batch(model, x, y, 1, [])
    model.optimizer.learning_rate = 0.02
    fit_full_batch(model, x, y, 1, [])
    set_lr = keras.callbacks.LambdaCallback(on_epoch_begin=lambda e, logs: setattr(model.optimizer, "lr", 0.03))
    fit_full_batch(model, x, y, 1, [set_lr])  # the TF 2 spelling
    assert float(model.optimizer.lr) == pytest.approx(0.03)
    np.testing.assert_allclose(model.get_weights()[0], w, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.get_weights()[1], b, rtol=1e-5, atol=1e-6)


def test_a_scheduled_rate_reads_but_does_not_set():
    x, y = linear_data()
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5)
    model = linear_model()
    model.compile(optimizer=keras.optimizers.SGD(schedule), loss="mse")
    w, b = sgd_reference(model, x, y, [0.1, 0.05, 0.025])
    h = fit_full_batch(model, x, y, 3, [])
    assert float(model.optimizer.learning_rate) == pytest.approx(0.0125)
    np.testing.assert_allclose(model.get_weights()[0], w, rtol=1e-5, atol=1e-6)
    assert len(h.epoch) == 3
    with pytest.raises(TypeError, match="its learning rate is not settable"):
        fit_full_batch(model, x, y, 1, [keras.callbacks.LearningRateScheduler(lambda epoch: 0.1)])


# -- TerminateOnNaN, LambdaCallback ----------------------------------------------------------------
def test_terminate_on_nan_stops_after_the_first_nan_batch(capsys):
    x, y = linear_data()
    x[9, 0] = np.nan  # in the third batch of 4
    ran, h = batches_run(linear_model(), "train", x, y, keras.callbacks.TerminateOnNaN())
    assert ran == [0, 1, 2] and h.epoch == [0] and np.isnan(h.history["loss"][0])
    assert "Batch 2: Invalid loss, terminating training" in capsys.readouterr().out
    with pytest.raises(RuntimeError, match="NaN or Inf loss encountered at batch 2"):
        batches_run(linear_model(), "train", x, y, keras.callbacks.TerminateOnNaN(raise_error=True))
    ran, h = batches_run(linear_model(), "train", linear_data()[0], y, keras.callbacks.TerminateOnNaN())
    assert len(ran) == 24 and h.epoch == [0, 1, 2]


def test_lambda_callback_calls_its_functions():
    calls = []

    def note(name):
        return lambda *args: calls.append((name,) + args[:-1])
    hooks = ["on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end", "on_train_batch_begin",
             "on_train_batch_end", "on_test_end"]
    x, y = linear_data()
    linear_model().fit(x, y, batch_size=16, epochs=1, validation_data=(x, y), verbose=0,
                       callbacks=[keras.callbacks.LambdaCallback(**{h: note(h) for h in hooks})])
    assert calls == [("on_train_begin",), ("on_epoch_begin", 0), ("on_train_batch_begin", 0),
                     ("on_train_batch_end", 0), ("on_train_batch_begin", 1), ("on_train_batch_end", 1),
                     ("on_test_end",), ("on_epoch_end", 0), ("on_train_end",)]


# -- SwapEMAWeights --------------------------------------------------------------------------------
def ema_model():
    model = linear_model()
    model.compile(optimizer=keras.optimizers.SGD(0.1, use_ema=True, ema_momentum=0.5), loss="mse")
    return model


def test_swap_ema_weights_validates_with_the_averages():
    x, y = linear_data()
    plain, swapped = ema_model(), ema_model()
    kwargs = dict(batch_size=8, epochs=1, shuffle=False, validation_data=(x, y), verbose=0)
    raw_val = plain.fit(x, y, **kwargs).history["val_loss"][0]
    ema_val = swapped.fit(x, y, callbacks=[keras.callbacks.SwapEMAWeights()], **kwargs).history["val_loss"][0]
    # fit ends with the averages in the model: evaluating them gives what validation saw
    assert ema_val == pytest.approx(swapped.evaluate(x, y, verbose=0), rel=1e-6)
    assert raw_val != pytest.approx(ema_val, rel=1e-3)


def test_swap_ema_weights_in_predict_and_per_epoch():
    x, y = linear_data()
    model = ema_model()
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    averages = model.get_weights()
    model.set_weights([np.zeros_like(w) for w in averages])
    out = model.predict(x, verbose=0, callbacks=[keras.callbacks.SwapEMAWeights()])
    np.testing.assert_allclose(out, x @ averages[0] + averages[1], rtol=1e-5, atol=1e-6)
    assert all((w == 0).all() for w in model.get_weights())  # the trained weights are back
    seen = []
    look = keras.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: seen.append(model.get_weights()))
    swap = keras.callbacks.SwapEMAWeights(swap_on_epoch=True)
    model.fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[swap, look])
    averages = [v.numpy() for _, v in model.optimizer._moving_averages()]
    for w, a in zip(seen[-1], averages):  # at the last epoch's end the model holds the averages
        np.testing.assert_allclose(w, a, rtol=1e-6)
    with pytest.raises(ValueError, match="use_ema=True"):
        linear_model().fit(x, y, verbose=0, validation_data=(x, y), callbacks=[keras.callbacks.SwapEMAWeights()])


# -- RemoteMonitor ---------------------------------------------------------------------------------
def test_remote_monitor_posts_each_epoch():
    received = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"])).decode()
            received.append((self.path, self.headers["Content-Type"], body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass
    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        root = f"http://127.0.0.1:{server.server_port}"
        x, y = linear_data()
        h = fit_full_batch(linear_model(), x, y, 2, [keras.callbacks.RemoteMonitor(root=root)])
        fit_full_batch(linear_model(), x, y, 1, [keras.callbacks.RemoteMonitor(root=root, path="/j",
                                                                               send_as_json=True)])
    finally:
        server.shutdown()
        server.server_close()
    path, kind, body = received[1]
    assert path == "/publish/epoch/end/" and kind == "application/x-www-form-urlencoded"
    assert json.loads(urllib.parse.parse_qs(body)["data"][0]) == {"epoch": 1, "loss": h.history["loss"][1]}
    path, kind, body = received[2]
    assert path == "/j" and kind == "application/json" and json.loads(body)["epoch"] == 0


def test_remote_monitor_warns_when_unreachable():
    x, y = linear_data()
    with pytest.warns(UserWarning, match="Could not reach RemoteMonitor root server at http://127.0.0.1:9"):
        fit_full_batch(linear_model(), x, y, 1, [keras.callbacks.RemoteMonitor(root="http://127.0.0.1:9")])


def test_models_of_the_guide_still_run_with_callbacks(small_data):
    x, y = small_data
    model = keras.Sequential([keras.Input((784,)), layers.Dense(10, activation="softmax")])
    model.compile("rmsprop", "sparse_categorical_crossentropy", metrics=["accuracy"])
    callbacks = [keras.callbacks.EarlyStopping(monitor="val_loss", min_delta=1e-2, patience=2, verbose=1)]
    h = model.fit(x, y, epochs=2, batch_size=64, validation_split=0.2, callbacks=callbacks, verbose=0)
    assert set(h.history) == {"accuracy", "loss", "val_accuracy", "val_loss"}


@pytest.mark.parametrize("make,error,match", [
    (lambda: keras.callbacks.EarlyStopping(patience=-1), ValueError,
     "EarlyStopping: `patience` must be an integer >= 0, got -1"),
    (lambda: keras.callbacks.EarlyStopping(patience="2"), ValueError, "`patience` must be an integer >= 0, got '2'"),
    (lambda: keras.callbacks.EarlyStopping(start_from_epoch=1.5), ValueError, "`start_from_epoch` must be an integer"),
    (lambda: keras.callbacks.EarlyStopping(monitor=3), TypeError, "`monitor` must be the name of a log"),
    (lambda: keras.callbacks.EarlyStopping(min_delta="0.1"), TypeError, "`min_delta` must be a number, got '0.1'"),
    (lambda: keras.callbacks.EarlyStopping(baseline="x"), TypeError, "`baseline` must be a number or None"),
    (lambda: keras.callbacks.ReduceLROnPlateau(factor="half"), TypeError, "`factor` must be a number"),
    (lambda: keras.callbacks.ReduceLROnPlateau(cooldown=-2), ValueError, "`cooldown` must be an integer >= 0"),
    (lambda: keras.callbacks.ReduceLROnPlateau(min_lr=None), TypeError, "`min_lr` must be a number, got None"),
    (lambda: keras.callbacks.CSVLogger("log.csv", separator=", "), ValueError, "`separator` must be one character"),
    (lambda: keras.callbacks.LearningRateScheduler(0.1), TypeError, "`schedule` must be a function"),
    (lambda: keras.callbacks.LambdaCallback(on_epoch_end=1), TypeError, "`on_epoch_end` must be a function"),
])
def test_bad_arguments_are_named(make, error, match):
    with pytest.raises(error, match=match):
        make()
