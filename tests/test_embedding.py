"""Embedding and the gather op: lookups against NumPy, the table's gradient against finite differences,
ids out of range, int32 Inputs through the functional model and fit."""
import numpy as np
import pytest

import fastfit as keras
import fastfit as tf
from fastfit import layers
from fastfit.data.arrays import Standardizer
from fastfit.models.tracing import CompiledRunner
from helpers import check_op, rand, runner_of


@pytest.mark.parametrize("table,ids", [((5, 3), (4,)), ((1, 1), (1, 1)), ((7, 2, 3), (2, 5)), ((11, 4), ()),
                                       ((3, 6), (2, 3, 2))])
@pytest.mark.usefixtures("device")  # on each device (conftest.py)
def test_gather(table, ids):
    rng = np.random.default_rng(len(ids))
    index = rng.integers(0, table[0], ids).astype(np.int32)  # repeated ids: their gradients add up
    check_op(lambda p, i: tf.gather(p, i), lambda p, i: p[i], [rand(rng, *table), index])


def test_gather_takes_float_ids_as_keras_casts_them():
    params = rand(np.random.default_rng(1), 6, 2)
    np.testing.assert_array_equal(tf.gather(params, np.array([[3.0, 0.0]], np.float32)).numpy(), params[[[3, 0]]])


@pytest.mark.parametrize("bad", [-1, 5, 1000])
def test_ids_out_of_range_raise(bad):
    ids = np.array([[0, 1, 2], [3, bad, 4]], np.int32)
    with pytest.raises(ValueError, match=rf"gather: indices\[1,1\] = {bad} is not in \[0, 5\)"):
        tf.gather(np.zeros((5, 2), np.float32), ids)
    with pytest.raises(ValueError, match=rf"indices\[1,1\] = {bad} is not in \[0, 5\)"):
        layers.Embedding(5, 2)(ids)


def test_gather_arguments():
    with pytest.raises(NotImplementedError, match="axis=1"):
        tf.gather(np.zeros((5, 2), np.float32), [1], axis=1)
    with pytest.raises(ValueError, match="gather: `params` must have rank >= 1"):
        tf.gather(np.float32(1), [0])


def test_embedding_layer():
    keras.utils.set_random_seed(0)
    layer = layers.Embedding(10, 4, name="emb")
    ids = np.array([[1, 2, 3], [9, 0, 1]])  # int64: taken as int32 ids
    out = layer(ids)
    (table,) = layer.get_weights()
    assert table.shape == (10, 4) and np.abs(table).max() <= 0.05  # Keras' "uniform": [-0.05, 0.05]
    assert [w.path for w in layer.weights] == ["emb/embeddings"]
    np.testing.assert_array_equal(out.numpy(), table[ids])
    assert layer.compute_output_shape((None, 3)) == (None, 3, 4)
    config = layer.get_config()
    assert {k: config[k] for k in ("name", "trainable", "input_dim", "output_dim", "mask_zero")} == {
        "name": "emb", "trainable": True, "input_dim": 10, "output_dim": 4, "mask_zero": False}
    given = np.arange(8, dtype=np.float32).reshape(4, 2)
    np.testing.assert_array_equal(layers.Embedding(4, 2, weights=[given]).get_weights()[0], given)
    np.testing.assert_array_equal(layers.Embedding(4, 2, embeddings_initializer="ones")(np.array([0])).numpy(),
                                  np.ones((1, 2)))


@pytest.mark.parametrize("kwargs,error,match", [
    ({"input_dim": 0, "output_dim": 2}, ValueError, r"`input_dim` must be a positive integer. Received: input_dim=0"),
    ({"input_dim": 3, "output_dim": 2.0}, ValueError, r"`output_dim` must be a positive integer"),
    ({"input_dim": 3, "output_dim": 2, "mask_zero": True}, NotImplementedError, r"`mask_zero`"),
    ({"input_dim": 3, "output_dim": 2, "embeddings_regularizer": "l3"}, ValueError, r"interpret regularizer"),
    ({"input_dim": 3, "output_dim": 2, "lora_rank": 2}, NotImplementedError, r"`lora_rank`"),
    ({"input_dim": 3, "output_dim": 2, "quantization_config": {}}, NotImplementedError, r"`quantization_config`"),
])
def test_embedding_argument_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        layers.Embedding(**kwargs)


def test_input_length_is_deprecated_as_in_keras():
    with pytest.warns(UserWarning, match="`input_length` is deprecated"):
        layers.Embedding(3, 2, input_length=5)


def test_int32_inputs():
    ids = keras.Input(shape=(4,), dtype="int32")
    assert ids.dtype == "int32" and keras.Input(shape=(4,), dtype=tf.int32).dtype == "int32"
    with pytest.raises(NotImplementedError, match="dtype 'int64' is not supported yet"):
        keras.Input(shape=(4,), dtype=np.int64)
    with pytest.raises(NotImplementedError, match="dtype 'int32' is not supported yet"):
        layers.Dense(3, dtype="int32")
    # int32 ids stay int32 up to the Embedding; float layers get float32
    model = keras.Model(ids, layers.Dense(2)(layers.Flatten()(layers.Embedding(5, 3)(ids))))
    assert model(np.array([[1, 2, 3, 4]])).shape == (1, 2)
    assert model(np.array([[1.0, 2.0, 3.0, 4.0]])).shape == (1, 2)  # cast to the Input's int32
    standardizer = Standardizer(False, input_dtypes=["int32", "float32"])
    a, b = standardizer.inputs([np.ones((2, 3)), np.ones((2, 3), np.int64)])
    assert (a.dtype, b.dtype) == (np.int32, np.float32)
    assert Standardizer(False).inputs(np.ones((2, 3), np.int64))[0].dtype == np.float32


def sequence_data(n=240, length=6, vocab=20, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, vocab, (n, length))
    return x, (x[:, 0] % 3).astype(np.int32)


def test_fit_trains_an_embedding_model_compiled():
    keras.utils.set_random_seed(1)
    ids = keras.Input(shape=(6,), dtype="int32")
    x = layers.Embedding(20, 8)(ids)
    outputs = layers.Dense(3, activation="softmax")(layers.Flatten()(x))
    model = keras.Model(ids, outputs)
    model.compile(keras.optimizers.Adam(0.02), "sparse_categorical_crossentropy", metrics=["accuracy"])
    x, y = sequence_data()
    h = model.fit(x, y, batch_size=32, epochs=8, verbose=0).history
    assert isinstance(runner_of(model, "train"), CompiledRunner)
    assert h["loss"][-1] < 0.5 * h["loss"][0] and h["accuracy"][-1] > 0.9
    model.evaluate(x, y, verbose=0)
    assert isinstance(runner_of(model, "test"), CompiledRunner)
    with pytest.raises(ValueError, match=r"is not in \[0, 20\)"):
        model.predict(x + 20, verbose=0)


def test_embedding_first_in_a_sequential_model_takes_float_ids():
    keras.utils.set_random_seed(2)
    model = keras.Sequential([keras.Input(shape=(6,)), layers.Embedding(20, 4), layers.Flatten(), layers.Dense(3)])
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x, y = sequence_data(seed=1)
    model.fit(x, y, epochs=1, verbose=0)
    assert isinstance(runner_of(model, "train"), CompiledRunner)
    np.testing.assert_allclose(model.predict(x[:5], verbose=0), model(x[:5]).numpy(), rtol=1e-6)
