"""Training resumes bit-identically: train, save, load, train more == train uninterrupted (shuffled
batches, Dropout, BatchNormalization, Adam); BackupAndRestore after an exception raised by a callback
(at an epoch, or inside one with an integer save_freq) and after a real SIGKILL of a training process."""
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import fastfit as keras
from fastfit import layers

pytest.importorskip("h5py")

# The child imports the same fastfit as this process (an installed wheel in CI, the source tree in development).
FASTFIT_PATH = os.path.dirname(os.path.dirname(os.path.abspath(keras.__file__)))


def make_model(seed=1):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input(shape=(6,)), layers.Dense(8, activation="relu"), layers.Dropout(0.5),
                              layers.BatchNormalization(), layers.Dense(1)])
    model.compile(keras.optimizers.Adam(0.01), "mse", metrics=["mae"])
    return model


def data(n=100):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 6)).astype(np.float32), rng.normal(size=(n, 1)).astype(np.float32)


FIT = dict(batch_size=16, verbose=0, validation_split=0.2)


def assert_same_weights(a, b):
    for u, v in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(u, v)


@pytest.fixture(scope="module")
def uninterrupted():
    model = make_model()
    history = model.fit(*data(), epochs=5, **FIT)
    return model, history.history


@pytest.mark.parametrize("route", ["model.keras", "weights.weights.h5"])
def test_save_load_and_continue_equals_training_through(tmp_path, route):
    x, y = data()
    through = make_model()
    through.fit(x, y, epochs=3, **FIT)
    model = make_model()
    model.fit(x, y, epochs=2, **FIT)
    path = tmp_path / route
    if route.endswith(".keras"):
        model.save(path)
        model = keras.models.load_model(path)
    else:
        model.save_weights(path)
        saved_rng = keras.backend.rng().bit_generator.state
        model = make_model(seed=5)  # other initial weights and Dropout seed: the file restores them
        keras.backend.rng().bit_generator.state = saved_rng
        model.load_weights(path)
    model.fit(x, y, epochs=1, **FIT)
    assert_same_weights(through, model)


class Interrupt(keras.callbacks.Callback):
    """Raises in epoch `epoch`: at its start, or after batch `batch` of it."""

    def __init__(self, epoch, batch=None):
        super().__init__()
        self.epoch, self.batch, self.current = epoch, batch, None

    def on_epoch_begin(self, epoch, logs=None):
        self.current = epoch
        if self.batch is None and epoch == self.epoch:
            raise RuntimeError("interrupted")

    def on_train_batch_end(self, batch, logs=None):
        if self.current == self.epoch and batch == self.batch:
            raise RuntimeError("interrupted")


@pytest.mark.parametrize("save_freq,interrupt,resumed_at", [
    ("epoch", Interrupt(2), 2),              # backed up after epoch 2 (index 1)
    (2, Interrupt(2, batch=2), 2),           # backed up after batch 2 of epoch 3: resumes inside it
    (3, Interrupt(2, batch=0), 1),           # the last backup was in epoch 2
    (1, Interrupt(2, batch=4), 2)],          # backed up after the last batch of epoch 3
    ids=["epoch", "every-2-batches", "every-3-batches", "every-batch-at-epoch-end"])
def test_backup_and_restore_after_an_exception_in_epoch_3_of_5(tmp_path, uninterrupted, save_freq, interrupt,
                                                               resumed_at):
    x, y = data()
    backup = keras.callbacks.BackupAndRestore(tmp_path / "backup", save_freq=save_freq)
    model = make_model()
    with pytest.raises(RuntimeError, match="interrupted"):
        model.fit(x, y, epochs=5, callbacks=[backup, interrupt], **FIT)
    assert os.path.exists(tmp_path / "backup" / "latest.weights.h5")
    model = make_model(seed=9)  # a new process would start from other weights: the backup restores them
    history = model.fit(x, y, epochs=5, callbacks=[keras.callbacks.BackupAndRestore(tmp_path / "backup",
                                                                                     save_freq=save_freq)], **FIT)
    reference, logs = uninterrupted
    assert_same_weights(reference, model)
    ran = len(history.history["loss"])
    assert history.epoch == list(range(resumed_at, 5))
    for key, values in history.history.items():
        assert values == logs[key][-ran:], key  # the resumed epoch's logs too (metrics restored)
    assert not os.path.exists(tmp_path / "backup")  # delete_checkpoint=True


