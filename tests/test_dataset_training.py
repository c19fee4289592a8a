"""tf.data Datasets in fit, evaluate and predict: the guide's examples on Fashion-MNIST, Keras'
semantics for passes and steps, in-memory pipelines on the C++ array source."""
import io
import contextlib
import warnings

import numpy as np
import pytest

import fastfit as tf
import fastfit as keras
from fastfit.data.dataset_adapter import DatasetArrayAdapter
from fastfit.data.queue_adapter import QueueAdapter
from fastfit.models.tracing import CompiledRunner
from helpers import runner_of
from conftest import guide_model


def compiled(seed=0):
    model = guide_model(seed)
    model.compile(keras.optimizers.RMSprop(1e-3), keras.losses.SparseCategoricalCrossentropy(),
                  metrics=[keras.metrics.SparseCategoricalAccuracy()])
    return model


def test_the_guides_dataset_example(fashion):
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = fashion
    keras.utils.set_random_seed(0)  # the shuffle's order, whatever the tests before drew
    train_dataset = tf.data.Dataset.from_tensor_slices((x_train, y_train)).shuffle(buffer_size=1024).batch(64)
    test_dataset = tf.data.Dataset.from_tensor_slices((x_test, y_test)).batch(64)
    model = compiled()
    history = model.fit(train_dataset, epochs=3, verbose=0)
    assert len(history.history["loss"]) == 3
    loss, acc = model.evaluate(test_dataset, verbose=0)
    assert acc > 0.83
    assert model.evaluate(x_test, y_test, batch_size=64, verbose=0) == pytest.approx([loss, acc], rel=1e-6)


def test_an_in_memory_pipeline_runs_on_the_array_source(small_data):
    x, y = small_data
    from fastfit.data import adapters
    std = adapters.Standardizer(True)
    for ds in (tf.data.Dataset.from_tensor_slices((x, y)).shuffle(64).batch(32).prefetch(tf.data.AUTOTUNE),
               tf.data.Dataset.from_tensor_slices((x, y)).cache().shuffle(200).batch(32, drop_remainder=True),
               tf.data.Dataset.from_tensor_slices((x, y, np.ones(200, "float32"))).batch(10).cache()):
        assert isinstance(adapters.get_adapter(ds, None, None, None, std, True, "fit"), DatasetArrayAdapter)
    general = tf.data.Dataset.from_tensor_slices((x, y)).map(lambda a, b: (a * 2.0, b)).batch(32)
    assert isinstance(adapters.get_adapter(general, None, None, None, std, True, "fit"), QueueAdapter)


@pytest.mark.parametrize("python_path", [False, True])
def test_unshuffled_dataset_equals_arrays(small_data, python_path):
    x, y = small_data
    ds = tf.data.Dataset.from_tensor_slices((x, y))
    if python_path:
        ds = ds.map(lambda a, b: (a, b))  # identity, but a Python function: iterated in Python
    h = compiled().fit(ds.batch(40), epochs=2, verbose=0).history
    assert h == compiled().fit(x, y, batch_size=40, epochs=2, shuffle=False, verbose=0).history


def test_each_epoch_restarts_the_dataset_and_reshuffles(small_data):
    x, y = small_data
    ds = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(200, seed=5).batch(50)
    from fastfit.data import adapters
    adapter = adapters.get_adapter(ds, None, None, None, adapters.Standardizer(True), True, "fit")
    seen = []
    for _ in range(3):
        adapter.start_pass()
        seen.append(list(adapter.source.order()))
    assert all(sorted(o) == list(range(200)) for o in seen)
    assert len({tuple(o) for o in seen}) == 3
    fixed = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(200, seed=5, reshuffle_each_iteration=False).batch(50)
    adapter = adapters.get_adapter(fixed, None, None, None, adapters.Standardizer(True), True, "fit")
    adapter.start_pass()
    first = list(adapter.source.order())
    adapter.start_pass()
    assert list(adapter.source.order()) == first


