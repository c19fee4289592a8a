"""tf.function: the guide's custom loop compiled per input signature, checked against eager, replayed;
retracing as TensorFlow keys it; `training` inside; refusals that fall back to eager with a warning;
the arguments tf.function takes."""
import warnings

import numpy as np
import pytest

import fastfit as tf
import fastfit as keras
from fastfit import layers


def make_model(seed=0, dropout=0.0):
    """The guide's MLP, small: 8 -> 16 relu -> 16 relu -> 3 logits (Dropout after each hidden layer)."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape=(8,))
    x = inputs
    for _ in range(2):
        x = layers.Dense(16, activation="relu")(x)
        if dropout:
            x = layers.Dropout(dropout)(x)
    return keras.Model(inputs, layers.Dense(3)(x))


def make_data(n=100, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 8)).astype("float32")
    return x, (x[:, :3].argmax(1)).astype("uint8")  # learnable labels


class GuideLoop:
    """The guide's custom loop: a train step with a GradientTape and a test step, each a metric update."""

    def __init__(self, compiled, dropout=0.0, learning_rate=0.1):
        self.model = make_model(dropout=dropout)
        self.optimizer = keras.optimizers.SGD(learning_rate=learning_rate)
        self.loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        self.train_acc = keras.metrics.SparseCategoricalAccuracy()
        self.val_acc = keras.metrics.SparseCategoricalAccuracy()
        self.train_step = tf.function(self._train_step) if compiled else self._train_step
        self.test_step = tf.function(self._test_step) if compiled else self._test_step

    def _train_step(self, x, y):
        with tf.GradientTape() as tape:
            logits = self.model(x, training=True)
            loss_value = self.loss_fn(y, logits)
        grads = tape.gradient(loss_value, self.model.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.model.trainable_weights))
        self.train_acc.update_state(y, logits)
        return loss_value

    def _test_step(self, x, y):
        self.val_acc.update_state(y, self.model(x, training=False))

    def run(self, epochs, x, y):
        """Per epoch: (mean loss, train accuracy, validation accuracy), as the guide logs them."""
        train = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(buffer_size=32, seed=1).batch(16)
        val = tf.data.Dataset.from_tensor_slices((x[:40], y[:40])).batch(16)
        logs = []
        for _ in range(epochs):
            losses = [float(self.train_step(xb, yb)) for xb, yb in train]
            train_acc = float(self.train_acc.result())
            self.train_acc.reset_state()
            for xb, yb in val:
                self.test_step(xb, yb)
            logs.append((np.mean(losses), train_acc, float(self.val_acc.result())))
            self.val_acc.reset_state()
        return logs


def compiled(fn):
    """Whether every signature `fn` traced replays its checked C++ program."""
    return bool(fn._steps) and all(step.program is not None for step in fn._steps.values())


def assert_same_weights(a, b, atol=1e-5):
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, atol=atol, rtol=0)


@pytest.mark.parametrize("dropout", [0.0, 0.3])
def test_guide_loop_compiled_learns_and_equals_eager(dropout):
    x, y = make_data()
    eager, fn = GuideLoop(False, dropout), GuideLoop(True, dropout)
    eager_logs, fn_logs = eager.run(4, x, y), fn.run(4, x, y)
    assert fn_logs[-1][0] < fn_logs[0][0] and eager_logs[-1][0] < eager_logs[0][0]  # the loss falls
    np.testing.assert_allclose(fn_logs, eager_logs, atol=1e-5)
    assert_same_weights(fn.model, eager.model)
    assert compiled(fn.train_step) and compiled(fn.test_step)
    # batches of 16 and the last one of 4 (100 rows), in training and validation (40 rows: 16 and 8)
    assert fn.train_step.experimental_get_tracing_count() == 2
    assert fn.test_step.experimental_get_tracing_count() == 2


