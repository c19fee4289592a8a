"""ParamArena / flatten_variables: weights packed into one buffer stay the same Variables, and fit
updates them as one range, giving the same numbers as unpacked weights."""
import gc
import os

import numpy as np
import pytest

import fastfit as keras
from fastfit import layers
from fastfit.optimizers import flatten_variables
from helpers import runner_of
from conftest import guide_model


def fit_twice(model, x, y, optimizer):
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    return model.fit(x, y, batch_size=32, epochs=2, shuffle=False, verbose=0).history["loss"]


def program_of(model):
    return runner_of(model, "train").program


def test_adopting_moves_memory_not_objects():
    model = guide_model(seed=1)
    weights, values = model.trainable_weights, model.get_weights()
    arena = flatten_variables(weights)
    assert all(a is b for a, b in zip(arena.variables, weights))  # the same Python objects
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), values))
    sizes = [w.size for w in weights]
    assert arena.offsets == [0] + list(np.cumsum([(n + 15) // 16 * 16 for n in sizes]))[:-1]
    assert arena.size == sum((n + 15) // 16 * 16 for n in sizes)
    buffer = arena.buffer()
    for w, offset in zip(weights, arena.offsets):
        np.testing.assert_array_equal(buffer[offset:offset + w.size].reshape(w.shape), w.numpy())


def test_writes_reach_the_arena_both_ways():
    model = guide_model(seed=1)
    arena = flatten_variables(model.trainable_weights)
    buffer, kernel = arena.buffer(), model.trainable_weights[0]
    new = [np.full(w.shape, i + 0.5, np.float32) for i, w in enumerate(model.get_weights())]
    model.set_weights(new)
    for w, offset in zip(model.trainable_weights, arena.offsets):
        np.testing.assert_array_equal(buffer[offset:offset + w.size].reshape(w.shape), w.numpy())
    kernel.assign(np.zeros(kernel.shape, np.float32))
    assert not buffer[:kernel.size].any()
    buffer[:3] = 7.0  # the buffer view writes the variables
    np.testing.assert_array_equal(kernel.numpy().reshape(-1)[:3], [7.0, 7.0, 7.0])


def test_gradient_tape_sees_packed_weights():
    x = np.random.default_rng(0).normal(size=(8, 784)).astype("float32")
    y = np.arange(8) % 10
    model = guide_model(seed=2)
    loss_fn = keras.losses.SparseCategoricalCrossentropy()

    def grads():
        with keras.GradientTape() as tape:
            loss = loss_fn(y, model(x))
        return [g.numpy() for g in tape.gradient(loss, model.trainable_weights)]

    before = grads()
    flatten_variables(model.trainable_weights)
    for a, b in zip(before, grads()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("optimizer", ["rmsprop", "adam", "sgd"])
def test_fit_packs_weights_and_flat_updates_equal_per_variable_ones(small_data, optimizer):
    x, y = small_data
    flat, moved = guide_model(seed=3), guide_model(seed=3)
    assert fit_twice(flat, x, y, optimizer) == fit_twice(moved, x, y, optimizer)
    assert program_of(flat).updates_flat  # fit packed the weights itself
    flatten_variables(moved.trainable_weights[2:3])  # one leaves the pack: one range per variable
    assert not program_of(moved).updates_flat
    h_flat = flat.fit(x, y, batch_size=32, epochs=2, shuffle=False, verbose=0).history["loss"]
    h_moved = moved.fit(x, y, batch_size=32, epochs=2, shuffle=False, verbose=0).history["loss"]
    assert h_flat == h_moved
    for a, b in zip(flat.get_weights(), moved.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_weights_packed_again_after_tracing(small_data):
    x, y = small_data
    model = guide_model(seed=4)
    fit_twice(model, x, y, "adam")
    flatten_variables(model.trainable_weights[2:3])
    assert not program_of(model).updates_flat
    flatten_variables(model.trainable_weights)  # the traced program finds them packed again
    assert program_of(model).updates_flat


class DenseWithUnused(layers.Dense):
    """A Dense layer with a trainable weight its call never uses: the loss gives it no gradient."""

    def build(self, input_shape):
        super().build(input_shape)
        self.unused = self.add_weight((5,), "ones", "unused")


@pytest.mark.parametrize("unused_first", [True, False])
def test_weights_without_gradient_are_not_updated(small_data, unused_first):
    x, y = small_data
    keras.utils.set_random_seed(5)
    first = DenseWithUnused if unused_first else layers.Dense
    last = layers.Dense if unused_first else DenseWithUnused
    model = keras.Sequential([keras.Input(shape=(784,)), first(16, activation="relu"), last(10, activation="softmax")])
    optimizer = keras.optimizers.SGD(0.1, momentum=0.9)
    optimizer.build(model.trainable_weights)
    unused = [w for w in model.trainable_weights if w.name == "unused"][0]
    momentum = [v for v in optimizer.variables if v.name.endswith("unused_momentum")][0]
    momentum.assign(np.ones(5, np.float32))  # a step on it would move it
    flatten_variables(model.trainable_weights)
    fit_twice(model, x, y, optimizer)
    np.testing.assert_array_equal(unused.numpy(), np.ones(5))
    np.testing.assert_array_equal(momentum.numpy(), np.ones(5))
    assert program_of(model).updates_flat == (not unused_first)  # an unused weight last leaves the rest packed


def test_a_variable_moves_between_arenas_and_arenas_grow():
    a, b, c = (keras.Variable(np.full(s, i, np.float32)) for i, s in enumerate([(3,), (17,), (2, 2)]))
    first = flatten_variables([a, b])
    second = flatten_variables([b, c])
    assert first.variables == [a] and first.offsets == [0]
    assert second.variables == [b, c] and second.offsets == [0, 32]
    d = keras.Variable(np.full((5,), 3.0, np.float32))
    second.adopt([d])  # grows: the variables already there move along, at the same offsets
    assert second.variables == [b, c, d] and second.offsets == [0, 32, 48]
    for v, value in [(a, 0), (b, 1), (c, 2), (d, 3)]:
        np.testing.assert_array_equal(v.numpy(), np.full(v.shape, value))
    np.testing.assert_array_equal(second.buffer()[48:53], np.full(5, 3.0))


def test_bad_input_raises_clear_errors():
    v = keras.Variable(np.ones(3, np.float32))
    with pytest.raises(TypeError, match=r"variables\[1\] must be a Variable, got ndarray"):
        flatten_variables([v, np.ones(3, np.float32)])
    with pytest.raises(ValueError, match=r"variables\[0\] must be float32, got int32 \(2,\)"):
        flatten_variables([keras.Variable(np.ones(2, np.int32), dtype="int32")])
    with pytest.raises(ValueError, match=r"variables\[1\] is already in this arena"):
        flatten_variables([v, v])
    np.testing.assert_array_equal(v.numpy(), np.ones(3))  # nothing moved


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="reads the resident size from /proc")
def test_arena_memory_is_freed_with_its_last_reference():
    def resident_mb():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

    variables = [keras.Variable(np.ones((2048, 4096), np.float32)) for _ in range(4)]  # 128 MB
    arena = flatten_variables(variables)
    held = resident_mb()
    del arena  # the variables still live in the buffer
    gc.collect()
    assert resident_mb() > held - 16
    np.testing.assert_array_equal(variables[3].numpy()[-1, -3:], [1.0, 1.0, 1.0])
    del variables
    gc.collect()
    assert resident_mb() < held - 100
