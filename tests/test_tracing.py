"""Sound tracing: a compiled program is used only when it computes what the eager model computes;
otherwise the call runs eagerly with one warning that says why. Each case a user writes, and
variants of it."""
import warnings

import numpy as np
import pytest

import fastfit as tf
import fastfit as keras
from helpers import runner_of
from fastfit import layers
from fastfit.models.tracing import CompiledRunner, EagerRunner


def runner(model, mode):
    return runner_of(model, mode)


def regression_data(n=256, d=8, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)).astype("float32")
    y = (x @ rng.normal(size=(d, 1)) + 0.1 * rng.normal(size=(n, 1))).astype("float32")
    return x, y


def small_model(d=8, out=1, seed=0, extra=()):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input(shape=(d,)), layers.Dense(16, activation="tanh"), *extra, layers.Dense(out)])


def batched_mean(fn, x, y, batch_size):
    """Keras' evaluate loss: per-batch values averaged with the batch sizes as weights."""
    total = 0.0
    for i in range(0, len(x), batch_size):
        total += float(fn(y[i:i + batch_size], x[i:i + batch_size])) * len(x[i:i + batch_size])
    return total / len(x)


# -- 1. a loss that reads the batch size from a shape ------------------------------------------

@pytest.mark.parametrize("batch_size", [64, 50, 7 * 16])
@pytest.mark.parametrize("read", ["shape", "len", "int"])
def test_loss_reading_the_batch_size_from_a_shape(batch_size, read):
    def per_batch_size(y_true):
        return {"shape": y_true.shape[0], "len": len(y_true), "int": int(y_true.shape[0])}[read]

    def loss(y_true, y_pred):
        return tf.reduce_sum(tf.square(y_pred - y_true)) / per_batch_size(y_true)

    x, y = regression_data()
    model = small_model()
    model.compile("sgd", loss=loss)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # carried symbolically: no fallback
        got = model.evaluate(x, y, batch_size=batch_size, verbose=0)
    assert isinstance(runner(model, "test"), CompiledRunner)
    want = batched_mean(lambda yt, xb: loss(tf.constant(yt), model(xb)), x, y, batch_size)
    assert got == pytest.approx(want, rel=1e-5)
    # the batch size filled in per batch, including the last partial batch; a sum over the batch
    # divided by its size is a mean: the batch still splits between the cores, each shard dividing by
    # its own row count
    h = model.fit(x, y, batch_size=batch_size, epochs=2, shuffle=False, verbose=0).history
    assert np.isfinite(h["loss"]).all()
    assert isinstance(runner(model, "train"), CompiledRunner)
    assert runner(model, "train").program.splits("train")


def test_other_uses_of_the_batch_size_keep_the_batch_whole():
    class TimesBatchSize(layers.Layer):
        def call(self, x):
            return x * float(x.shape[0])

    x, y = regression_data()
    model = small_model(extra=(TimesBatchSize(),))
    model.compile("sgd", loss="mse")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = model.predict(x, batch_size=64, verbose=0)
        loss = model.evaluate(x, y, batch_size=64, verbose=0)
    assert not runner(model, "predict").program.splits("predict")
    assert not runner(model, "test").program.splits("test")
    np.testing.assert_allclose(out[:64], model(x[:64]).numpy(), rtol=1e-5)
    want = batched_mean(lambda yt, xb: tf.reduce_mean(tf.square(model(xb) - yt)), x, y, 64)
    assert loss == pytest.approx(want, rel=1e-5)


