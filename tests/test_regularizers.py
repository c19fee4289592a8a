"""keras.regularizers: penalties against their formulas (NumPy float64) and finite differences, the
layer arguments that take them, model.losses, and fit's loss: data loss plus the penalties, the same
compiled as eager, and Keras 3's numbers (with a MaxNorm constraint, in test_constraints.py)."""
import warnings

import numpy as np
import pytest

import fastfit as tf
import fastfit as keras
from fastfit import _core, layers
from fastfit.models.tracing import CompiledRunner
from helpers import check_op, fit_compiled_and_eager, runner_of


def weights(rng, *shape):
    return rng.normal(size=shape).astype(np.float32)


def orthogonal_reference(x, factor, rows):
    x = x if rows else x.T
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    product = unit @ unit.T
    n = len(x)
    return factor * 0.5 * np.abs(product - np.diag(np.diag(product))).sum() / (n * (n - 1) / 2)


@pytest.mark.parametrize("regularizer,reference", [
    (keras.regularizers.L1(0.3), lambda x: 0.3 * np.abs(x).sum()),
    (keras.regularizers.L2(0.1), lambda x: 0.1 * np.square(x).sum()),
    (keras.regularizers.L1L2(l1=0.01, l2=0.02), lambda x: 0.01 * np.abs(x).sum() + 0.02 * np.square(x).sum()),
    (keras.regularizers.L1L2(l2=0.5), lambda x: 0.5 * np.square(x).sum()),
    (keras.regularizers.OrthogonalRegularizer(0.1), lambda x: orthogonal_reference(x, 0.1, True)),
    (keras.regularizers.OrthogonalRegularizer(0.2, mode="columns"), lambda x: orthogonal_reference(x, 0.2, False)),
])
def test_penalty_and_its_gradient(regularizer, reference):
    x = weights(np.random.default_rng(0), 4, 3)
    check_op(regularizer, reference, [x])


def test_penalty_op_long_inputs_zero_and_errors():
    x = weights(np.random.default_rng(3), 1001)  # past the 8 partial sums, with a tail
    x[:5] = 0.0
    check_op(lambda t: _core.apply("l1_l2_penalty", [t], l1=0.3, l2=0.2),
             lambda a: 0.3 * np.abs(a).sum() + 0.2 * np.square(a).sum(), [x], grad_inputs=[])
    t = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(t)
        penalty = _core.apply("l1_l2_penalty", [t], l1=0.3, l2=0.2)
    np.testing.assert_allclose(tape.gradient(penalty, t).numpy(), 0.3 * np.sign(x) + 0.4 * x, rtol=1e-6)  # 0 at 0
    with pytest.raises(ValueError, match="must be >= 0"):
        _core.apply("l1_l2_penalty", [t], l1=-0.1)


def test_keras_documented_values():
    assert float(keras.regularizers.L2(2.0)(np.ones((5, 5), np.float32))) == 50.0
    layer = layers.Dense(5, kernel_initializer="ones", kernel_regularizer=keras.regularizers.L1(0.01),
                         activity_regularizer=keras.regularizers.L2(0.01))
    layer(np.full((5, 5), 2.0, np.float32))
    assert float(sum(layer.losses)) == pytest.approx(5.25)  # kernel 0.25, activity 25 / batch of 5
    assert float(keras.regularizers.L1L2()(np.ones(3, np.float32))) == 0.0

    def l1_reg(weight_matrix):  # a function as a regularizer, in keras.ops
        return 0.01 * keras.ops.sum(keras.ops.absolute(weight_matrix))
    layer = layers.Dense(5, kernel_initializer="ones", kernel_regularizer=l1_reg)
    layer(np.ones((5, 5), np.float32))
    assert [float(l) for l in layer.losses] == pytest.approx([0.25])


