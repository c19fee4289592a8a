"""Cases run through both Keras 3 and fastfit: synthetic epoch logs into EarlyStopping,
ReduceLROnPlateau and CSVLogger (with a stand-in model), the TensorBoard fit, and the models of
summary_cases. Run as a script (`python callback_cases.py <dir>`), it runs them all on Keras, writes
its files (CSV, event files under <dir>/tensorboard) and prints the results as JSON: the tests'
`keras_callback_reference` fixture, so TensorFlow never enters the test process.)"""
import json
import os
import sys

import numpy as np

EARLY_STOPPING = [
    ({"patience": 2}, [1.0, 0.9, 0.95, 0.92, 0.91, 0.5]),
    ({"patience": 1, "min_delta": 0.05}, [1.0, 0.97, 0.9, 0.89, 0.88]),
    ({"patience": 2, "baseline": 0.5}, [0.9, 0.8, 0.7, 0.6, 0.4, 0.3]),
    ({"patience": 3, "baseline": 0.5}, [0.4, 0.45, 0.3, 0.35, 0.36, 0.37, 0.2]),
    ({"patience": 0, "start_from_epoch": 2}, [1.0, 2.0, 3.0, 4.0, 5.0]),
    ({"patience": 1, "mode": "max", "monitor": "val_accuracy"}, [0.5, 0.6, 0.6, 0.55, 0.7]),
    ({"patience": 2, "restore_best_weights": True}, [1.0, 0.5, 0.7, 0.6, 0.8, 0.9]),
    ({"patience": 2, "restore_best_weights": True, "start_from_epoch": 3}, [0.1, 0.2, 0.3, 0.9, 0.8, 0.85, 0.95]),
    ({"patience": 1, "min_delta": -0.1}, [1.0, 1.05, 1.2, 1.1]),
]

REDUCE_LR = [
    ({"factor": 0.5, "patience": 1}, [1.0, 1.0, 1.0, 0.5, 0.6, 0.7, 0.8]),
    ({"factor": 0.5, "patience": 0, "cooldown": 2}, [1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6]),
    ({"factor": 0.1, "patience": 0, "min_lr": 0.002}, [1.0, 1.0, 1.0, 1.0, 1.0]),
    ({"factor": 0.5, "patience": 1, "min_delta": 0.2}, [1.0, 0.9, 0.85, 0.6, 0.55, 0.5]),
    ({"factor": 0.5, "patience": 1, "mode": "max", "monitor": "val_accuracy"}, [0.5, 0.4, 0.45, 0.6, 0.6]),
]

CSV_EPOCHS = [{"loss": 0.5, "accuracy": 0.75, "per_class": np.array([0.5, 0.25])},
              {"loss": 0.25, "accuracy": 0.875, "val_loss": 0.3, "per_class": [1, 2]},
              {"loss": 0.125, "accuracy": np.float32(0.9375), "per_class": np.array([0.5, 0.25])}]


# The TensorBoard case: a model, and a fit writing into `log_dir` (the same code for either library).
TENSORBOARD_MODEL = """
inputs = keras.Input(shape=(8,), name="digits")
x = layers.Dense(4, activation="relu", name="dense_1")(inputs)
outputs = layers.Dense(3, activation="softmax", name="predictions")(x)
model = keras.Model(inputs=inputs, outputs=outputs)
model.compile("rmsprop", "sparse_categorical_crossentropy", metrics=["accuracy"])
rng = np.random.default_rng(0)
x, y = rng.normal(size=(40, 8)).astype("float32"), rng.integers(0, 3, 40)
"""
TENSORBOARD_FIT = """
tensorboard = keras.callbacks.TensorBoard(log_dir, histogram_freq=1, update_freq=2, write_images=True,
                                          write_steps_per_second=True)
history = model.fit(x, y, batch_size=8, epochs=2, validation_split=0.2, shuffle=False, callbacks=[tensorboard],
                    verbose=0)
"""


def tensorboard_fit(keras, log_dir):
    """Runs the TensorBoard case; returns its namespace (model, history, ...)."""
    scope = {"keras": keras, "layers": keras.layers, "np": np, "log_dir": log_dir}
    exec(TENSORBOARD_MODEL + TENSORBOARD_FIT, scope)
    return scope


class StandIn:
    """What the callbacks use of a model: stop_training, weights and an optimizer's learning rate.
    Its 'weights' are the epoch they were read at."""

    def __init__(self, learning_rate=0.01):
        self.stop_training = False
        self.epoch = 0
        self.restored = None
        self.metrics = []
        self.optimizer = type("Optimizer", (), {"learning_rate": learning_rate})()

    def get_weights(self):
        return [np.array(self.epoch)]

    def set_weights(self, weights):
        self.restored = int(weights[0])


def early_stopping(callbacks, kwargs, values):
    """(epochs run, stopped_epoch, best_epoch, restored epoch) of EarlyStopping on these values."""
    kwargs = dict(kwargs)
    monitor = kwargs.setdefault("monitor", "val_loss")
    cb = callbacks.EarlyStopping(**kwargs)
    model = StandIn()
    cb.set_model(model)
    cb.on_train_begin()
    ran = 0
    for epoch, value in enumerate(values):
        model.epoch = epoch
        cb.on_epoch_end(epoch, {monitor: value})
        ran += 1
        if model.stop_training:
            break
    cb.on_train_end()
    return [ran, cb.stopped_epoch, cb.best_epoch, model.restored]


def reduce_lr(callbacks, kwargs, values):
    """The learning rate after each epoch, and the learning_rate each epoch's logs got."""
    kwargs = dict(kwargs)
    monitor = kwargs.setdefault("monitor", "val_loss")
    cb = callbacks.ReduceLROnPlateau(**kwargs)
    model = StandIn(learning_rate=0.01)
    cb.set_model(model)
    cb.on_train_begin()
    rates, logged = [], []
    for epoch, value in enumerate(values):
        logs = {monitor: value}
        cb.on_epoch_end(epoch, logs)
        rates.append(float(model.optimizer.learning_rate))
        logged.append(logs["learning_rate"])
    return [rates, logged]


def csv_log(callbacks, path):
    """The CSV text of two runs: one, then one more appended (with ';' as separator)."""
    for append, separator in ((False, ","), (True, ";")):
        cb = callbacks.CSVLogger(path, separator=separator, append=append)
        cb.set_model(StandIn())
        cb.on_train_begin()
        for epoch, logs in enumerate(CSV_EPOCHS[:2] if append else CSV_EPOCHS):
            cb.on_epoch_end(epoch, dict(logs))
        cb.on_train_end()
    with open(path, newline="") as f:
        return f.read()


def run_all(callbacks, workdir):
    return {"early_stopping": [early_stopping(callbacks, k, v) for k, v in EARLY_STOPPING],
            "reduce_lr": [reduce_lr(callbacks, k, v) for k, v in REDUCE_LR],
            "csv": csv_log(callbacks, os.path.join(workdir, "log.csv"))}


if __name__ == "__main__":
    os.environ["KERAS_BACKEND"] = "tensorflow"
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import keras

    import summary_cases
    tensorboard_fit(keras, os.path.join(sys.argv[1], "tensorboard"))
    print(json.dumps({"callbacks": run_all(keras.callbacks, sys.argv[1]),
                      "summaries": summary_cases.summaries(keras, keras.layers)[0]}))
