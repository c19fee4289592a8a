"""One or more optimizer steps of each configuration against Keras 3's update formulas (float64)."""
import re

import numpy as np
import pytest

import fastfit as keras
from keras_formulas import optimizer_steps


CONFIGS = [
    ("sgd", {}), ("sgd", {"learning_rate": 0.1, "momentum": 0.9}),
    ("sgd", {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True}),
    ("rmsprop", {}), ("rmsprop", {"rho": 0.8, "momentum": 0.5}), ("rmsprop", {"centered": True}),
    ("rmsprop", {"centered": True, "momentum": 0.9, "epsilon": 1e-3}),
    ("adam", {}), ("adam", {"learning_rate": 0.01, "amsgrad": True}), ("adam", {"beta_1": 0.5, "beta_2": 0.9}),
    ("adamw", {}), ("adamw", {"learning_rate": 0.01, "weight_decay": 0.1, "amsgrad": True}),
    ("adamax", {}), ("adamax", {"learning_rate": 0.01, "beta_1": 0.8, "beta_2": 0.9}),
    ("nadam", {}), ("nadam", {"learning_rate": 0.01, "beta_1": 0.5}),
    ("adagrad", {}), ("adagrad", {"learning_rate": 0.1, "initial_accumulator_value": 0.5, "epsilon": 1e-3}),
    ("adadelta", {}), ("adadelta", {"learning_rate": 1.0, "rho": 0.8}),
    ("ftrl", {}),
    ("ftrl", {"learning_rate": 0.1, "l1_regularization_strength": 0.01, "l2_regularization_strength": 0.01,
              "l2_shrinkage_regularization_strength": 0.01, "beta": 0.1, "learning_rate_power": -0.3}),
    ("ftrl", {"learning_rate": 0.5, "l1_regularization_strength": 0.5, "initial_accumulator_value": 0.01}),
    ("lion", {}), ("lion", {"learning_rate": 0.01, "beta_1": 0.5, "beta_2": 0.9}),
]
CLASSES = {"sgd": keras.optimizers.SGD, "rmsprop": keras.optimizers.RMSprop, "adam": keras.optimizers.Adam,
           "adamw": keras.optimizers.AdamW, "adamax": keras.optimizers.Adamax, "nadam": keras.optimizers.Nadam,
           "adagrad": keras.optimizers.Adagrad, "adadelta": keras.optimizers.Adadelta, "ftrl": keras.optimizers.Ftrl,
           "lion": keras.optimizers.Lion}


def keras_reference(kind, cfg, w, grads):
    return optimizer_steps(kind, cfg, [w], [[g] for g in grads])[0]


@pytest.mark.parametrize("kind,cfg", CONFIGS)
@pytest.mark.parametrize("steps", [1, 5])
def test_steps_match_keras_formulas(kind, cfg, steps):
    rng = np.random.default_rng(len(cfg) + steps)
    w0 = rng.normal(size=(3, 4)).astype(np.float32)
    grads = [rng.normal(size=(3, 4)).astype(np.float32) for _ in range(steps)]
    for g in grads:
        g[0] = 0  # a row without gradient, as an embedding's unused ids
    if steps == 5:
        grads[2] = grads[2] * 0.01  # a small gradient after large ones: exercises amsgrad's max
        grads[3] = np.zeros_like(grads[3])
    var = keras.Variable(w0)
    opt = CLASSES[kind](**cfg)
    for g in grads:
        opt.apply_gradients([(keras.constant(g), var)])
    np.testing.assert_allclose(var.numpy(), keras_reference(kind, cfg, w0, grads), rtol=2e-5, atol=1e-6)
    assert opt.iterations == steps


def test_defaults_follow_keras():
    assert keras.optimizers.SGD().learning_rate == pytest.approx(0.01)
    assert keras.optimizers.RMSprop().learning_rate == pytest.approx(0.001)
    assert keras.optimizers.Adam().learning_rate == pytest.approx(0.001)
    assert isinstance(keras.optimizers.get("adam"), keras.optimizers.Adam)