def test_get_names_configs_and_classes():
    get = keras.regularizers.get
    assert get(None) is None
    assert isinstance(get("l1"), keras.regularizers.L1) and get("l1").l1 == 0.01
    assert get("l2").get_config() == {"l2": 0.01}
    assert get("l1l2").get_config() == {"l1": 0.0, "l2": 0.0}  # Keras 3's defaults for L1L2
    assert isinstance(get("orthogonal_regularizer"), keras.regularizers.OrthogonalRegularizer)
    assert get(keras.regularizers.L2).l2 == 0.01
    reg = keras.regularizers.L1L2(l1=0.1, l2=0.2)
    assert get(reg) is reg
    assert get({"class_name": "L2", "config": {"l2": 0.5}}).l2 == 0.5
    assert keras.regularizers.deserialize(keras.regularizers.serialize(reg)).get_config() == reg.get_config()
    assert keras.regularizers.l1 is keras.regularizers.L1 and keras.regularizers.l1_l2 is keras.regularizers.L1L2
    assert keras.Regularizer is keras.regularizers.Regularizer

    def fn(w):
        return 0.01 * tf.reduce_sum(tf.abs(w))
    assert get(fn) is fn
    for bad in ("l3", 3, {"class_name": "Nope", "config": {}}):
        with pytest.raises(ValueError, match="Could not interpret regularizer identifier"):
            get(bad)


