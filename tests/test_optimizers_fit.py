"""Every optimizer and option in fit: the compiled program learns, and takes the steps of the guide's
GradientTape loop with apply_gradients; clipping by global norm gives the same bits at 1 and 2 threads."""
import numpy as np
import pytest

import fastfit as keras
from conftest import guide_model
from fastfit import _core
from fastfit.models.tracing import CompiledRunner
from helpers import runner_of

schedules = keras.optimizers.schedules


class Recorded(schedules.LearningRateSchedule):
    """A schedule of one's own: called from Python each step, with the step count."""

    def __init__(self):
        self.steps = []

    def __call__(self, step):
        self.steps.append(int(step))
        return 0.01 / (1 + step)


OPTIMIZERS = {
    "sgd": lambda: keras.optimizers.SGD(0.05, momentum=0.9, nesterov=True),
    "rmsprop": lambda: keras.optimizers.RMSprop(0.001, momentum=0.5, centered=True),
    "adam": lambda: keras.optimizers.Adam(0.005, amsgrad=True),
    "adamw": lambda: keras.optimizers.AdamW(0.005),
    "adamax": lambda: keras.optimizers.Adamax(0.01),
    "nadam": lambda: keras.optimizers.Nadam(0.005),
    "adagrad": lambda: keras.optimizers.Adagrad(0.05),
    "adadelta": lambda: keras.optimizers.Adadelta(1.0),
    "ftrl": lambda: keras.optimizers.Ftrl(0.05, l2_regularization_strength=0.001),
    "lion": lambda: keras.optimizers.Lion(0.001),
    "clipnorm": lambda: keras.optimizers.Adam(0.005, clipnorm=0.1),
    "global_clipnorm": lambda: keras.optimizers.SGD(0.05, momentum=0.9, global_clipnorm=0.5),
    "clipvalue": lambda: keras.optimizers.RMSprop(0.001, clipvalue=0.01),
    "weight_decay": lambda: keras.optimizers.SGD(0.05, weight_decay=0.5),
    "ema": lambda: keras.optimizers.Adam(0.005, use_ema=True, ema_momentum=0.9, ema_overwrite_frequency=5),
    "accumulation": lambda: keras.optimizers.Nadam(0.005, gradient_accumulation_steps=3),
    "loss_scale": lambda: keras.optimizers.SGD(0.05, momentum=0.9, loss_scale_factor=100.0),
    "schedule": lambda: keras.optimizers.Adam(schedules.CosineDecay(0.0, 6, warmup_target=0.01, warmup_steps=4)),
    "own_schedule": lambda: keras.optimizers.Adam(Recorded()),
    "callable": lambda: keras.optimizers.SGD(lambda: 0.05),
}


def fit_and_loop(make, x, y, batch_size=32, epochs=2):
    """The same training compiled by fit, and as the guide's GradientTape loop. Returns both models, the
    fit history and both optimizers."""
    fitted, looped = guide_model(seed=3), guide_model(seed=3)
    fitted.compile(make(), "sparse_categorical_crossentropy")
    history = fitted.fit(x, y, batch_size=batch_size, epochs=epochs, shuffle=False, verbose=0).history
    optimizer, loss_fn = make(), keras.losses.SparseCategoricalCrossentropy()
    for _ in range(epochs):
        for i in range(0, len(x), batch_size):
            with keras.GradientTape() as tape:
                loss = optimizer.scale_loss(loss_fn(y[i:i + batch_size], looped(x[i:i + batch_size], training=True)))
            grads = tape.gradient(loss, looped.trainable_weights)
            optimizer.apply_gradients(zip(grads, looped.trainable_weights))
    optimizer.finalize_variable_values(looped.trainable_weights)
    return fitted, looped, history, fitted.optimizer, optimizer


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_fit_learns_and_matches_a_gradient_tape_loop(small_data, name):
    x, y = small_data
    fitted, looped, history, fit_opt, loop_opt = fit_and_loop(OPTIMIZERS[name], x, y)
    assert isinstance(runner_of(fitted, "train"), CompiledRunner)
    assert history["loss"][1] < history["loss"][0]
    for a, b in zip(fitted.get_weights(), looped.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    for a, b in zip(fit_opt.variables, loop_opt.variables):
        assert a.name == b.name
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-5, err_msg=a.name)
    if name == "own_schedule":  # called once per step, in fit as in the loop
        assert fit_opt._schedule.steps == list(range(14))


def test_built_in_schedules_run_in_cpp_with_the_python_values(small_data):
    """fit evaluates a built-in schedule in C++ inside the update; the same schedule called from Python
    (a subclass that overrides __call__) gives the same bits."""
    class FromPython(schedules.PolynomialDecay):
        def __call__(self, step):
            return super().__call__(step)

    x, y = small_data
    weights = []
    for cls in (schedules.PolynomialDecay, FromPython):
        model = guide_model(seed=4)
        model.compile(keras.optimizers.SGD(cls(0.1, decay_steps=5, power=2.0, cycle=True), momentum=0.9),
                      "sparse_categorical_crossentropy")
        model.fit(x, y, batch_size=32, epochs=2, shuffle=False, verbose=0)
        weights.append(model.get_weights())
    for a, b in zip(*weights):
        np.testing.assert_array_equal(a, b)


def test_learning_rate_set_between_epochs_applies(small_data):
    x, y = small_data
    model = guide_model(seed=2)
    model.compile(keras.optimizers.SGD(0.05), "sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=50, epochs=1, verbose=0)
    before = model.get_weights()
    model.optimizer.learning_rate = 0.0  # as ReduceLROnPlateau does
    model.fit(x, y, batch_size=50, epochs=1, verbose=0)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.fixture
def threads():
    before = _core.get_num_threads()
    yield
    _core.set_num_threads(before)


@pytest.mark.parametrize("clip", [{"global_clipnorm": 0.5}, {"clipnorm": 0.05}])
@pytest.mark.parametrize("packed", [True, False])
def test_clipping_by_norm_is_the_same_at_one_and_two_threads(small_data, threads, clip, packed):
    """The norms are summed per parameter, each by one thread in one order: 1 and 2 threads, and the
    packed (one flat range) and per-parameter updates, give the same bits."""
    x, y = small_data
    results = []
    for n_threads in (1, 2):
        _core.set_num_threads(n_threads)
        model = guide_model(seed=5)
        model.compile(keras.optimizers.Adam(0.01, **clip), "sparse_categorical_crossentropy")
        if not packed:  # state laid out in another order than the weights: updated parameter by parameter
            model.optimizer.build(model.trainable_weights[::-1])
        h = model.fit(x, y, batch_size=64, epochs=2, shuffle=False, verbose=0).history
        program = runner_of(model, "train").program
        assert program.updates_flat == packed and (n_threads == 1 or program.splits("train"))
        results.append((h, model.get_weights()))
    (h1, w1), (h2, w2) = results
    assert h1 == h2
    for a, b in zip(w1, w2):
        np.testing.assert_array_equal(a, b)
