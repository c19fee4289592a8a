"""Batches split across two threads give the unsplit results; ops that mix rows keep one thread."""
import numpy as np
import pytest

import fastfit as keras
from fastfit import _core, layers
from helpers import runner_of
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
    return runner_of(model, mode).program


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


def run_threads(fns, repeats=5):
    """Runs each fn `repeats` times, all threads started together; returns the results per fn."""
    import threading
    barrier = threading.Barrier(len(fns))
    results = [[] for _ in fns]
    errors = []

    def work(i):
        try:
            barrier.wait()
            for _ in range(repeats):
                results[i].append(fns[i]())
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)
    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(fns))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    assert not errors, errors
    return results


@pytest.mark.parametrize("n_threads", [1, 2])
def test_concurrent_predict_evaluate_and_call_give_the_serial_results(small_data, threads, n_threads):
    _core.set_num_threads(n_threads)
    x, y = small_data
    model = guide_model()
    model.compile("rmsprop", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=1, verbose=0)
    want_predict = model.predict(x, batch_size=64, verbose=0)
    want_eval = model.evaluate(x, y, batch_size=50, verbose=0)
    want_call = model(x[:40]).numpy()
    fresh = guide_model(seed=9)  # never called: the threads race to build and trace it
    fresh.set_weights(model.get_weights())
    fresh.compile("rmsprop", "sparse_categorical_crossentropy", metrics=["accuracy"])
    fns = [lambda: fresh.predict(x, batch_size=64, verbose=0)] * 4 + \
          [lambda: fresh.evaluate(x, y, batch_size=50, verbose=0)] * 2 + [lambda: fresh(x[:40]).numpy()] * 2
    results = run_threads(fns)
    for r in results[:4]:
        for got in r:
            np.testing.assert_array_equal(got, want_predict)
    for r in results[4:6]:
        for got in r:
            assert got == want_eval
    for r in results[6:]:
        for got in r:
            np.testing.assert_array_equal(got, want_call)


def small_cnn(seed):
    """The first conv on the direct kernels (16 filters over one channel), the second on Winograd (16
    channels in and out), both fused with their pooling in the compiled programs."""
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input(shape=(14, 14, 1)), layers.Conv2D(16, 3, activation="relu"),
                             layers.MaxPooling2D(), layers.Conv2D(16, 3, activation="relu", padding="same"),
                             layers.MaxPooling2D(), layers.Flatten(), layers.Dense(10, activation="softmax")])


@pytest.mark.parametrize("n_threads", [1, 2])
def test_concurrent_calls_of_a_cnn_give_the_serial_results(threads, n_threads):
    _core.set_num_threads(n_threads)
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(96, 14, 14, 1)).astype("float32"), rng.integers(0, 10, 96)
    model = small_cnn(1)
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    want = (model.predict(x, batch_size=32, verbose=0), model.evaluate(x, y, batch_size=32, verbose=0),
            model(x[:20]).numpy())
    fns = [lambda: model.predict(x, batch_size=32, verbose=0)] * 2 + \
          [lambda: model.evaluate(x, y, batch_size=32, verbose=0), lambda: model(x[:20]).numpy()]
    results = run_threads(fns, repeats=3)
    for r, expected in zip(results, [want[0], want[0], want[1], want[2]]):
        for got in r:
            np.testing.assert_array_equal(got, expected)


def test_a_second_fit_on_a_training_model_raises(small_data):
    import threading
    x, y = small_data
    model = guide_model()
    model.compile("sgd", "sparse_categorical_crossentropy")
    started, release = threading.Event(), threading.Event()

    class Hold(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            started.set()
            release.wait(30)

    t = threading.Thread(target=lambda: model.fit(x, y, epochs=1, verbose=0, callbacks=[Hold()]))
    t.start()
    started.wait(30)
    try:
        with pytest.raises(RuntimeError, match="already training"):
            model.fit(x, y, epochs=1, verbose=0)
        with pytest.raises(RuntimeError, match="already training"):
            model.train_on_batch(x[:32], y[:32])
    finally:
        release.set()
        t.join(60)
    model.fit(x, y, epochs=1, verbose=0)  # free again once it returned


def test_fit_inside_a_callback_of_fit_raises(small_data):
    x, y = small_data
    model = guide_model()
    model.compile("sgd", "sparse_categorical_crossentropy")

    class Nested(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            model.fit(x, y, epochs=1, verbose=0)

    with pytest.raises(RuntimeError, match="already training"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[Nested()])


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
        assert got["history"][k] == expected[k], k