def test_learning_rate_is_settable_by_both_names():
    opt = keras.optimizers.SGD(0.5)
    opt.lr = 0.25
    assert opt.learning_rate == pytest.approx(0.25)


def test_none_gradients_are_skipped_and_shapes_checked():
    a, b = keras.Variable([1.0]), keras.Variable([2.0, 3.0])
    opt = keras.optimizers.SGD(1.0)
    opt.apply_gradients([(None, a), (keras.constant([1.0, 1.0]), b)])
    np.testing.assert_allclose(b.numpy(), [1.0, 2.0])
    with pytest.raises(ValueError, match="gradient of shape"):
        opt.apply_gradients([(keras.constant([1.0]), b)])


@pytest.mark.parametrize("bad", [-1.0, "fast"])
def test_bad_learning_rate(bad):
    with pytest.raises(ValueError, match="learning_rate"):
        keras.optimizers.Adam(learning_rate=bad)


def test_unknown_optimizer_name_lists_valid_ones():
    valid = "['adadelta', 'adagrad', 'adam', 'adamax', 'adamw', 'ftrl', 'lion', 'nadam', 'rmsprop', 'sgd']"
    with pytest.raises(ValueError, match=re.escape(f"Valid names: {valid}")):
        keras.optimizers.get("adagradx")


# -- state: names, order, live views ----------------------------------------------------------------

# optimizer.variables of Keras 3 (keras/src/optimizers/base_optimizer.py: `iteration`, then
# `learning_rate`, then each build's slots, named `<variable path, / as _>_<slot>`), for the model below.
# Adam's build adds momentum and velocity variable by variable; the other lists come slot by slot.
VARS = ["dense_1_kernel", "dense_1_bias", "predictions_kernel", "predictions_bias"]
KERAS_VARIABLES = [
    (keras.optimizers.SGD, {}, ["iteration", "learning_rate"]),
    (keras.optimizers.SGD, {"momentum": 0.9},
     ["iteration", "learning_rate"] + [f"{v}_momentum" for v in VARS]),
    (keras.optimizers.RMSprop, {},
     ["iteration", "learning_rate"] + [f"{v}_velocity" for v in VARS]),
    (keras.optimizers.RMSprop, {"momentum": 0.5, "centered": True},
     ["iteration", "learning_rate"] + [f"{v}_velocity" for v in VARS] + [f"{v}_momentum" for v in VARS]
     + [f"{v}_average_gradient" for v in VARS]),
    (keras.optimizers.Adam, {},
     ["iteration", "learning_rate"] + [f"{v}_{s}" for v in VARS for s in ("momentum", "velocity")]),
    (keras.optimizers.Adam, {"amsgrad": True},
     ["iteration", "learning_rate"] + [f"{v}_{s}" for v in VARS for s in ("momentum", "velocity")]
     + [f"{v}_velocity_hat" for v in VARS]),
    (keras.optimizers.Adam, {"use_ema": True, "gradient_accumulation_steps": 2},  # the base build's, first
     ["iteration", "learning_rate"] + [f"{v}_average" for v in VARS] + [f"{v}_gradient_accumulator" for v in VARS]
     + [f"{v}_{s}" for v in VARS for s in ("momentum", "velocity")]),
    (keras.optimizers.Nadam, {},
     ["iteration", "learning_rate"] + [f"{v}_{s}" for v in VARS for s in ("momentum", "velocity")] + ["variable"]),
    (keras.optimizers.Adamax, {},
     ["iteration", "learning_rate"] + [f"{v}_{s}" for v in VARS for s in ("momentum", "norm")]),
    (keras.optimizers.Adagrad, {}, ["iteration", "learning_rate"] + [f"{v}_accumulator" for v in VARS]),
    (keras.optimizers.Adadelta, {}, ["iteration", "learning_rate"]
     + [f"{v}_{s}" for v in VARS for s in ("accumulated_grad", "accumulated_delta_var")]),
    (keras.optimizers.Ftrl, {},
     ["iteration", "learning_rate"] + [f"{v}_{s}" for v in VARS for s in ("accumulator", "linear")]),
    (keras.optimizers.Lion, {}, ["iteration", "learning_rate"] + [f"{v}_momentum" for v in VARS]),
]


