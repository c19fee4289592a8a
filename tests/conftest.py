import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))

import fastfit as keras  # noqa: E402
from fastfit import layers  # noqa: E402


def guide_model(seed=0):
    """The guide's functional MLP: 784 -> 64 relu -> 64 relu -> 10 softmax."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape=(784,), name="digits")
    x = layers.Dense(64, activation="relu", name="dense_1")(inputs)
    x = layers.Dense(64, activation="relu", name="dense_2")(x)
    outputs = layers.Dense(10, activation="softmax", name="predictions")(x)
    return keras.Model(inputs=inputs, outputs=outputs)


@pytest.fixture(scope="session")
def fashion():
    """Fashion-MNIST as the guide prepares it: 50k train, 10k validation, 10k test."""
    (x_train, y_train), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()
    x_train = x_train.reshape(60000, 784).astype("float32") / 255
    x_test = x_test.reshape(10000, 784).astype("float32") / 255
    return (x_train[:-10000], y_train[:-10000]), (x_train[-10000:], y_train[-10000:]), (x_test, y_test)


@pytest.fixture
def small_data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 784)).astype("float32")
    y = (np.abs(x[:, :10]).argmax(1)).astype("uint8")  # learnable labels
    return x, y


@pytest.fixture
def gpu():
    """The GPU: the real one when fastfit runs on one, else the emulated one (host memory, the CPU
    kernels), so the device paths run on any machine; numbers must then equal the CPU's."""
    from fastfit import _core
    if keras.cuda.is_available():
        yield "GPU"
        return
    _core._emulate_gpu(True)
    try:
        yield "GPU"
    finally:
        _core._emulate_gpu(False)


def real_gpu():
    """Whether the GPU fixture is a real GPU (its matrix products round differently from the CPU's)."""
    from fastfit import _core
    return _core.cuda_backend() == "cuda"


@pytest.fixture(autouse=True)
def _on_the_cpu_unless_asked(request):
    """On a machine with a GPU, fit and friends would run there by default; the tests that check the
    CPU's numbers (Keras parity, bit-exact replays) keep them on the CPU. Tests of the GPU ask for the
    `gpu` or `device` fixture."""
    if "gpu" in request.fixturenames or not keras.cuda.is_available():
        yield
        return
    with keras.device("CPU"):
        yield


DEVICES = ["CPU"] + (["GPU"] if keras.cuda.is_available() else [])


@pytest.fixture(params=DEVICES)
def device(request):
    """Each device fastfit runs on here: the op tests run once per device (use it with
    `pytestmark = pytest.mark.usefixtures("device")`)."""
    with keras.device(request.param):
        yield request.param


@pytest.fixture(scope="session")
def keras_callback_reference(tmp_path_factory):
    """Keras 3's results for the callback, TensorBoard and summary tests, from one subprocess (see
    callback_cases.py): (its JSON, the folder of the files it wrote). Its tests carry `needs_tensorflow`."""
    workdir = tmp_path_factory.mktemp("keras_reference")
    script = os.path.join(os.path.dirname(__file__), "callback_cases.py")
    out = subprocess.run([sys.executable, script, str(workdir)], check=True, capture_output=True, text=True,
                         env=dict(os.environ, COLUMNS="250"))  # summary: rich's console fits the table in it
    return json.loads(out.stdout.strip().splitlines()[-1]), workdir


# Parity tests against Keras 3 run where tensorflow is installed (the `parity` extra), as the README says.
needs_tensorflow = pytest.mark.skipif(importlib.util.find_spec("tensorflow") is None,
                                      reason="tensorflow is not installed")