@pytest.mark.parametrize("make,match", [
    (lambda: keras.regularizers.L2(-1), "l2"),
    (lambda: keras.regularizers.L1(float("nan")), "l1"),
    (lambda: keras.regularizers.L1L2(l1="a"), "l1"),
    (lambda: keras.regularizers.L1L2(l2=float("inf")), "l2"),
    (lambda: keras.regularizers.OrthogonalRegularizer(-0.1), "factor"),
    (lambda: keras.regularizers.OrthogonalRegularizer(mode="diagonal"), "mode"),
])
def test_bad_factors(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_orthogonal_regularizer_needs_a_matrix():
    with pytest.raises(ValueError, match="rank 2"):
        keras.regularizers.OrthogonalRegularizer()(np.ones((2, 2, 2), np.float32))


def test_base_class_and_subclasses():
    class L2Regularizer(keras.regularizers.Regularizer):  # Keras' docstring example
        def __init__(self, l2=0.0):
            self.l2 = l2

        def __call__(self, x):
            return self.l2 * tf.reduce_sum(tf.square(x))

        def get_config(self):
            return {"l2": float(self.l2)}

    layer = layers.Dense(5, kernel_initializer="ones", kernel_regularizer=L2Regularizer(l2=0.5))
    layer(np.ones((5, 5), np.float32))
    assert float(sum(layer.losses)) == 12.5
    assert keras.regularizers.Regularizer()(np.ones(3)) == 0.0
    with pytest.raises(NotImplementedError):
        keras.regularizers.Regularizer().get_config()


def test_weight_penalties_follow_the_current_weights_of_trainable_weights_only():
    layer = layers.Dense(3, kernel_regularizer="l2", bias_regularizer=keras.regularizers.L1(0.5))
    layer(np.ones((2, 4), np.float32))
    rng = np.random.default_rng(1)
    kernel, bias = weights(rng, 4, 3), weights(rng, 3)
    layer.set_weights([kernel, bias])
    expected = 0.01 * np.square(kernel.astype(np.float64)).sum() + 0.5 * np.abs(bias.astype(np.float64)).sum()
    assert float(sum(layer.losses)) == pytest.approx(expected, rel=1e-6)
    layer.trainable = False  # as Keras: the penalties are those of the trainable weights
    assert layer.losses == []
    inputs = keras.Input((4,))
    model = keras.Model(inputs, layers.Dense(1)(layer(inputs)))
    assert model.losses == [] and len(model.trainable_weights) == 2 and len(model.non_trainable_weights) == 2
    layer.trainable = True
    assert float(sum(model.losses)) == pytest.approx(expected, rel=1e-6)


def test_activity_penalty_is_per_call_and_divided_by_the_batch_size():
    layer = layers.Dense(2, kernel_initializer="ones", activity_regularizer="l1")
    x = np.arange(12, dtype=np.float32).reshape(6, 2)
    out = layer(x).numpy()
    assert len(layer.losses) == 1
    assert float(layer.losses[0]) == pytest.approx(0.01 * np.abs(out).sum() / 6, rel=1e-6)
    layer(x[:3])
    assert float(layer.losses[0]) == pytest.approx(0.01 * np.abs(out[:3]).sum() / 3, rel=1e-6)
    assert layer.get_config()["activity_regularizer"] == keras.regularizers.serialize(layer.activity_regularizer)


def test_every_layer_takes_an_activity_regularizer_and_custom_weights_take_regularizers():
    class Scale(layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="w",
                                     regularizer=keras.regularizers.L2(0.5), constraint="non_neg")

        def call(self, inputs):
            return inputs * self.w

    layer = Scale(activity_regularizer=keras.regularizers.L2(0.1))
    out = layer(np.full((4, 3), 2.0, np.float32))
    assert [float(l) for l in layer.losses] == pytest.approx([0.1 * 48 / 4, 0.5 * 3])
    assert isinstance(layer.w.constraint, keras.constraints.NonNeg)
    assert out.shape == (4, 3)


@pytest.mark.parametrize("make,penalties", [
    (lambda: layers.Conv2D(2, 3, kernel_regularizer="l2", bias_regularizer="l1"), {"kernel": "l2", "bias": "l1"}),
    (lambda: layers.Conv1D(2, 3, kernel_regularizer="l2", bias_regularizer="l1"), {"kernel": "l2", "bias": "l1"}),
    (lambda: layers.Conv2DTranspose(2, 3, kernel_regularizer="l1"), {"kernel": "l1"}),
    (lambda: layers.DepthwiseConv2D(3, depthwise_regularizer="l2", bias_regularizer="l1"),
     {"kernel": "l2", "bias": "l1"}),
    (lambda: layers.SeparableConv2D(2, 3, depthwise_regularizer="l2", pointwise_regularizer="l1",
                                    bias_regularizer="l2"),
     {"depthwise_kernel": "l2", "pointwise_kernel": "l1", "bias": "l2"}),
    (lambda: layers.Embedding(5, 2, embeddings_regularizer="l2"), {"embeddings": "l2"}),
    (lambda: layers.LayerNormalization(gamma_regularizer="l2", beta_regularizer="l1"), {"gamma": "l2", "beta": "l1"}),
    (lambda: layers.BatchNormalization(gamma_regularizer="l2", beta_regularizer="l1"), {"gamma": "l2", "beta": "l1"}),
])
def test_layer_arguments_put_a_penalty_on_each_weight(make, penalties):
    layer = make()
    spatial = (6, 6) if "2D" in type(layer).__name__ else (6,)
    x = np.array([[1, 2, 3, 4, 0, 1]], np.int32) if isinstance(layer, layers.Embedding) else \
        np.random.default_rng(0).random((1, *spatial, 2), np.float32)
    layer(x)
    rng = np.random.default_rng(2)
    for w in layer.weights:
        w.assign(weights(rng, *w.shape))
    values = {w.name: w.numpy().astype(np.float64) for w in layer.weights}
    formulas = {"l1": lambda w: 0.01 * np.abs(w).sum(), "l2": lambda w: 0.01 * np.square(w).sum()}
    expected = [formulas[kind](values[name]) for name, kind in penalties.items()]
    assert [float(l) for l in layer.losses] == pytest.approx(expected, rel=1e-5)
    config = layer.get_config()
    for name, kind in penalties.items():
        key = {"kernel": "depthwise" if "Depthwise" in type(layer).__name__ else "kernel",
               "depthwise_kernel": "depthwise", "pointwise_kernel": "pointwise"}.get(name, name)
        expected_class = {"l1": keras.regularizers.L1, "l2": keras.regularizers.L2}[kind]
        assert isinstance(keras.regularizers.get(config[f"{key}_regularizer"]), expected_class)


# -- fit -------------------------------------------------------------------------------------------
def data(n=192, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 8), dtype=np.float32), rng.integers(0, 3, n).astype("float32")