def small_model():
    inputs = keras.Input(shape=(4,))
    x = keras.layers.Dense(3, name="dense_1")(inputs)
    return keras.Model(inputs, keras.layers.Dense(2, name="predictions")(x))


@pytest.mark.parametrize("cls,cfg,names", KERAS_VARIABLES)
def test_variables_are_named_and_ordered_as_keras(cls, cfg, names):
    model, opt = small_model(), cls(**cfg)
    assert [v.name for v in opt.variables] == ["iteration", "learning_rate"]  # before build
    opt.build(model.trainable_weights)
    variables = opt.variables
    assert [v.name for v in variables] == names
    assert [v.path for v in variables] == [f"{opt.name}/{n}" for n in names]
    assert variables[0].numpy().dtype == np.int64 and variables[1].numpy().dtype == np.float32
    shapes = {w.path.replace("/", "_"): w.shape for w in model.trainable_weights}
    for v in variables[2:]:
        if v.name == "variable":  # Nadam's product of momentum factors
            assert v.shape == () and v.numpy() == 1.0
            continue
        assert v.shape == next(s for k, s in shapes.items() if v.name.startswith(k + "_"))
        adagrads = v.name.endswith("_accumulator") and not v.name.endswith("_gradient_accumulator")
        initial = cfg.get("initial_accumulator_value", 0.1) if adagrads else 0.0
        assert not v.trainable and np.all(v.numpy() == np.float32(initial))
    assert all(a is b for a, b in zip(opt.variables, variables))  # one view per slot


def test_state_views_are_live():
    var = keras.Variable(np.zeros(3, np.float32))
    opt = keras.optimizers.SGD(0.1, momentum=0.5)
    opt.build([var])
    momentum = opt.variables[2]
    momentum.assign([1.0, 2.0, 4.0])  # m = 0.5*m - 0.1*g; w += m
    opt.apply_gradients([(keras.constant(np.zeros(3, np.float32)), var)])
    np.testing.assert_array_equal(momentum.numpy(), [0.5, 1.0, 2.0])
    np.testing.assert_array_equal(var.numpy(), [0.5, 1.0, 2.0])
    opt.variables[1].assign(0.0)
    assert opt.learning_rate == 0.0


def test_iterations_is_a_variable_like_counter():
    var = keras.Variable(np.ones(2, np.float32))
    opt = keras.optimizers.Adam(0.1)
    g = np.array([0.5, -2.0], np.float32)
    opt.iterations.assign(9)  # Adam's bias correction then uses step 10
    opt.apply_gradients([(keras.constant(g), var)])
    assert int(opt.iterations) == 10 and opt.iterations == 10 and opt.iterations.numpy().dtype == np.int64
    alpha = 0.1 * np.sqrt(1 - 0.999 ** 10) / (1 - 0.9 ** 10)
    m, v = 0.1 * g, 0.001 * g * g
    np.testing.assert_allclose(var.numpy(), 1 - alpha * m / (np.sqrt(v) + 1e-7), rtol=1e-6)
    assert opt.apply_gradients([(keras.constant(g), var)]) is opt.iterations
    with pytest.raises(TypeError, match="iteration: expected an integer"):
        opt.iterations.assign(1.5)
    with pytest.raises(ValueError, match="expected a scalar, got an array of shape"):
        opt.iterations.assign([1, 2])
    with pytest.raises(ValueError, match="learning_rate"):
        opt.variables[1].assign(-1.0)


