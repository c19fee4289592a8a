"""Tensors on the GPU: placement, copies between devices, gradients across them, the errors of a
mismatch. Runs on the real GPU, or on the emulated one (host memory, CPU kernels) without one."""
import numpy as np
import pytest

import fastfit as tf
from fastfit import _core
from conftest import real_gpu


def close(a, b):
    np.testing.assert_allclose(a, b, rtol=1e-5 if real_gpu() else 0, atol=1e-6 if real_gpu() else 0)


def test_a_gpu_is_listed(gpu):
    assert [d.name for d in tf.config.list_physical_devices("GPU")] == ["/physical_device:GPU:0"]
    assert tf.cuda.is_available()


@pytest.mark.parametrize("name", ["/GPU:0", "GPU", "gpu", "cuda", "cuda:0", "/device:GPU:0",
                                  "/job:localhost/replica:0/task:0/device:GPU:0"])
def test_tensors_made_in_a_gpu_scope_live_there(gpu, name):
    with tf.device(name):
        t = tf.constant([[1.0, 2.0]])
        v = tf.Variable([3.0])
    assert t.device.endswith("device:GPU:0") and v.device.endswith("device:GPU:0")
    np.testing.assert_array_equal(t.numpy(), [[1.0, 2.0]])  # numpy() copies back to the host
    assert tf.constant(1.0).device.endswith("device:CPU:0")  # no scope: the CPU


def test_ops_follow_their_inputs_and_scopes(gpu):
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    with tf.device("cuda"):
        x = tf.constant(a)
    y = tf.matmul(x, x, transpose_b=True)  # no scope: where its input is
    assert y.device.endswith("GPU:0")
    close(y.numpy(), a @ a.T)
    with tf.device("cpu"):
        z = tf.reduce_sum(x)  # the scope wins: x is copied to the CPU
    assert z.device.endswith("CPU:0") and float(z) == a.sum()


def test_inputs_on_the_other_device_are_copied_and_gradients_flow_back(gpu):
    rng = np.random.default_rng(0)
    w_np, x_np = rng.normal(size=(3, 4)).astype(np.float32), rng.normal(size=(5, 3)).astype(np.float32)
    w = tf.Variable(w_np)  # a CPU variable used on the GPU
    with tf.device("/GPU:0"):
        x = tf.constant(x_np)
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.square(tf.matmul(x, w)))
        (g,) = tape.gradient(loss, [w])
    assert loss.device.endswith("GPU:0") and g.device.endswith("CPU:0")  # the gradient lives with w
    close(g.numpy(), 2 * x_np.T @ (x_np @ w_np))


def test_a_mismatch_in_a_direct_op_call_is_a_clear_error(gpu):
    with tf.device("GPU"):
        x = tf.constant(np.ones((2, 2), np.float32))
    y = tf.constant(np.ones((2, 2), np.float32))
    with pytest.raises(ValueError, match=r"MatMul: input 1 is on the CPU, but the op runs on the GPU"):
        _core.Op("matmul").forward([x, y], threads=1)


def test_the_optimizer_steps_variables_on_the_gpu(gpu):
    rng = np.random.default_rng(1)
    w0, g0 = rng.normal(size=(7, 5)).astype(np.float32), rng.normal(size=(7, 5)).astype(np.float32)
    results = []
    for device in ("CPU", "GPU"):
        with tf.device(device):
            w = tf.Variable(w0)
            opt = tf.optimizers.AdamW(learning_rate=0.1, weight_decay=0.05)
            for _ in range(3):
                opt.apply_gradients([(tf.constant(g0), w)])
        assert w.device.endswith(f"{device}:0")
        results.append(w.numpy())
    close(results[1], results[0])


def test_optimizer_options_without_a_gpu_kernel_raise(gpu):
    with tf.device("GPU"):
        w = tf.Variable(np.ones(3, np.float32))
        opt = tf.optimizers.SGD(clipnorm=1.0)
        with pytest.raises(NotImplementedError, match="clipnorm is not supported yet for variables on the GPU"):
            opt.apply_gradients([(tf.constant(np.ones(3, np.float32)), w)])


def test_an_arena_holds_variables_of_one_device(gpu):
    with tf.device("GPU"):
        a = tf.Variable(np.ones(3, np.float32))
    b = tf.Variable(np.ones(2, np.float32))
    with pytest.raises(ValueError, match=r"variables\[1\] is on the CPU, the arena's variables on the GPU"):
        tf.optimizers.flatten_variables([a, b])
    arena = tf.optimizers.flatten_variables([a])
    with pytest.raises(ValueError, match="the arena lives on the GPU"):
        arena.buffer()
    np.testing.assert_array_equal(a.numpy(), [1, 1, 1])


def test_dropout_draws_the_cpu_stream_on_the_gpu(gpu):
    x = np.ones((4, 50), np.float32)
    outs = []
    for device in ("CPU", "GPU"):
        tf.utils.set_random_seed(3)
        layer = tf.layers.Dropout(0.5)
        with tf.device(device):
            outs.append(layer(tf.constant(x), training=True).numpy())
    np.testing.assert_array_equal(outs[0], outs[1])


@pytest.mark.parametrize("name", ["/GPU:1", "cuda:2", "/TPU:0"])
def test_devices_other_than_the_first_are_value_errors(name):
    with pytest.raises(ValueError, match="device"):
        with tf.device(name):
            pass
