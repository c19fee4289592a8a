"""Fusions the compiled program makes (csrc/train/fusion.h): a Conv1D/2D (relu or linear) whose output only
a MaxPooling1D/2D reads runs as one op. The fused program must compute what the eager layers compute: the
forward, and one SGD step of fit against the gradients of a GradientTape over the eager model."""
import numpy as np
import pytest

import fastfit as keras
from fastfit import layers
from helpers import runner_of

FUSED = "conv2d_max_pool2d"


def train_step_matches_eager(make, x, y, lr=0.1):
    """One SGD step of fit (compiled) against the eager gradients; predict against model(x)."""
    keras.utils.set_random_seed(1)
    model = make()
    start = model.get_weights()
    model.compile(keras.optimizers.SGD(lr), "sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=len(x), epochs=1, shuffle=False, verbose=0)
    fitted = model.get_weights()

    model.set_weights(start)
    with keras.GradientTape() as tape:
        loss = keras.losses.SparseCategoricalCrossentropy()(y, model(x, training=True))
    grads = tape.gradient(loss, model.trainable_weights)
    expected = [w - lr * np.asarray(g) for w, g in zip(start, grads)]
    for got, want in zip(fitted, expected):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)

    model.set_weights(fitted)
    np.testing.assert_allclose(model.predict(x, batch_size=len(x), verbose=0), np.asarray(model(x)), rtol=1e-5,
                               atol=1e-6)
    return runner_of(model, "train").program.op_names


def classifier(body, shape):
    return lambda: keras.Sequential([keras.Input(shape=shape), *body(), layers.Flatten(),
                                     layers.Dense(5, activation="softmax")])


CASES = {
    # the Fashion-MNIST CNN's pattern (16 filters over one channel: the direct kernels vectorised over filters)
    "relu, 2x2": (lambda: [layers.Conv2D(16, 3, activation="relu"), layers.MaxPooling2D()], (14, 14, 1)),
    # its first layer: blocks of 3 images (the same kernels)
    "32 filters, several blocks": (lambda: [layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D()],
                                   (28, 28, 1)),
    "48 filters, same padding, strides": (lambda: [layers.Conv2D(48, 3, strides=2, padding="same", activation="relu"),
                                                   layers.MaxPooling2D(3, strides=2, padding="same")], (15, 15, 3)),
    # few filters: the direct kernels, a block of several images
    "direct kernels": (lambda: [layers.Conv2D(4, 3, activation="relu"), layers.MaxPooling2D()], (12, 12, 2)),
    "linear, odd sizes": (lambda: [layers.Conv2D(12, (3, 2), use_bias=False), layers.MaxPooling2D()], (13, 11, 3)),
    "same padding, strides": (lambda: [layers.Conv2D(10, 3, strides=2, padding="same", activation="relu"),
                                       layers.MaxPooling2D(3, strides=2, padding="same")], (15, 15, 2)),
    "overlapping windows": (lambda: [layers.Conv2D(9, 2, dilation_rate=2, activation="relu"),
                                     layers.MaxPooling2D(3, strides=1)], (11, 10, 2)),
    # the second on Winograd (16 channels in and out), in blocks of four images
    "two fused layers": (lambda: [layers.Conv2D(16, 3, activation="relu"), layers.MaxPooling2D(),
                                  layers.Conv2D(16, 3, activation="relu"), layers.MaxPooling2D()], (20, 20, 1)),
    # 1-D: the GEMM path, the direct kernels, causal padding with dilation and 'same' pooling
    "1-D": (lambda: [layers.Conv1D(16, 3, activation="relu"), layers.MaxPooling1D()], (21, 5)),
    "1-D direct kernels": (lambda: [layers.Conv1D(4, 5, activation="relu"), layers.MaxPooling1D(3)], (40, 2)),
    "1-D causal": (lambda: [layers.Conv1D(12, 3, padding="causal", dilation_rate=2),
                            layers.MaxPooling1D(3, strides=2, padding="same")], (17, 3)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_fused_convolution_and_pooling_train_as_the_eager_layers(name):
    body, shape = CASES[name]
    rng = np.random.default_rng(0)
    x = rng.normal(size=(23,) + shape).astype("float32")
    y = rng.integers(0, 5, 23)
    ops = train_step_matches_eager(classifier(body, shape=shape), x, y)
    fused = FUSED if len(shape) == 3 else "conv1d_max_pool1d"
    assert fused in ops and not {"max_pool1d", "max_pool2d"} & set(ops), ops


def test_no_fusion_where_the_convolution_output_is_needed_or_the_activation_is_not_relu():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(9, 8, 8, 2)).astype("float32")
    y = rng.integers(0, 5, 9)
    tanh = classifier(lambda: [layers.Conv2D(6, 3, activation="tanh"), layers.MaxPooling2D()], shape=(8, 8, 2))
    assert FUSED not in train_step_matches_eager(tanh, x, y)

    def two_readers():  # the convolution's output feeds the pooling and a second branch
        inputs = keras.Input(shape=(8, 8, 2))
        c = layers.Conv2D(6, 3, activation="relu")(inputs)
        merged = layers.concatenate([layers.Flatten()(layers.MaxPooling2D()(c)), layers.GlobalMaxPooling2D()(c)])
        return keras.Model(inputs, layers.Dense(5, activation="softmax")(merged))
    ops = train_step_matches_eager(two_readers, x, y)
    assert FUSED not in ops and "conv2d" in ops and "max_pool2d" in ops


def test_a_convolution_output_that_is_a_model_output_is_not_fused():
    inputs = keras.Input(shape=(8, 8, 1))
    c = layers.Conv2D(3, 3, activation="relu", name="features")(inputs)
    pooled = layers.Flatten()(layers.MaxPooling2D()(c))
    model = keras.Model(inputs, [c, layers.Dense(2, name="logits")(pooled)])
    x = np.random.default_rng(2).normal(size=(20, 8, 8, 1)).astype("float32")
    features, logits = model.predict(x, batch_size=8, verbose=0)
    want_features, want_logits = model(x)
    np.testing.assert_allclose(features, np.asarray(want_features), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(logits, np.asarray(want_logits), rtol=1e-5, atol=1e-6)
    assert FUSED not in runner_of(model, "predict").program.op_names


def test_the_fused_op_on_the_gpu_trains_as_on_the_cpu(gpu):
    """On the GPU (the emulated one here: host memory, the CPU kernels) the fused op runs im2col + GEMM
    and the GPU's pooling kernels on its blocks of images."""
    from conftest import real_gpu
    body, shape = CASES["two fused layers"]
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(40,) + shape).astype("float32"), rng.integers(0, 5, 40)
    runs = []
    for device in ("CPU", "GPU"):
        keras.utils.set_random_seed(2)
        model = classifier(body, shape)()
        model.compile(keras.optimizers.SGD(0.05), "sparse_categorical_crossentropy")
        with keras.device(device):
            history = model.fit(x, y, batch_size=20, epochs=2, shuffle=False, verbose=0).history
            program = runner_of(model, "train").program
            assert program.device == device and FUSED in program.op_names
        runs.append((history["loss"], model.get_weights()))
    tol = dict(rtol=1e-3, atol=1e-4) if real_gpu() else dict(rtol=1e-4, atol=1e-5)
    (loss_cpu, w_cpu), (loss_gpu, w_gpu) = runs
    np.testing.assert_allclose(loss_gpu, loss_cpu, **tol)
    for a, b in zip(w_gpu, w_cpu):
        np.testing.assert_allclose(a, b, **tol)