def regularized_model(seed=1, constraint=None):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape=(8,))
    h = layers.Dense(16, activation="relu", kernel_regularizer=keras.regularizers.L2(1e-2),
                     activity_regularizer=keras.regularizers.L1(1e-3), kernel_constraint=constraint)(inputs)
    outputs = layers.Dense(3, bias_regularizer="l2")(h)
    return keras.Model(inputs, outputs)


def by_hand(model, x, y, batch_size):
    """The mean over batches of crossentropy + 0.01 sum(k1^2) + 0.001 sum|h| / batch + 0.01 sum(b2^2)."""
    k1, b1, k2, b2 = (w.astype(np.float64) for w in model.get_weights())
    losses, sizes = [], []
    for i in range(0, len(x), batch_size):
        xb, yb = x[i:i + batch_size].astype(np.float64), y[i:i + batch_size].astype(int)
        h = np.maximum(xb @ k1 + b1, 0)
        z = h @ k2 + b2
        z = z - z.max(1, keepdims=True)
        data_loss = np.mean(np.log(np.exp(z).sum(1)) - z[np.arange(len(yb)), yb])
        penalty = 0.01 * np.square(k1).sum() + 1e-3 * np.abs(h).sum() / len(xb) + 0.01 * np.square(b2).sum()
        losses.append(data_loss + penalty)
        sizes.append(len(xb))
    return np.average(losses, weights=sizes)


def compile_model(model, learning_rate=0.1, eager=False):
    model.compile(optimizer=keras.optimizers.SGD(learning_rate), run_eagerly=eager,
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def test_reported_loss_is_the_data_loss_plus_the_penalties():
    x, y = data()
    model = regularized_model()
    compile_model(model, learning_rate=0.0)  # the weights stay: the epoch's loss is at them
    model.get_layer(index=2).bias.assign(np.array([0.5, -1.0, 2.0], np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = model.fit(x, y, batch_size=50, epochs=1, shuffle=False, verbose=0).history["loss"][0]
        evaluated = model.evaluate(x, y, batch_size=64, verbose=0)
    assert loss == pytest.approx(by_hand(model, x, y, 50), rel=1e-5)
    assert evaluated == pytest.approx(by_hand(model, x, y, 64), rel=1e-5)
    assert not model._fallback_reasons
    for mode in ("train", "test"):
        runner = runner_of(model, mode)
        assert isinstance(runner, CompiledRunner)
        assert runner.program.splits(mode)  # the activity penalty over the batch size splits as a mean


def test_compiled_fit_equals_eager():
    x, y = data()
    runs = fit_compiled_and_eager(lambda eager: compile_model(regularized_model(), eager=eager), x, y,
                                  batch_size=32, epochs=3)
    (loss, w, _), (loss_eager, w_eager, _) = runs
    np.testing.assert_allclose(loss, loss_eager, rtol=1e-5)
    for a, b in zip(w, w_eager):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert loss[-1] < loss[0]


def test_gradient_tape_loop_trains_the_weight_penalty():
    x, y = data(64)
    model = regularized_model()
    optimizer = keras.optimizers.SGD(0.5)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    penalties = []
    for _ in range(10):
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True)) + sum(model.losses)
        penalties.append(float(0.01 * tf.reduce_sum(tf.square(model.weights[0]))))
        grads = tape.gradient(loss, model.trainable_weights)
        optimizer.apply_gradients(zip(grads, model.trainable_weights))
    assert penalties[-1] < penalties[0]
