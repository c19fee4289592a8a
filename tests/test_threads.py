"""Batches split across two threads give the unsplit results; ops that mix rows keep one thread."""
import numpy as np
import pytest

import fastfit as keras
from fastfit import _core, layers
from conftest import guide_model


@pytest.fixture
def threads():
    before = _core.get_num_threads()
    yield
    _core.set_num_threads(before)


def fit_history(x, y, n_threads):
    _core.set_num_threads(n_threads)
    model = guide_model(seed=5)
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    h = model.fit(x, y, batch_size=64, epochs=2, validation_split=0.25, shuffle=False, verbose=0).history
    return model, h


def program(model, mode):
    return next(r.program for (m, _), r in model._programs.items() if m == mode)


def test_two_threads_match_one_bit_for_bit(small_data, threads):
    """Each batch is split the same way whatever the thread count, and reduced in a fixed order."""
    x, y = small_data
    m1, h1 = fit_history(x, y, 1)
    m2, h2 = fit_history(x, y, 2)
    assert program(m2, "train").splits("train")
    assert h1 == h2
    for a, b in zip(m1.get_weights(), m2.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(m1.predict(x, verbose=0), m2.predict(x, verbose=0))


class CenterOverBatch(layers.Layer):
    """Subtracts the batch mean: each row depends on every row, so batches must not be split."""

    def call(self, x):
        return x - keras.reduce_mean(x, axis=0, keepdims=True)


def test_row_mixing_model_is_not_split(small_data, threads):
    _core.set_num_threads(2)
    x, y = small_data
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(shape=(784,)), layers.Dense(16, activation="relu"), CenterOverBatch(),
                              layers.Dense(10, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=64, epochs=1, verbose=0)
    assert not program(model, "train").splits("train")
    model.predict(x, verbose=0)
    assert not program(model, "predict").splits("predict")
    np.testing.assert_allclose(model.predict(x[:64], batch_size=64, verbose=0), model(x[:64]).numpy(), rtol=1e-5,
                               atol=1e-6)


def test_errors_in_the_second_thread_reach_python(small_data, threads):
    _core.set_num_threads(2)
    x, y = small_data
    model = guide_model()
    model.compile("sgd", "sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=64, epochs=1, verbose=0)
    bad = y.astype(np.int32)
    bad[63] = 12  # in the second half of the first batch: the worker thread's rows
    source = _core.ArraySource([_core.Tensor.view(x), _core.Tensor.view(bad)], 64)
    states = [_core.MetricState()]
    with pytest.raises(ValueError, match=r"labels must be in \[0, 10\), got 12"):
        program(model, "train").run("train", source, 1, states, [])


def test_set_num_threads_rejects_zero():
    with pytest.raises(ValueError, match="positive number of threads"):
        _core.set_num_threads(0)


def test_tf_config_threading(threads):
    keras.config.threading.set_intra_op_parallelism_threads(1)
    assert keras.config.threading.get_intra_op_parallelism_threads() == 1
    with pytest.raises(ValueError, match="num_threads"):
        keras.config.threading.set_intra_op_parallelism_threads(-2)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # Python 3.12+ warns on fork with threads
def test_forked_child_can_still_predict(small_data, threads):
    import os
    _core.set_num_threads(2)
    x, _ = small_data
    model = guide_model()
    expected = model.predict(x, batch_size=64, verbose=0)  # starts the worker thread in this process
    pid = os.fork()
    if pid == 0:  # child: the parent's worker thread does not exist here
        ok = False
        try:
            ok = np.allclose(model.predict(x, batch_size=64, verbose=0), expected, rtol=1e-5, atol=1e-7)
        finally:
            os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0
