"""GradientTape semantics beyond the model: watching, persistence, unconnected sources, seeds."""
import gc
import resource

import numpy as np
import pytest

import fastfit as tf
from conftest import guide_model


def test_watch_constants_and_persistent_tapes():
    x = tf.constant([1.0, 2.0])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = tf.reduce_sum(x * x)
        z = tf.reduce_sum(tf.exp(x))
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), [2.0, 4.0])
    np.testing.assert_allclose(tape.gradient(z, x).numpy(), np.exp([1.0, 2.0]), rtol=1e-6)


def test_unconnected_sources_give_none_and_lists_keep_structure():
    a, b = tf.Variable([1.0]), tf.Variable([2.0])
    with tf.GradientTape() as tape:
        y = a * 3.0
    ga, gb = tape.gradient(y, [a, b])
    assert gb is None and float(ga) == 3.0


def test_watch_accessed_variables_false():
    v = tf.Variable([1.0])
    with tf.GradientTape(watch_accessed_variables=False) as tape:
        y = v * 2.0
    assert tape.gradient(y, v) is None


def test_output_gradients_seed():
    v = tf.Variable([1.0, 2.0])
    with tf.GradientTape() as tape:
        y = v * 3.0
    np.testing.assert_allclose(tape.gradient(y, v, output_gradients=[1.0, 10.0]).numpy(), [3.0, 30.0])


def test_gradient_argument_errors():
    v = tf.Variable([1.0])
    with tf.GradientTape() as tape:
        y = v * 2.0
    with pytest.raises(TypeError, match="`sources`"):
        tape.gradient(y, [np.ones(1)])


def test_repeated_fit_and_predict_keep_memory_flat(small_data):
    """The trace cache and C++ buffers are reused: repeated calls do not grow memory."""
    x, y = small_data
    model = guide_model()
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    for _ in range(5):
        model.fit(x, y, epochs=1, verbose=0)
        model.predict(x, verbose=0)
    gc.collect()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for _ in range(100):
        model.fit(x, y, epochs=1, verbose=0)
        model.predict(x, verbose=0)
        model.evaluate(x, y, verbose=0)
    gc.collect()
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 20, f"peak memory grew by {grown_mb:.1f} MB over 100 fit/predict/evaluate calls"