def test_compiled_calls_do_not_run_python():
    """Python runs when a signature is traced and once more to check its program; then the program
    replays alone (Python side effects happen at tracing time, as in TensorFlow)."""
    loop = GuideLoop(True)
    calls = []
    step = tf.function(lambda x, y: calls.append(1) or loop._train_step(x, y))
    x, y = make_data(64)
    for i in range(0, 64, 16):
        step(tf.constant(x[i:i + 16]), tf.constant(y[i:i + 16].astype("int32")))
    assert len(calls) == 2 and compiled(step)


def test_each_input_signature_is_traced_and_python_values_are_part_of_it():
    calls = []

    @tf.function
    def scaled_rows(x, scale):
        calls.append((tuple(x.shape), x.dtype_name, scale))
        return tf.reduce_sum(tf.cast(x, "float32") * scale, axis=1)

    rng = np.random.default_rng(0)
    cases = [((4, 3), "float32", 2.0), ((5, 3), "float32", 2.0), ((4, 3), "float32", 3.0),
             ((4, 3), "int32", 2.0), ((4, 3, 2), "float32", 2.0)]
    for shape, dtype, scale in cases:
        for _ in range(4):  # traced, checked, then replayed: every result is right
            x = rng.integers(-5, 5, shape).astype(dtype)
            out = scaled_rows(tf.constant(x), scale)
            np.testing.assert_allclose(out.numpy(), (x.astype(np.float64) * scale).sum(1), rtol=1e-6)
    assert scaled_rows.experimental_get_tracing_count() == len(cases)
    assert sorted(set(calls)) == sorted({(s, d, v) for s, d, v in cases}) and compiled(scaled_rows)


def test_scalar_tensor_arguments_are_read_on_every_call_not_frozen():
    @tf.function
    def scaled(x, factor):
        return x * factor

    x = tf.constant(np.ones((3, 2), "float32"))
    for factor in (1.0, 2.0, 3.0, 4.0):  # a tensor is keyed by shape and dtype only: one trace
        np.testing.assert_allclose(scaled(x, tf.constant(factor)).numpy(), factor)
    assert scaled.experimental_get_tracing_count() == 1 and compiled(scaled)


def test_numpy_arguments_and_structures_are_keyed_by_shape_and_dtype():
    @tf.function
    def total(inputs):
        return inputs["a"] + tf.reduce_sum(inputs["b"], axis=1, keepdims=True)

    rng = np.random.default_rng(1)
    for _ in range(3):
        a, b = rng.normal(size=(6, 1)).astype("float32"), rng.normal(size=(6, 2)).astype("float32")
        np.testing.assert_allclose(total({"a": a, "b": b}).numpy(), a + b.sum(1, keepdims=True), rtol=1e-6)
    assert total.experimental_get_tracing_count() == 1 and compiled(total)


def test_training_argument_inside_reaches_dropout():
    model = make_model(dropout=0.5)
    forward = tf.function(lambda x, training: model(x, training=training))
    x = tf.constant(make_data(32)[0])
    inference = [forward(x, False).numpy() for _ in range(3)]
    training = [forward(x, True).numpy() for _ in range(3)]
    np.testing.assert_allclose(inference[-1], model(x, training=False).numpy(), rtol=1e-6)
    assert not np.allclose(training[-1], inference[-1])   # Dropout active
    assert not np.allclose(training[-1], training[-2])    # fresh random numbers each step
    assert compiled(forward) and forward.experimental_get_tracing_count() == 2


