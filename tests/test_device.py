"""Devices: what exists, where eager ops run, and the error a GPU scope gives without GPU kernels."""
import threading

import numpy as np
import pytest

import fastfit as tf

no_gpu = pytest.mark.skipif(tf.cuda.is_available(), reason="a GPU build runs these ops on the GPU")


def test_physical_devices():
    cpus = tf.config.list_physical_devices("CPU")
    assert [(d.name, d.device_type) for d in cpus] == [("/physical_device:CPU:0", "CPU")]
    assert tf.config.list_physical_devices() == cpus + tf.config.list_physical_devices("GPU")
    with pytest.raises(TypeError, match="device_type must be a string"):
        tf.config.list_physical_devices(0)


@no_gpu
def test_no_gpu_in_a_build_without_cuda():
    assert tf.config.list_physical_devices("GPU") == []
    assert tf.cuda.is_available() is False


def test_ops_run_inside_a_cpu_scope():
    a, b = np.ones((2, 3), np.float32), np.full((3, 4), 2.0, np.float32)
    with tf.device("/CPU:0"):
        np.testing.assert_allclose(tf.matmul(a, b).numpy(), a @ b)
    with tf.device("/device:CPU:0"):
        np.testing.assert_allclose(tf.reduce_sum(tf.constant(b)).numpy(), 24.0)


@no_gpu
@pytest.mark.parametrize("call,op", [
    (lambda a: tf.matmul(a, a), "MatMul"),
    (lambda a: tf.add(a, a), "AddV2"),
    (lambda a: tf.reduce_mean(a), "Mean"),
    (lambda a: tf.nn.softmax(a), "Softmax"),
])
def test_an_op_in_a_gpu_scope_has_no_gpu_implementation(call, op):
    a = tf.constant(np.ones((2, 2), np.float32))
    with tf.device("/GPU:0"):
        with pytest.raises(RuntimeError, match=f"^{op} has no GPU implementation$"):
            call(a)
    np.testing.assert_allclose(call(a).numpy(), call(a).numpy())  # the scope ended: back on the CPU


@no_gpu
def test_the_device_scope_is_per_thread_and_restored_after_errors():
    a = tf.constant(np.ones((2, 2), np.float32))
    results = []
    with pytest.raises(RuntimeError):
        with tf.device("GPU"):
            worker = threading.Thread(target=lambda: results.append(tf.matmul(a, a).numpy()))  # not in the scope
            worker.start()
            worker.join()
            tf.matmul(a, a)
    np.testing.assert_allclose(results[0], [[2, 2], [2, 2]])
    np.testing.assert_allclose(tf.matmul(a, a).numpy(), [[2, 2], [2, 2]])


@pytest.mark.parametrize("name", ["/TPU:0", "GPU0", "", None])
def test_an_invalid_device_name_is_a_value_error(name):
    with pytest.raises(ValueError, match="device_name must name a device"):
        with tf.device(name):
            pass