def test_new_variables_extend_the_state():
    a0, b0 = np.array([1.0, -2.0], np.float32), np.array([[3.0]], np.float32)
    ga = [np.array([0.5, 1.5], np.float32), np.array([-1.0, 0.25], np.float32)]
    gb = np.array([[2.0]], np.float32)
    a, b = keras.Variable(a0, name="a"), keras.Variable(b0, name="b")
    opt = keras.optimizers.RMSprop(momentum=0.5)
    opt.apply_gradients([(keras.constant(ga[0]), a)])
    a_velocity = opt.variables[2]
    opt.apply_gradients([(keras.constant(ga[1]), a), (keras.constant(gb), b)])  # b is new: zero state
    variables = opt.variables
    assert [v.name for v in variables] == ["iteration", "learning_rate", "a_velocity", "b_velocity", "a_momentum",
                                           "b_momentum"]
    assert variables[2] is a_velocity
    np.testing.assert_allclose(a_velocity.numpy(), 0.09 * ga[0] ** 2 + 0.1 * ga[1] ** 2, rtol=1e-6)
    cfg = {"momentum": 0.5}
    np.testing.assert_allclose(a.numpy(), keras_reference("rmsprop", cfg, a0, ga), rtol=2e-5, atol=1e-6)
    np.testing.assert_allclose(b.numpy(), keras_reference("rmsprop", cfg, b0, [gb]), rtol=2e-5, atol=1e-6)


def test_apply_without_variables_uses_the_built_ones():
    a, b = keras.Variable([1.0]), keras.Variable([2.0])
    opt = keras.optimizers.SGD(1.0)
    with pytest.raises(ValueError, match="must be built first"):
        opt.apply([keras.constant([1.0])])
    opt.build([a, b])
    assert opt.built
    opt.apply([keras.constant([1.0]), keras.constant([0.5])])
    np.testing.assert_array_equal([a.numpy()[0], b.numpy()[0]], [0.0, 1.5])
    with pytest.raises(ValueError, match=r"one gradient per variable \(2\), got 1"):
        opt.apply([keras.constant([1.0])])
    with pytest.raises(TypeError, match=r"build: variables\[0\] must be a Variable, got list"):
        opt.build([[1.0]])
    with pytest.raises(ValueError, match=r"variables\[0\] must be float32, got int32"):
        opt.build([keras.Variable([1, 2], dtype="int32")])


@pytest.mark.parametrize("make", [lambda: keras.optimizers.Adam(amsgrad=True),
                                  lambda: keras.optimizers.RMSprop(momentum=0.5, centered=True),
                                  lambda: keras.optimizers.SGD(0.05, momentum=0.9, nesterov=True),
                                  lambda: keras.optimizers.Nadam(use_ema=True, gradient_accumulation_steps=2),
                                  lambda: keras.optimizers.Ftrl(0.1)])
@pytest.mark.parametrize("packed", [False, True])
def test_state_saved_and_restored_through_variables_continues_bit_identically(small_data, make, packed):
    from conftest import guide_model
    x, y = small_data
    first = guide_model(seed=6)
    first.compile(optimizer=make(), loss="sparse_categorical_crossentropy")
    if packed:
        keras.optimizers.flatten_variables(first.trainable_weights)
    first.fit(x, y, batch_size=32, epochs=1, shuffle=False, verbose=0)
    weights, state = first.get_weights(), [v.numpy() for v in first.optimizer.variables]

    second = guide_model(seed=7)
    second.set_weights(weights)
    second.compile(optimizer=make(), loss="sparse_categorical_crossentropy")
    second.optimizer.build(second.trainable_weights)
    for v, value in zip(second.optimizer.variables, state, strict=True):
        v.assign(value)
    if packed:
        keras.optimizers.flatten_variables(second.trainable_weights)
    for model in (first, second):
        model.fit(x, y, batch_size=32, epochs=2, shuffle=False, verbose=0)
    assert int(second.optimizer.variables[0]) == int(first.optimizer.variables[0]) == 3 * 7  # Keras' iteration
    for a, b in zip(first.get_weights(), second.get_weights()):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(first.optimizer.variables, second.optimizer.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
