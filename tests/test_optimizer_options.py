"""The arguments every Keras optimizer takes (clipping, weight decay, EMA, gradient accumulation, loss
scaling) and the learning rate (settable, scheduled, callable), against Keras 3's base optimizer."""
import numpy as np
import pytest

import fastfit as keras
from keras_formulas import optimizer_steps, schedule
from test_optimizers import CLASSES

OPTION_CONFIGS = [
    ("sgd", {"momentum": 0.9, "weight_decay": 0.01}), ("adam", {"clipvalue": 0.5}),
    ("sgd", {"clipnorm": 1.0}), ("adam", {"clipnorm": 3.0}), ("sgd", {"global_clipnorm": 1.0}),
    ("rmsprop", {"global_clipnorm": 0.1}), ("adam", {"use_ema": True}),
    ("sgd", {"use_ema": True, "ema_momentum": 0.9, "ema_overwrite_frequency": 3, "momentum": 0.5}),
    ("adam", {"gradient_accumulation_steps": 3}), ("nadam", {"gradient_accumulation_steps": 2, "use_ema": True}),
    ("sgd", {"loss_scale_factor": 3.0, "momentum": 0.9}),
    ("adamw", {"clipnorm": 1.0, "gradient_accumulation_steps": 2, "loss_scale_factor": 4.0}),
    ("ftrl", {"global_clipnorm": 2.0, "weight_decay": 0.1}),
]


def two_variables_and_gradients(steps, seed=0):
    rng = np.random.default_rng(seed)
    ws = [rng.normal(size=(5, 7)).astype(np.float32), rng.normal(size=(3,)).astype(np.float32)]
    grads = [[rng.normal(size=w.shape).astype(np.float32) for w in ws] for _ in range(steps)]
    grads[min(2, steps - 1)][1] = None  # a step where one variable has no gradient
    return ws, grads


def run(opt, ws, grads):
    variables = [keras.Variable(w, name=f"v{i}") for i, w in enumerate(ws)]
    for step in grads:
        opt.apply_gradients([(None if g is None else keras.constant(g), v) for g, v in zip(step, variables)])
    return [v.numpy() for v in variables]


@pytest.mark.parametrize("kind,cfg", OPTION_CONFIGS)
def test_options_follow_keras_order_and_formulas(kind, cfg):
    ws, grads = two_variables_and_gradients(7)
    got = run(CLASSES[kind](**cfg), ws, grads)
    for a, b in zip(got, optimizer_steps(kind, cfg, ws, grads)):
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=1e-6)


@pytest.mark.parametrize("name,args", [
    ("ExponentialDecay", dict(initial_learning_rate=0.1, decay_steps=3, decay_rate=0.5, staircase=True)),
    ("PiecewiseConstantDecay", dict(boundaries=[2, 4], values=[0.1, 0.01, 0.5])),
    ("CosineDecay", dict(initial_learning_rate=0.0, decay_steps=4, warmup_target=0.2, warmup_steps=3)),
])
def test_a_schedule_sets_each_step(name, args):
    """Schedules see Keras' raw step count (every call, accumulating or not); weight decay uses the
    scheduled rate too."""
    ws, grads = two_variables_and_gradients(8)
    cfg = {"momentum": 0.5, "weight_decay": 0.1, "gradient_accumulation_steps": 2}
    got = run(keras.optimizers.SGD(getattr(keras.optimizers.schedules, name)(**args), **cfg), ws, grads)
    for a, b in zip(got, optimizer_steps("sgd", {**cfg, "learning_rate": schedule(name, **args)}, ws, grads)):
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=1e-6)


