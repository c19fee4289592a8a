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


def test_two_threads_match_one(small_data, threads):
    x, y = small_data
    m1, h1 = fit_history(x, y, 1)
    m2, h2 = fit_history(x, y, 2)
    assert next(iter(m2._programs.values())).program.splits(2)
    for k in h1:
        np.testing.assert_allclose(h1[k], h2[k], rtol=1e-5, err_msg=k)
    for a, b in zip(m1.get_weights(), m2.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(m1.predict(x, verbose=0), m2.predict(x, verbose=0), rtol=1e-4, atol=1e-6)


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
    program = next(iter(model._programs.values())).program
    assert not program.splits(2) and not program.splits(0)
    np.testing.assert_allclose(model.predict(x[:64], batch_size=64, verbose=0), model(x[:64]).numpy(), rtol=1e-5,
                               atol=1e-6)


def test_errors_in_the_second_thread_reach_python(small_data, threads):
    _core.set_num_threads(2)
    x, y = small_data
    model = guide_model()
    model.compile("sgd", "sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=64, epochs=1, verbose=0)
    program = next(iter(model._programs.values())).program
    bad = y.astype(np.int32)
    bad[63] = 12  # in the second half of the first batch: the worker thread's rows
    feed = _core.DataFeed([_core.Tensor.view(x), _core.Tensor.view(bad)], 64)
    feed.start_epoch(False, 0)
    with pytest.raises(ValueError, match=r"labels must be in \[0, 10\), got 12"):
        program.train(feed, 1)


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


# Not large products with A transposed: with several threads they go to OpenBLAS instead of our kernel
# (kernels/cpu/gemm.cpp), which rounds differently.
@pytest.mark.parametrize("name,attrs,shapes", [
    ("matmul", {}, [(4096, 256), (256, 64)]),                     # our kernel, rows split with a helper
    ("matmul", {"transpose_b": True}, [(512, 512), (512, 512)]),  # OpenBLAS
    ("dense", {"activation": "relu"}, [(3000, 200), (200, 100), (100,)]),
])
def test_products_with_one_thread_equal_the_default(name, attrs, shapes):
    rng = np.random.default_rng(0)
    inputs = [_core.Tensor(rng.standard_normal(s).astype(np.float32)) for s in shapes]
    op = _core.Op(name, **attrs)
    one = op.forward(inputs, threads=1).numpy()
    np.testing.assert_array_equal(op.forward(inputs, threads=max(2, _core.get_num_threads())).numpy(), one)
    np.testing.assert_array_equal(op.forward(inputs, threads=1).numpy(), one)


def test_eager_products_beside_a_split_fit_give_the_serial_results(small_data, threads):
    """fit's replicas ask OpenBLAS for one thread while eager products on another Python thread ask for
    two: each call runs with the count it asked for, and every result equals the serial one."""
    import threading
    _core.set_num_threads(2)
    x, y = np.tile(small_data[0], (40, 1)), np.tile(small_data[1], 40)  # long enough to overlap
    a = keras.constant(np.random.default_rng(1).standard_normal((512, 512)).astype(np.float32))
    expected_product = keras.matmul(a, a, transpose_b=True).numpy()
    _, expected = fit_history(x, y, 2)
    got, products = {}, []
    trainer = threading.Thread(target=lambda: got.update(history=fit_history(x, y, 2)[1]))
    trainer.start()
    while trainer.is_alive() or not products:
        products.append(keras.matmul(a, a, transpose_b=True).numpy())
    trainer.join()
    for p in products:
        np.testing.assert_array_equal(p, expected_product)
    for k in expected:
        np.testing.assert_allclose(got["history"][k], expected[k], rtol=1e-6, err_msg=k)