def test_fit_with_a_batch_size_loss_matches_eager_training():
    def loss(y_true, y_pred):
        return tf.reduce_sum(tf.square(y_pred - y_true)) / y_true.shape[0]

    x, y = regression_data(n=100)
    compiled, eager = small_model(seed=3), small_model(seed=3)
    compiled.compile(keras.optimizers.SGD(0.01), loss=loss)
    eager.compile(keras.optimizers.SGD(0.01), loss=loss, run_eagerly=True)
    hc = compiled.fit(x, y, batch_size=32, epochs=3, shuffle=False, verbose=0).history
    he = eager.fit(x, y, batch_size=32, epochs=3, shuffle=False, verbose=0).history
    np.testing.assert_allclose(hc["loss"], he["loss"], rtol=1e-5)
    for a, b in zip(compiled.get_weights(), eager.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_a_constant_derived_from_the_batch_size_falls_back():
    def loss(y_true, y_pred):  # 1/n is no batch size: it cannot be carried, so the trace is refused
        return tf.reduce_sum(tf.square(y_pred - y_true)) * (1.0 / y_true.shape[0])

    x, y = regression_data()
    model = small_model()
    model.compile("sgd", loss=loss)
    with pytest.warns(UserWarning, match="constant that changes with the data or the batch size"):
        got = model.evaluate(x, y, batch_size=64, verbose=0)
    assert isinstance(runner(model, "test"), EagerRunner)
    want = batched_mean(lambda yt, xb: loss(tf.constant(yt), model(xb)), x, y, 64)
    assert got == pytest.approx(want, rel=1e-5)


# -- 2. a small first call, and a layer computing through numpy ---------------------------------

class CenterWithNumpy(layers.Layer):
    def call(self, x):
        return x - tf.constant(x.numpy().mean(0))


@pytest.mark.parametrize("first_rows", [1, 5, 8])
def test_a_small_first_call_is_checked_again_on_a_larger_one(first_rows):
    x, _ = regression_data()
    model = small_model(extra=[CenterWithNumpy()])
    small = model.predict(x[:first_rows], verbose=0)  # too few rows to check a trace: eager, nothing cached
    np.testing.assert_allclose(small, model(x[:first_rows]).numpy(), rtol=1e-5, atol=1e-6)
    assert not model._programs
    with pytest.warns(UserWarning, match=r"converted to a Python or NumPy value \(numpy\(\)\) at test_tracing.py"):
        got = model.predict(x[:64], batch_size=64, verbose=0)
    np.testing.assert_allclose(got, model(x[:64]).numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("convert", ["numpy", "asarray", "float", "int", "bool", "fancy_index", "print"])
def test_every_conversion_to_python_taints_the_trace(convert, capsys):
    class Convert(layers.Layer):
        def call(self, x):
            m = tf.reduce_mean(x)
            if convert == "numpy":
                scale = m.numpy()
            elif convert == "asarray":
                scale = np.asarray(m)
            elif convert == "float":
                scale = float(m)
            elif convert == "int":
                scale = int(m * 100.0)
            elif convert == "bool":
                scale = 2.0 if m > 0 else 0.5
            elif convert == "fancy_index":
                scale = x[[0], 0]
            else:
                print(m)
                scale = 1.0
            return x * scale

    x, _ = regression_data()
    model = small_model(extra=[Convert()])
    with pytest.warns(UserWarning, match="converted to a Python or NumPy value"):
        got = model.predict(x, batch_size=32, verbose=0)
    want = np.concatenate([model(x[i:i + 32]).numpy() for i in range(0, len(x), 32)])
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_basic_indexing_is_traced():
    class FirstRow(layers.Layer):
        def call(self, x):
            return x * x[0, 0] + x[:, 1:2] - x[..., -1:]  # row 0 scales every row: not split

    x, y = regression_data()
    model = small_model(extra=[FirstRow()])
    model.compile("sgd", "mse")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = model.predict(x, batch_size=32, verbose=0)
        want = np.concatenate([model(x[i:i + 32]).numpy() for i in range(0, len(x), 32)])
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
        model.fit(x, y, batch_size=32, epochs=1, verbose=0)
    assert isinstance(runner(model, "predict"), CompiledRunner) and isinstance(runner(model, "train"), CompiledRunner)


def test_reading_a_variable_as_numpy_taints_the_trace():
    class Frozen(layers.Layer):
        def build(self, shape):
            self.w = self.add_weight((shape[-1],), "ones")

        def call(self, x):
            return x * tf.constant(self.w.numpy())  # would freeze the weight's value

    x, y = regression_data()
    model = small_model(extra=[Frozen()])
    model.compile("sgd", "mse")
    with pytest.warns(UserWarning, match="a variable was converted"):
        model.fit(x, y, epochs=1, verbose=0)


# -- 3. a Python branch on data -----------------------------------------------------------------

class BranchOnData(layers.Layer):
    def call(self, x):
        return x * 2 if float(tf.reduce_mean(x)) > 0 else x * 0


def test_a_python_branch_on_data_runs_eagerly():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(64 * 4, 8)).astype("float32")
    x[64:128] += 5  # the batches take different branches
    x[128:192] -= 5
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(shape=(8,)), BranchOnData(), layers.Dense(3)])
    with pytest.warns(UserWarning, match=r"float\(\)"):
        got = model.predict(x, batch_size=64, verbose=0)
    want = np.concatenate([model(x[i:i + 64]).numpy() for i in range(0, len(x), 64)])
    np.testing.assert_array_equal(got, want)