def test_clipping_by_norm():
    g = np.array([3.0, 4.0], np.float32)  # norm 5
    for cfg, want in [({"clipnorm": 1.0}, [-0.6, -0.8]), ({"clipnorm": 10.0}, [-3.0, -4.0]),
                      ({"global_clipnorm": 2.5}, [-1.5, -2.0]), ({"clipvalue": 3.5}, [-3.0, -3.5])]:
        v = keras.Variable(np.zeros(2, np.float32))
        keras.optimizers.SGD(1.0, **cfg).apply_gradients([(keras.constant(g), v)])
        np.testing.assert_allclose(v.numpy(), want, rtol=1e-6, err_msg=str(cfg))
    a, b = keras.Variable([0.0]), keras.Variable([0.0])  # the global norm spans both: 5
    keras.optimizers.SGD(1.0, global_clipnorm=1.0).apply_gradients([(keras.constant([3.0]), a),
                                                                      (keras.constant([4.0]), b)])
    np.testing.assert_allclose([a.numpy()[0], b.numpy()[0]], [-0.6, -0.8], rtol=1e-6)
    with pytest.raises(ValueError, match="Only one of `clipnorm`, `clipvalue` and `global_clipnorm`"):
        keras.optimizers.Adam(clipnorm=1.0, clipvalue=1.0)


def test_weight_decay_exclusions():
    kernel, bias, other = (keras.Variable(np.ones(2, np.float32), name=n) for n in ("kernel", "bias", "other"))
    opt = keras.optimizers.SGD(0.5, weight_decay=0.1)
    opt.exclude_from_weight_decay(var_list=[other], var_names=["bias"])
    zero = keras.constant(np.zeros(2, np.float32))
    opt.apply_gradients([(zero, kernel), (zero, bias), (zero, other)])
    np.testing.assert_allclose(kernel.numpy(), 1 - 0.1 * 0.5)
    np.testing.assert_array_equal(bias.numpy(), 1.0)
    np.testing.assert_array_equal(other.numpy(), 1.0)
    with pytest.raises(ValueError, match="before the optimizer is built"):
        opt.exclude_from_weight_decay(var_names=["kernel"])
    with pytest.raises(ValueError, match="`weight_decay` must be a float"):
        keras.optimizers.AdamW(weight_decay=None)


def test_moving_average_and_finalize():
    v = keras.Variable(np.zeros(1, np.float32))
    opt = keras.optimizers.SGD(1.0, use_ema=True, ema_momentum=0.5)
    for g in (-2.0, -2.0, -4.0):  # weights 2, 4, 8; averages 2 (first step copies), 3, 5.5
        opt.apply_gradients([(keras.constant([g]), v)])
    assert [x.name for x in opt.variables] == ["iteration", "learning_rate", "Variable_average"]
    np.testing.assert_allclose(opt.variables[2].numpy(), [5.5])
    opt.finalize_variable_values([v])
    np.testing.assert_allclose(v.numpy(), [5.5])
    with pytest.raises(ValueError, match="`ema_momentum` must be in the range"):
        keras.optimizers.SGD(use_ema=True, ema_momentum=1.5)


def test_gradient_accumulation_counts_updates():
    v = keras.Variable(np.zeros(1, np.float32))
    opt = keras.optimizers.SGD(1.0, gradient_accumulation_steps=3)
    for i, g in enumerate((1.0, 2.0, 6.0, 3.0)):
        opt.apply_gradients([(keras.constant([g]), v)])
        assert int(opt.iterations) == (i + 1) // 3 and int(opt.variables[0]) == i + 1
    np.testing.assert_allclose(v.numpy(), [-3.0])  # the mean of the first three; the fourth waits
    np.testing.assert_allclose(opt.variables[2].numpy(), [3.0])  # Variable_gradient_accumulator
    with pytest.raises(ValueError, match="`gradient_accumulation_steps` must be an integer >= 2"):
        keras.optimizers.SGD(gradient_accumulation_steps=1)


def test_loss_scale_factor_divides_gradients():
    v = keras.Variable(np.zeros(1, np.float32))
    opt = keras.optimizers.SGD(1.0, loss_scale_factor=4.0)
    assert float(opt.scale_loss(keras.constant(2.0))) == 8.0
    opt.apply_gradients([(keras.constant([8.0]), v)])
    np.testing.assert_array_equal(v.numpy(), [-2.0])