# -- steps that cannot be replayed: they run eagerly, with a warning that says why ------------------
def _step(loop, x, y, variant):
    with tf.GradientTape() as tape:
        logits = loop.model(x, training=True)
        loss = loop.loss_fn(y, logits)
        if variant == "python branch on a tensor" and loss > 100.0:
            loss = loss * 0.0
        if variant == "numpy":
            loss = loss * float(loss.numpy() > 0)
        if variant == "python state that changes between calls":
            loop.calls = getattr(loop, "calls", 0) + 1
            loss = loss * float(loop.calls)
        if variant == "per-sample losses differentiated":
            loss = keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True)
    if variant == "output_gradients":
        grads = tape.gradient(logits, loop.model.trainable_weights, output_gradients=tf.ones_like(logits))
    elif variant == "gradients from outside":
        grads = [tf.ones_like(w) * 0.01 for w in loop.model.trainable_weights]
    else:
        grads = tape.gradient(loss, loop.model.trainable_weights)
    if variant == "gradients changed by hand":
        grads = [g * 0.5 for g in grads]
    if variant == "gradients not applied":
        return loss, grads
    pairs = list(zip(grads, loop.model.trainable_weights))
    if variant == "two optimizers":
        keras.optimizers.SGD(0.05).apply_gradients(pairs[:2])
        pairs = pairs[2:]
    loop.optimizer.apply_gradients(pairs)
    if variant == "gradient norm returned":
        return loss, tf.reduce_sum(tf.square(grads[0]))
    if variant == "weights read after the update":
        return loss + tf.reduce_sum(loop.model.trainable_weights[0])
    if variant == "columns returned":
        return tf.reduce_sum(logits, axis=0)
    if variant == "metric result read":
        loop.train_acc.update_state(y, logits)
        return loss + loop.train_acc.result()
    return loss


REFUSALS = {
    "python branch on a tensor": "converted to a Python or NumPy value",
    "numpy": r"converted to a Python or NumPy value \(numpy\(\)\)",
    "gradients changed by hand": "values other than the tape's gradients",
    "gradient norm returned": "an op reads the gradients",
    "gradients not applied": "computes gradients without applying them",
    "two optimizers": "more than once",
    "weights read after the update": "reads the weights after apply_gradients",
    "output_gradients": "output_gradients",
    "per-sample losses differentiated": r"target has shape \(16,\)",
    "gradients from outside": "applies gradients that were not computed in it",
    "columns returned": r"returns a tensor of shape \(3,\), neither a scalar nor a batch of rows",
    "metric result read": "it computes with the result of metric 'sparse_categorical_accuracy.*'",
    "python state that changes between calls": "returned value 0 differs from the eager step's on a new call",
}


@pytest.mark.parametrize("variant", sorted(REFUSALS))
def test_steps_that_cannot_be_compiled_run_eagerly_with_a_warning(variant):
    x, y = make_data(48)
    batches = [(tf.constant(x[i:i + 16]), tf.constant(y[i:i + 16].astype("int32"))) for i in range(0, 48, 16)]
    eager, fn = GuideLoop(False), GuideLoop(False)
    step = tf.function(lambda x, y: _step(fn, x, y, variant))
    with pytest.warns(UserWarning, match=f"runs eagerly .*because .*{REFUSALS[variant]}"):  # traced, or checked
        results = [step(*b) for b in batches[:2]][1:]
    results.append(step(*batches[2]))
    expected = [_step(eager, *b, variant) for b in batches][1:]
    for got, want in zip(results, expected):
        for g, w in zip(_leaves(got), _leaves(want)):
            np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-6)
    assert_same_weights(fn.model, eager.model, atol=0)
    assert not compiled(step)


def _leaves(value):
    return [v for item in value for v in _leaves(item)] if isinstance(value, (list, tuple)) else [value]


def test_a_step_without_a_batch_runs_eagerly_with_a_warning():
    v = tf.Variable(1.0)
    step = tf.function(lambda s: v.assign_add(s))
    with pytest.warns(UserWarning, match="no tensor with a batch axis"):
        step(tf.constant(2.0))
    step(tf.constant(3.0))
    assert float(v.numpy()) == 6.0