@pytest.mark.parametrize("python_path", [False, True])
def test_steps_per_epoch_draws_across_epochs_without_a_reset(small_data, python_path):
    x, y = small_data
    ds = tf.data.Dataset.from_tensor_slices((x, y))
    if python_path:
        ds = ds.map(lambda a, b: (a, b))
    ds = ds.batch(20)  # 10 batches
    model = compiled()
    with pytest.warns(UserWarning, match="ran out of data"):
        h = model.fit(ds, steps_per_epoch=4, epochs=5, verbose=0).history
    assert len(h["loss"]) == 3  # 4 + 4 + 2 batches, then the data is spent
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        h = compiled().fit(ds.repeat(), steps_per_epoch=4, epochs=5, verbose=0).history
    assert len(h["loss"]) == 5


def test_validation_on_a_dataset_with_validation_steps(small_data):
    x, y = small_data
    val = tf.data.Dataset.from_tensor_slices((x, y)).batch(50)
    model = compiled()
    h = model.fit(x, y, epochs=1, verbose=0, validation_data=val, validation_steps=2).history
    assert h["val_loss"][0] == pytest.approx(model.evaluate(x[:100], y[:100], batch_size=50, verbose=0)[0], rel=1e-6)
    h = model.fit(x, y, epochs=1, verbose=0, validation_data=val).history
    assert h["val_loss"][0] == pytest.approx(model.evaluate(x, y, batch_size=50, verbose=0)[0], rel=1e-6)


@pytest.mark.parametrize("python_path", [False, True])
def test_validation_split_on_a_dataset(small_data, python_path):
    x, y = small_data
    ds = tf.data.Dataset.from_tensor_slices((x, y))
    if python_path:
        ds = ds.map(lambda a, b: (a, b))
    model = compiled()
    h = model.fit(ds.batch(20), validation_split=0.2, epochs=1, verbose=0).history
    # the last fifth (rows 160-199, two batches of 20) validates
    assert h["val_loss"][0] == pytest.approx(model.evaluate(x[160:], y[160:], batch_size=20, verbose=0)[0], rel=1e-6)
    with pytest.raises(ValueError, match="known, finite cardinality"):
        compiled().fit(ds.batch(20).repeat(), steps_per_epoch=2, validation_split=0.2, verbose=0)


def test_sample_weights_as_the_third_element(small_data):
    x, y = small_data
    w = np.linspace(0, 2, len(y)).astype("float32")
    ds = tf.data.Dataset.from_tensor_slices((x, y, w)).batch(40)
    a = compiled().fit(ds, epochs=2, verbose=0).history
    b = compiled().fit(x, y, sample_weight=w, batch_size=40, epochs=2, shuffle=False, verbose=0).history
    assert a == b


def test_predict_and_evaluate_on_datasets(small_data):
    x, y = small_data
    model = compiled()
    np.testing.assert_allclose(model.predict(tf.data.Dataset.from_tensor_slices(x).batch(32), verbose=0),
                               model.predict(x, verbose=0), rtol=1e-6)
    np.testing.assert_allclose(model.predict(tf.data.Dataset.from_tensor_slices((x, y)).batch(32), verbose=0),
                               model.predict(x, verbose=0), rtol=1e-6)
    gen = tf.data.Dataset.from_generator(lambda: ((x[i:i + 25], y[i:i + 25]) for i in range(0, 200, 25)),
                                         output_signature=(tf.TensorSpec((None, 784), tf.float32),
                                                           tf.TensorSpec((None,), tf.int32)))
    assert model.evaluate(gen, verbose=0) == pytest.approx(model.evaluate(x, y, batch_size=25, verbose=0), rel=1e-6)