def test_learning_rate_reads_and_sets_like_keras():
    opt = keras.optimizers.Adam(0.5)
    assert opt.learning_rate is opt.variables[1] and float(opt.lr) == 0.5
    opt.learning_rate = 0.25  # as ReduceLROnPlateau between epochs
    assert float(opt.learning_rate) == 0.25
    opt.lr.assign(0.125)  # keras.backend.set_value(optimizer.lr, ...)
    assert float(opt.learning_rate) == 0.125 and opt.get_config()["learning_rate"] == 0.125
    assert keras.optimizers.SGD(lr=0.3).learning_rate == np.float32(0.3)  # TF 2's spelling

    schedule_ = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=2, decay_rate=0.5)
    opt = keras.optimizers.SGD(schedule_)
    assert [v.name for v in opt.variables] == ["iteration"]  # Keras keeps no variable for a schedule
    opt.iterations.assign(4)
    np.testing.assert_allclose(float(opt.learning_rate), 0.025, rtol=1e-6)
    with pytest.raises(TypeError, match="learning rate is not settable"):
        opt.learning_rate = 0.1


def test_callables_and_own_schedules_are_called_per_step():
    calls = []

    class Halving(keras.optimizers.schedules.LearningRateSchedule):
        def __call__(self, step):
            calls.append(int(step))
            return 1.0 / 2 ** step

    v = keras.Variable(np.zeros(1, np.float32))
    opt = keras.optimizers.SGD(Halving())
    for _ in range(3):
        opt.apply_gradients([(keras.constant([1.0]), v)])
    assert calls == [0, 1, 2]
    np.testing.assert_allclose(v.numpy(), [-1.75])
    opt = keras.optimizers.SGD(lambda: 0.5)  # Keras calls a plain callable with no arguments
    opt.apply_gradients([(keras.constant([1.0]), v)])
    np.testing.assert_allclose(v.numpy(), [-2.25])
    assert float(opt.learning_rate) == 0.5


@pytest.mark.parametrize("kind", sorted(CLASSES))
def test_config_round_trip(kind):
    cls = CLASSES[kind]
    opt = cls(learning_rate=keras.optimizers.schedules.CosineDecay(0.1, 100, warmup_target=0.2, warmup_steps=5),
              clipnorm=2.0, use_ema=True)
    config = opt.get_config()
    assert config["learning_rate"]["class_name"] == "CosineDecay" and config["clipnorm"] == 2.0
    again = cls.from_config(config)
    assert again.get_config() == config
    assert float(again.learning_rate) == float(opt.learning_rate)


def test_argument_errors_follow_keras():
    with pytest.raises(ValueError, match=r"Argument\(s\) not recognized: \{'beta_3': 1\}"):
        keras.optimizers.Adam(beta_3=1)
    with pytest.raises(ValueError, match="`l1_regularization_strength` needs to be positive or zero"):
        keras.optimizers.Ftrl(l1_regularization_strength=-1.0)
    with pytest.raises(ValueError, match="`learning_rate_power` needs to be negative or zero"):
        keras.optimizers.Ftrl(learning_rate_power=0.5)
    with pytest.raises(ValueError, match="Argument `beta_1` must be in the"):
        keras.optimizers.Lion(beta_1=0.0)

    class Custom(keras.optimizers.Optimizer):
        def update_step(self, gradient, variable, learning_rate):
            variable.assign_sub(gradient * learning_rate)

    class CustomAdam(keras.optimizers.Adam):
        def update_step(self, gradient, variable, learning_rate):
            variable.assign_sub(gradient * learning_rate)

    for cls in (Custom, CustomAdam):
        with pytest.raises(NotImplementedError, match="optimizers with their own `update_step` are not supported"):
            cls(learning_rate=0.1)