# -- arguments ----------------------------------------------------------------------------------
def test_accepted_arguments_compile_and_unknown_ones_raise():
    x, y = make_data(48)
    for kwargs in ({"jit_compile": True}, {"reduce_retracing": True}, {"autograph": False},
                   {"experimental_relax_shapes": True}, {"experimental_compile": True}):
        loop = GuideLoop(False)
        step = tf.function(**kwargs)(loop._train_step)
        for i in range(0, 48, 16):
            step(tf.constant(x[i:i + 16]), tf.constant(y[i:i + 16].astype("int32")))
        assert compiled(step), kwargs
    with pytest.raises(TypeError, match="unexpected keyword"):
        tf.function(lambda x: x, not_an_argument=True)
    with pytest.raises(NotImplementedError, match="experimental_implements"):
        tf.function(lambda x: x, experimental_implements="name")
    with pytest.raises(TypeError, match="callable"):
        tf.function(3)


def test_input_signature_is_checked():
    @tf.function(input_signature=[tf.TensorSpec((None, 3), tf.float32)])
    def double(x):
        return x * 2.0

    np.testing.assert_allclose(double(tf.constant(np.ones((2, 3), "float32"))).numpy(), 2.0)
    with pytest.raises(ValueError, match=r"shape \(2, 4\).*input_signature"):
        double(tf.constant(np.ones((2, 4), "float32")))
    with pytest.raises(ValueError, match="has 1 arguments, the call passed 2"):
        double(tf.constant(np.ones((2, 3), "float32")), 1.0)


def test_a_method_is_compiled_per_instance():
    class Scaler:
        def __init__(self, factor):
            self.factor = tf.Variable(factor)

        @tf.function
        def __call__(self, x):
            return x * self.factor

    a, b = Scaler(2.0), Scaler(3.0)
    x = tf.constant(np.ones((4, 2), "float32"))
    for _ in range(3):
        np.testing.assert_allclose(a(x).numpy(), 2.0)
        np.testing.assert_allclose(b(x).numpy(), 3.0)
    b.factor.assign(5.0)  # a variable is read by the replay, not frozen into it
    np.testing.assert_allclose(b(x).numpy(), 5.0)


def test_the_replay_checks_the_arrays_it_is_given():
    loop = GuideLoop(True)
    x, y = make_data(48)
    for i in range(0, 48, 16):
        loop.test_step(tf.constant(x[i:i + 16]), tf.constant(y[i:i + 16].astype("int32")))
    step = next(iter(loop.test_step._steps.values()))
    rows, labels = tf.constant(x[:16]), tf.constant(y[:8].astype("int32"))
    with pytest.raises(ValueError, match=r"expected arrays of 16 rows \(the batch\), got int32 \(8,\)"):
        step.program.call("test", [rows, labels], step.states)
    with pytest.raises(ValueError, match=r"expected samples of float32 \(16, 8\).*got float32 \(16, 5\)"):
        step.program.call("test", [tf.constant(np.zeros((16, 5), "float32")), tf.constant(y[:16].astype("int32"))],
                          step.states)
    with pytest.raises(ValueError, match="predict with run"):
        step.program.call("predict", [rows], step.states)


def test_a_step_returning_metric_results_compiles_and_returns_each_calls_running_value():
    x, y = make_data(64)
    batches = [(tf.constant(x[i:i + 16]), tf.constant(y[i:i + 16].astype("int32"))) for i in range(0, 64, 16)]
    got, want = GuideLoop(False), GuideLoop(False)

    def step(loop, xb, yb):
        loss = loop._train_step(xb, yb)
        return {"loss": loss, "accuracy": loop.train_acc.result()}

    compiled = tf.function(lambda xb, yb: step(got, xb, yb))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # compiled: no fallback
        results = [compiled(xb, yb) for xb, yb in batches]
    assert compiled.python_function is not None and all(s.program is not None for s in compiled._steps.values())
    for (xb, yb), r in zip(batches, results):
        w = step(want, xb, yb)
        np.testing.assert_allclose(float(r["loss"]), float(w["loss"]), rtol=1e-5)
        np.testing.assert_allclose(float(r["accuracy"]), float(w["accuracy"]), rtol=1e-6)