def test_keras_docstring_example(tmp_path):
    callback = keras.callbacks.BackupAndRestore(backup_dir=tmp_path / "backup")
    model = keras.Sequential([layers.Dense(10)])
    model.compile(keras.optimizers.SGD(), loss="mse")
    model.build(input_shape=(None, 20))
    x, y = np.arange(100, dtype=np.float32).reshape(5, 20), np.zeros((5, 10))
    with pytest.raises(RuntimeError):
        model.fit(x, y, epochs=10, batch_size=1, callbacks=[callback, Interrupt(4)], verbose=0)
    history = model.fit(x, y, epochs=10, batch_size=1, callbacks=[callback], verbose=0)
    assert len(history.history["loss"]) == 6


def test_double_checkpoint_restores_the_previous_backup(tmp_path, uninterrupted):
    x, y = data()
    backup_dir = tmp_path / "backup"
    with pytest.raises(RuntimeError):
        make_model().fit(x, y, epochs=5, callbacks=[keras.callbacks.BackupAndRestore(
            backup_dir, double_checkpoint=True, delete_checkpoint=False), Interrupt(3)], **FIT)
    assert sorted(os.listdir(backup_dir)) == ["latest.weights.h5", "latest.weights.h5.bkp"]
    (backup_dir / "latest.weights.h5").write_bytes(b"damaged")  # the disk lost the latest backup
    model = make_model(seed=9)
    with pytest.warns(UserWarning, match="latest backup cannot be read .* restoring the previous one"):
        history = model.fit(x, y, epochs=5, callbacks=[keras.callbacks.BackupAndRestore(
            backup_dir, double_checkpoint=True, delete_checkpoint=False)], **FIT)
    assert history.epoch == [2, 3, 4]  # the previous backup was taken after epoch 2
    assert_same_weights(uninterrupted[0], model)
    assert os.path.exists(backup_dir / "latest.weights.h5")  # delete_checkpoint=False


def test_backup_arguments(tmp_path):
    with pytest.raises(ValueError, match="Empty `backup_dir` argument passed"):
        keras.callbacks.BackupAndRestore("")
    with pytest.raises(ValueError, match="Invalid value for argument `save_freq`"):
        keras.callbacks.BackupAndRestore(tmp_path, save_freq="batch")
    with pytest.raises(NotImplementedError, match="save_freq=False"):
        keras.callbacks.BackupAndRestore(tmp_path, save_freq=False)
    callback = keras.callbacks.BackupAndRestore(tmp_path / "b")
    callback.set_model(keras.Sequential([layers.Dense(1)]))
    with pytest.raises(ValueError, match="your model must be built before you call `fit\\(\\)`"):
        callback.on_train_begin()
    assert not keras.callbacks.BackupAndRestore(tmp_path / "b")._needs_batch_hooks("train")  # fit stays in C++
    assert keras.callbacks.BackupAndRestore(tmp_path / "b", save_freq=3)._needs_batch_hooks("train")


TRAIN_SCRIPT = textwrap.dedent("""
    import os, signal, sys
    import numpy as np
    sys.path.insert(0, sys.argv[1])
    import test_saving_resume as t
    import fastfit as keras

    class Kill(keras.callbacks.Callback):  # SIGKILL in epoch 3, after its 3rd batch: no cleanup runs
        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch
        def on_train_batch_end(self, batch, logs=None):
            if self.epoch == 2 and batch == 2:
                os.kill(os.getpid(), signal.SIGKILL)

    model = t.make_model()
    callbacks = [keras.callbacks.BackupAndRestore(sys.argv[2], save_freq=2)] + ([Kill()] if sys.argv[3] == "kill" else [])
    model.fit(*t.data(), epochs=5, callbacks=callbacks, **t.FIT)
    np.savez(sys.argv[4], *model.get_weights())
""")


def test_backup_and_restore_after_sigkill(tmp_path, uninterrupted):
    def train(mode):
        return subprocess.run([sys.executable, "-c", TRAIN_SCRIPT, os.path.dirname(__file__), str(tmp_path / "backup"),
                               mode, str(tmp_path / "weights.npz")], capture_output=True, text=True, timeout=120,
                              env=dict(os.environ, PYTHONPATH=FASTFIT_PATH))
    killed = train("kill")
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert os.path.exists(tmp_path / "backup" / "latest.weights.h5") and not os.path.exists(tmp_path / "weights.npz")
    resumed = train("resume")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    with np.load(tmp_path / "weights.npz") as saved:
        for i, w in enumerate(uninterrupted[0].get_weights()):
            np.testing.assert_array_equal(saved[f"arr_{i}"], w)
