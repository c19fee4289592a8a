"""ModelCheckpoint: Keras 3's filepath rules and templates, save_best_only (writes only on improvement,
and the file reloads and predicts as the model did then), modes, thresholds, batch frequencies."""
import os

import h5py  # noqa: F401 - a test dependency: saving needs it
import numpy as np
import pytest

import fastfit as keras
from fastfit import layers


def _model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(8, activation="relu"), layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.05), "mse", metrics=["mae"])
    return model


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype(np.float32)
    return x, (x @ np.array([[1.0], [-2.0], [0.5], [0.0]], np.float32)).astype(np.float32)


class Predictions(keras.callbacks.Callback):
    """The model's predictions at each epoch's end (after the checkpoint ran)."""

    def __init__(self, x):
        super().__init__()
        self.x, self.by_epoch = x, {}

    def on_epoch_end(self, epoch, logs=None):
        self.by_epoch[epoch] = self.model.predict(self.x, verbose=0)


def test_save_best_only_writes_only_on_improvement(tmp_path):
    x, y = _data()
    model = _model()
    predictions = Predictions(x[:8])
    checkpoint = keras.callbacks.ModelCheckpoint(tmp_path / "best_{epoch:02d}-{val_loss:.4f}.keras",
                                                 save_best_only=True)
    # a learning rate high enough that validation loss goes up now and then
    model.optimizer.learning_rate = 0.2
    history = model.fit(x, y, epochs=12, batch_size=8, validation_split=0.25, verbose=0,
                        callbacks=[checkpoint, predictions])
    val = history.history["val_loss"]
    improved = [e for e in range(len(val)) if val[e] < min(val[:e], default=np.inf)]
    assert 1 < len(improved) < len(val)  # some epochs did not improve
    expected = sorted(f"best_{e + 1:02d}-{val[e]:.4f}.keras" for e in improved)
    assert sorted(os.listdir(tmp_path)) == expected
    assert checkpoint.best == min(val)
    for e in improved:
        loaded = keras.models.load_model(tmp_path / f"best_{e + 1:02d}-{val[e]:.4f}.keras")
        np.testing.assert_array_equal(loaded.predict(x[:8], verbose=0), predictions.by_epoch[e])


def test_one_file_holds_the_best_model(tmp_path, capsys):
    x, y = _data()
    model = _model()
    model.optimizer.learning_rate = 0.2
    predictions = Predictions(x[:8])
    checkpoint = keras.callbacks.ModelCheckpoint(tmp_path / "best.weights.h5", monitor="val_mae", mode="min",
                                                 save_best_only=True, save_weights_only=True, verbose=1)
    history = model.fit(x, y, epochs=8, batch_size=8, validation_split=0.25, verbose=0,
                        callbacks=[checkpoint, predictions])
    best = int(np.argmin(history.history["val_mae"]))
    fresh = _model()
    fresh.load_weights(tmp_path / "best.weights.h5")
    np.testing.assert_array_equal(fresh.predict(x[:8], verbose=0), predictions.by_epoch[best])
    out = capsys.readouterr().out
    assert f"Epoch {best + 1}: val_mae improved from" in out and f"saving model to {tmp_path}/best.weights.h5" in out
    assert "did not improve from" in out or best == 7


def test_modes_and_initial_value_threshold(tmp_path):
    x, y = _data()
    model = _model()
    never = keras.callbacks.ModelCheckpoint(tmp_path / "never.keras", monitor="loss", save_best_only=True,
                                            initial_value_threshold=0.0)
    worst = keras.callbacks.ModelCheckpoint(tmp_path / "max_{epoch}.keras", monitor="loss", mode="max",
                                            save_best_only=True)
    history = model.fit(x, y, epochs=4, batch_size=8, verbose=0, callbacks=[never, worst])
    assert not os.path.exists(tmp_path / "never.keras")  # no loss beats 0
    losses = history.history["loss"]
    rising = [e for e in range(4) if losses[e] > max(losses[:e], default=-np.inf)]
    assert sorted(os.listdir(tmp_path)) == sorted(f"max_{e + 1}.keras" for e in rising)
    with pytest.warns(UserWarning, match="unknown, fallback to auto mode"):
        keras.callbacks.ModelCheckpoint(tmp_path / "m.keras", mode="sideways")
    unknown = keras.callbacks.ModelCheckpoint(tmp_path / "m.keras", monitor="val_whatever", save_best_only=True)
    unknown.set_model(model)
    with pytest.raises(ValueError, match="isn't able to automatically determine whether that metric should be "
                                         "maximized or minimized"):
        unknown._should_save(0, {"val_whatever": 1.0}, "m.keras")
    with pytest.warns(UserWarning, match="Can save best model only with val_loss available"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[keras.callbacks.ModelCheckpoint(
            tmp_path / "noval.keras", save_best_only=True)])
    assert os.path.exists(tmp_path / "noval.keras")  # Keras saves then


def test_batch_frequency_and_templates(tmp_path):
    x, y = _data()
    model = _model()
    checkpoint = keras.callbacks.ModelCheckpoint(tmp_path / "e{epoch}-b{batch}.weights.h5", save_weights_only=True,
                                                 save_freq=3)
    assert checkpoint._needs_batch_hooks("train") and not checkpoint._needs_batch_hooks("test")
    model.fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[checkpoint])  # 4 batches an epoch
    assert sorted(os.listdir(tmp_path)) == ["e1-b3.weights.h5", "e2-b2.weights.h5"]  # batches 3 and 6
    per_epoch = keras.callbacks.ModelCheckpoint(tmp_path / "legacy_{epoch}.h5")
    assert not per_epoch._needs_batch_hooks("train")  # fit stays in C++ between epochs
    model.fit(x, y, epochs=1, verbose=0, callbacks=[per_epoch])
    np.testing.assert_array_equal(keras.models.load_model(tmp_path / "legacy_1.h5").predict(x, verbose=0),
                                  model.predict(x, verbose=0))
    with pytest.raises(KeyError, match='Failed to format this callback filepath: "'):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[keras.callbacks.ModelCheckpoint(tmp_path / "{acc}.keras")])
    os.mkdir(tmp_path / "folder.keras")
    with pytest.raises(IOError, match="Please specify a non-directory filepath for ModelCheckpoint"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[keras.callbacks.ModelCheckpoint(tmp_path / "folder.keras")])


def test_filepath_rules(tmp_path):
    with pytest.raises(ValueError, match="the filepath provided must end in `.weights.h5`"):
        keras.callbacks.ModelCheckpoint(tmp_path / "m.keras", save_weights_only=True)
    with pytest.raises(ValueError, match=r"The filepath provided must end in `.keras` \(Keras model format\)"):
        keras.callbacks.ModelCheckpoint(tmp_path / "m.ckpt")
    with pytest.raises(ValueError, match="Unrecognized save_freq: batch"):
        keras.callbacks.ModelCheckpoint(tmp_path / "m.keras", save_freq="batch")
    with pytest.raises(ValueError, match="Unrecognized save_freq: 0"):
        keras.callbacks.ModelCheckpoint(tmp_path / "m.keras", save_freq=0)