def test_progress_counts_steps_and_unknown(small_data):
    x, y = small_data
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(40)
    steps = []

    class Params(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            steps.append(self.params["steps"])

    compiled().fit(ds, epochs=1, verbose=0, callbacks=[Params()])
    compiled().fit((b for b in ds.repeat().as_numpy_iterator()), steps_per_epoch=3, epochs=1, verbose=0,
                   callbacks=[Params()])
    compiled().fit(iter(list(ds.as_numpy_iterator())), epochs=1, verbose=0, callbacks=[Params()])
    assert steps == [5, 3, None]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        compiled().evaluate(iter(list(ds.as_numpy_iterator())), verbose=1)
    assert out.getvalue().startswith("5/5 ")  # as Keras 3: an unknown count becomes the batches seen at the end


def test_dataset_errors(small_data):
    x, y = small_data
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(32)
    with pytest.raises(ValueError, match="`batch_size` must not be given"):
        compiled().fit(ds, batch_size=32, verbose=0)
    with pytest.raises(ValueError, match="without targets"):
        compiled().fit(tf.data.Dataset.from_tensor_slices(x).batch(32), verbose=0)
    with pytest.raises(ValueError, match=r"incompatible with the layer: expected shape=\(None, 784\)"):
        compiled().fit(tf.data.Dataset.from_tensor_slices((x[:, :700], y)).batch(32), verbose=0)
    with pytest.raises(ValueError, match="infinite Dataset needs"):
        compiled().evaluate(ds.repeat(), verbose=0)
    with pytest.raises(ValueError, match="lengths"):
        tf.data.Dataset.from_tensor_slices((x, y[:10]))


def test_a_map_of_fastfit_ops_after_batch_is_compiled_into_the_program(small_data):
    x, y = small_data
    from fastfit.data import adapters
    ds = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(64, seed=1).batch(40).map(lambda a, b: (a * 2.0, b))
    adapter = adapters.get_adapter(ds, None, None, None, adapters.Standardizer(True), True, "fit")
    assert isinstance(adapter, DatasetArrayAdapter) and adapter.preprocess is not None  # no Python per batch
    plain = tf.data.Dataset.from_tensor_slices((x, y)).batch(40)
    mapped = compiled().fit(plain.map(lambda a, b: (a * 2.0, b)), epochs=2, verbose=0).history
    assert mapped == compiled().fit(x * 2.0, y, batch_size=40, epochs=2, shuffle=False, verbose=0).history
    model = compiled()
    np.testing.assert_allclose(model.predict(plain.map(lambda a, b: (a * 2.0, b)), verbose=0),
                               model.predict(x * 2.0, verbose=0), rtol=1e-6)


def test_metrics_see_the_targets_the_map_made():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 4)).astype("float32")
    y = (x @ np.ones((4, 1), "float32")).astype("float32")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse", metrics=["mse"])
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(30).map(lambda a, b: (a, b * 10.0))
    h = model.fit(ds, epochs=2, verbose=0).history
    np.testing.assert_allclose(h["loss"], h["mse"], rtol=1e-5)  # both against y * 10
    assert isinstance(runner_of(model, "train"), CompiledRunner)


def test_a_map_outside_fastfit_ops_runs_in_python_and_the_model_stays_compiled(small_data):
    x, y = small_data
    from fastfit.data import adapters
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(40).map(lambda a, b: (np.tanh(a.numpy()), b))
    adapter = adapters.get_adapter(ds, None, None, None, adapters.Standardizer(True), True, "fit")
    assert isinstance(adapter, QueueAdapter)
    model = compiled()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no fallback warning: only the map runs in Python
        h = model.fit(ds, epochs=2, verbose=0).history
    assert isinstance(runner_of(model, "train"), CompiledRunner)
    assert h == compiled().fit(np.tanh(x), y, batch_size=40, epochs=2, shuffle=False, verbose=0).history


def test_inputs_and_targets_keyed_by_name(small_data):
    x, y = small_data
    a = compiled().fit({"digits": x}, {"predictions": y}, batch_size=40, epochs=2, shuffle=False, verbose=0).history
    b = compiled().fit(x, y, batch_size=40, epochs=2, shuffle=False, verbose=0).history
    assert a == b
    ds = tf.data.Dataset.from_tensor_slices(({"digits": x}, y)).batch(40)
    assert compiled().fit(ds, epochs=2, verbose=0).history == b
    with pytest.raises(ValueError, match=r"keys \['image'\], but the model's inputs are named \['digits'\]"):
        compiled().fit({"image": x}, y, verbose=0)
