"""A process killed with SIGKILL at random moments while it saves (model.save, save_weights, and
ModelCheckpoint during fit) always leaves the old file or a new one in place, complete and loadable.

The writer is a forked child (fastfit already imported, so each kill costs milliseconds) that saves
in a loop; the parent kills it after a random delay and loads what is on disk. Temporary files left
beside the target show that kills landed in the middle of writes."""
import contextlib
import os
import random
import signal
import time
import warnings

import numpy as np
import pytest

import fastfit as keras
from fastfit import layers

pytest.importorskip("h5py")
pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")


def _model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(shape=(64,)), layers.Dense(256, activation="relu"), layers.Dropout(0.2),
                              layers.Dense(256), layers.Dense(4)])  # about 0.3 MB of weights per file
    model.compile(keras.optimizers.Adam(), "mse")
    return model


@contextlib.contextmanager
def _child(work):
    """Runs work() in a forked child; on leaving, kills it with SIGKILL (never letting it clean up)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork in a process with threads
        pid = os.fork()
    if pid == 0:
        try:
            work()
        finally:
            os._exit(0)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)


def _leftovers(folder, name):
    """Removes the temporary files a killed write left; returns how many there were."""
    found = [f for f in os.listdir(folder) if f.startswith(f".{name}.tmp-")]
    for f in found:
        os.remove(os.path.join(folder, f))
    return len(found)


@pytest.mark.parametrize("name", ["m.keras", "m.weights.h5"])
def test_kill_during_save_leaves_the_old_or_a_new_file(tmp_path, name):
    model = _model()
    path = tmp_path / name
    save = model.save_weights if name.endswith(".weights.h5") else model.save
    save(path)
    original = model.get_weights()

    def save_generations():  # generation k: every weight equal to k
        for k in range(1, 1 << 30):
            for w in model.weights:
                w.assign(np.full(w.shape, float(k), np.float32))
            save(path)
    rng, mid_write = random.Random(name), 0
    for _ in range(12):
        with _child(save_generations):
            time.sleep(rng.uniform(0.01, 0.15))
        mid_write += _leftovers(tmp_path, name)
        if name.endswith(".keras"):
            loaded = keras.models.load_model(path)
        else:
            loaded = _model()
            loaded.load_weights(path)
        weights = loaded.get_weights()
        if not all(np.array_equal(a, b) for a, b in zip(weights, original)):
            generations = {float(v) for w in weights for v in np.unique(w)}
            assert len(generations) == 1, "a file mixing two saves"
    assert mid_write >= 1, "no kill landed inside a write: the test did not test the crash window"


def test_kill_during_model_checkpoint_leaves_a_loadable_file(tmp_path):
    model = _model()
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 64)).astype(np.float32), rng.normal(size=(64, 4)).astype(np.float32)
    model.fit(x, y, batch_size=16, verbose=0)  # compiled and checked once, in the parent
    path = tmp_path / "ckpt.keras"
    checkpoint = keras.callbacks.ModelCheckpoint(path, save_freq=1, monitor="loss")

    def train():
        model.fit(x, y, batch_size=16, epochs=10 ** 6, verbose=0, callbacks=[checkpoint])
    timing, mid_write, iterations = random.Random(1), 0, set()
    for _ in range(10):
        with _child(train):
            time.sleep(timing.uniform(0.05, 0.3))
        mid_write += _leftovers(tmp_path, "ckpt.keras")
        if path.exists():
            loaded = keras.models.load_model(path)
            assert np.isfinite(loaded.predict(x, verbose=0)).all()
            iterations.add(int(loaded.optimizer.iterations))
    assert len(iterations) >= 2  # the file was replaced by later checkpoints
    assert mid_write >= 1, "no kill landed inside a write: the test did not test the crash window"
