"""fit, evaluate and predict with their programs on the GPU: the same results as on the CPU (exactly
on the emulated GPU, which runs the CPU kernels; to rounding on a real one), the variables and the
optimizer's state written back, metrics folded on the device or the host, the CPU fallback's warning."""
import warnings

import numpy as np
import pytest

import fastfit as keras
from fastfit import layers
from conftest import guide_model, real_gpu
from helpers import runner_of


def data(n=512, seed=0, d=784, classes=10):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)).astype("float32")
    y = np.abs(x[:, :classes]).argmax(1).astype("int32")  # learnable labels
    return x, y


def tol():
    """One shard on the device, two on the CPU: sums round differently. On a real GPU the matrix products
    round differently too, and over a few epochs a prediction near a tie may flip: an accuracy may
    differ by a sample or two."""
    return dict(rtol=1e-2, atol=1e-2) if real_gpu() else dict(rtol=1e-5, atol=1e-6)


def train(device, build, compile_kw, fit_kw, x, y):
    model = build()  # the variables on the CPU; the program where the scope says
    model.compile(**compile_kw)
    with keras.device(device):
        history = model.fit(x, y, verbose=0, **fit_kw)
        assert runner_of(model, "train").program.device == device
        return model, history.history


GUIDE = dict(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=["sparse_categorical_accuracy"])


@pytest.mark.parametrize("optimizer,metrics", [
    ("rmsprop", ["sparse_categorical_accuracy"]),  # metrics folded on the device: each step is a CUDA graph
    ("adam", ["sparse_categorical_accuracy", "sparse_categorical_crossentropy"]),
    ("sgd", ["sparse_categorical_accuracy"]),
    ("adamw", ["sparse_categorical_accuracy"]),
    ("nadam", ["sparse_categorical_accuracy"]),
    ("adagrad", ["sparse_categorical_accuracy"]),
    ("lion", ["sparse_categorical_accuracy"]),
    ("rmsprop", [keras.metrics.SparseTopKCategoricalAccuracy(k=3)]),  # folded on the host: steps run uncaptured
])
def test_fit_on_the_gpu_matches_the_cpu(gpu, optimizer, metrics):
    x, y = data()
    compile_kw = dict(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=metrics)
    fit_kw = dict(batch_size=64, epochs=2, validation_split=0.25)
    cpu, h_cpu = train("CPU", guide_model, compile_kw, fit_kw, x, y)
    dev, h_gpu = train("GPU", guide_model, compile_kw, fit_kw, x, y)
    assert sorted(h_cpu) == sorted(h_gpu)
    for key in h_cpu:
        np.testing.assert_allclose(h_gpu[key], h_cpu[key], err_msg=key, **tol())
    for a, b in zip(dev.get_weights(), cpu.get_weights()):
        np.testing.assert_allclose(a, b, **tol())
    for a, b in zip(dev.optimizer.variables, cpu.optimizer.variables):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), **tol())
    with keras.device("GPU"):
        ev = dev.evaluate(x[:100], y[:100], verbose=0, return_dict=True)
        pred = dev.predict(x[:100], verbose=0)
    with keras.device("CPU"):
        want_ev = dev.evaluate(x[:100], y[:100], verbose=0, return_dict=True)
        want_pred = dev.predict(x[:100], verbose=0)
    np.testing.assert_allclose(pred, want_pred, **tol())
    for key in want_ev:
        np.testing.assert_allclose(ev[key], want_ev[key], err_msg=key, **tol())


def test_programs_run_on_the_gpu_by_default(gpu):
    x, y = data(n=128)
    model = guide_model()
    model.compile(**GUIDE)
    model.fit(x, y, batch_size=32, epochs=1, verbose=0)
    assert runner_of(model, "train").program.device == "GPU"
    with keras.device("CPU"):  # a scope decides otherwise
        model.fit(x, y, batch_size=32, epochs=1, verbose=0)
    assert {r.program.device for k, r in model._programs.items() if k[0] == "train"} == {"CPU", "GPU"}


def test_dropout_batchnorm_and_generators_on_the_gpu(gpu):
    x, y = data(n=256, d=20, classes=4)

    def build():
        keras.utils.set_random_seed(5)
        return keras.Sequential([keras.Input((20,)), layers.Dense(32, activation="relu"), layers.BatchNormalization(),
                                 layers.Dropout(0.3), layers.Dense(4, activation="softmax")])

    def batches():
        for i in range(0, 256, 32):
            yield x[i:i + 32], y[i:i + 32]

    results = []
    for device in ("CPU", "GPU"):
        model = build()
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        with keras.device(device):
            model.fit(x, y, batch_size=32, epochs=2, verbose=0, shuffle=True)
            model.fit(batches(), epochs=1, verbose=0)
            results.append(model.get_weights())  # the moving statistics too
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, **tol())


def test_an_optimizer_option_without_a_gpu_kernel_falls_back_to_the_cpu_with_a_warning(gpu):
    x, y = data(n=64)
    model = guide_model()
    model.compile(optimizer=keras.optimizers.SGD(clipnorm=1.0), loss="sparse_categorical_crossentropy")
    with pytest.warns(UserWarning, match="fit runs on the CPU, not the GPU, because clipnorm has no GPU kernel"):
        model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    assert runner_of(model, "train").program.device == "CPU"


def test_weight_constraints_fall_back_to_the_cpu_with_a_warning(gpu):
    x, y = data(n=64)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((784,)), layers.Dense(10, kernel_constraint=keras.constraints.MaxNorm(0.5))])
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss="mse")
    with pytest.warns(UserWarning, match="fit runs on the CPU, not the GPU, because weight constraints have no GPU"):
        model.fit(x, np.eye(10, dtype="float32")[y], batch_size=16, epochs=1, verbose=0)
    assert runner_of(model, "train").program.device == "CPU"
    norms = np.sqrt((model.get_weights()[0] ** 2).sum(axis=0))
    assert norms.max() <= 0.5 + 1e-6


def test_a_compiled_tf_function_step_runs_on_the_cpu_with_a_warning(gpu):
    x, y = data(n=64)
    model = guide_model()
    optimizer = keras.optimizers.SGD(0.1)
    loss_fn = keras.losses.SparseCategoricalCrossentropy()

    @keras.function
    def step(xb, yb):
        with keras.GradientTape() as tape:
            loss = loss_fn(yb, model(xb, training=True))
        grads = tape.gradient(loss, model.trainable_weights)
        optimizer.apply_gradients(zip(grads, model.trainable_weights))
        return loss

    with pytest.warns(UserWarning, match="compiled tf.function step runs on the CPU"):
        losses = [float(step(x[i:i + 16], y[i:i + 16])) for i in range(0, 64, 16)]
    assert np.all(np.isfinite(losses))


def test_bad_labels_raise_on_the_gpu(gpu):
    x, y = data(n=64)
    model = guide_model()
    model.compile(**GUIDE)

    def batches():
        yield x[:32], y[:32]
        yield x[32:], np.full(32, 12, np.int32)

    with pytest.raises(ValueError, match=r"labels must be in \[0, 10\), got 12 at position 0"):
        model.fit(batches(), epochs=1, verbose=0)


def test_a_cpu_program_refuses_variables_on_the_gpu(gpu):
    x, y = data(n=64)
    with keras.device("GPU"):
        model = guide_model()
    model.compile(**GUIDE)
    with keras.device("CPU"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match="a program on the CPU cannot use a variable that lives on the GPU"):
            model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    with keras.device("GPU"):  # on the GPU they are used in place
        model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    assert model.get_weights()[0].shape == (784, 64)