def test_a_python_loop_over_rows_is_refused():
    class PerRow(layers.Layer):
        def call(self, x):
            total = x * 0.0
            for _ in range(x.shape[0]):  # the op count depends on the batch size
                total = total + x
            return total

    x, _ = regression_data(n=64)
    model = small_model(extra=[PerRow()])
    with pytest.warns(UserWarning, match=r"ops on \d+ rows but \d+ ops"):
        got = model.predict(x, batch_size=16, verbose=0)
    want = np.concatenate([model(x[i:i + 16]).numpy() for i in range(0, 64, 16)])
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_the_check_on_unseen_rows_catches_what_traces_agree_on():
    """Both traces and the unseen rows are checked: a layer keyed on a row's value that the two
    traces happen not to distinguish still cannot slip through on rows it never saw."""
    class Cached(layers.Layer):
        cache = None

        def call(self, x):
            if Cached.cache is None:  # computed once from the first rows ever seen, then reused
                Cached.cache = tf.constant(np.float32(7.0))
            return x * Cached.cache

    x, _ = regression_data()
    model = small_model(extra=[Cached()])
    got = model.predict(x, batch_size=32, verbose=0)  # a constant reused across calls is fine
    np.testing.assert_allclose(got, model(x).numpy(), rtol=1e-5, atol=1e-6)
    assert isinstance(runner(model, "predict"), CompiledRunner)


# -- training mode -------------------------------------------------------------------------------

class TrainingProbe(layers.Layer):
    """Doubles its input in training, passes it in inference; records what it was called with."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.seen = []

    def call(self, x, training=None):
        self.seen.append(training)
        return x * 2.0 if training else x


def test_model_call_takes_training_and_nested_layers_inherit_it():
    probe = TrainingProbe()

    class Inner(keras.Model):
        def __init__(self):
            super().__init__()
            self.probe = probe

        def call(self, x):  # takes no `training`: its layers still inherit the outer value
            return self.probe(x)

    inner = Inner()
    outer = keras.Sequential([keras.Input(shape=(3,)), inner])
    probe.seen.clear()  # building ran it once, in inference, to learn its output shape
    x = np.ones((2, 3), "float32")
    np.testing.assert_array_equal(outer(x, training=True).numpy(), 2 * x)
    np.testing.assert_array_equal(outer(x, training=False).numpy(), x)
    np.testing.assert_array_equal(outer(x).numpy(), x)
    np.testing.assert_array_equal(probe(x, training=True).numpy(), 2 * x)
    assert probe.seen == [True, False, None, True]


def test_call_default_for_training_is_used():
    class DefaultsToTraining(layers.Layer):
        def call(self, x, training=True):
            return x * 3.0 if training else x

    x = np.ones((2, 3), "float32")
    layer = DefaultsToTraining()
    np.testing.assert_array_equal(layer(x).numpy(), 3 * x)
    np.testing.assert_array_equal(layer(x, training=False).numpy(), x)


def test_fit_traces_in_training_evaluate_and_predict_in_inference():
    x, y = regression_data()
    model = small_model(extra=[TrainingProbe()])
    model.compile(keras.optimizers.SGD(0.0), "mse")  # no update: the losses differ only by the mode
    h = model.fit(x, y, batch_size=32, epochs=1, shuffle=False, validation_data=(x, y), verbose=0).history
    train_loss = float(tf.reduce_mean(tf.square(model(x, training=True) - y)))
    test_loss = float(tf.reduce_mean(tf.square(model(x) - y)))
    assert h["loss"][0] == pytest.approx(train_loss, rel=1e-5)
    assert h["val_loss"][0] == pytest.approx(test_loss, rel=1e-5)
    assert model.evaluate(x, y, verbose=0) == pytest.approx(test_loss, rel=1e-5)
    np.testing.assert_allclose(model.predict(x, verbose=0), model(x).numpy(), rtol=1e-5)
    assert {key[0] for key in model._programs} == {"train", "test", "predict"}
    assert all(isinstance(r, CompiledRunner) for r in model._programs.values())
