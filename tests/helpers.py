"""Test helpers: a NumPy float64 reference and central finite differences for every op."""
import numpy as np

import fastfit as tf


def check_op(ff_fn, np_fn, inputs, grad_inputs=None, rtol=1e-4, atol=1e-5, grad_rtol=1e-3, grad_atol=1e-4, seed=0):
    """Forward of ff_fn against np_fn in float64; the gradient of sum(out * r) w.r.t. each input in
    grad_inputs (indices; default all float inputs) against central differences of np_fn."""
    rng = np.random.default_rng(seed)
    tensors = [tf.convert_to_tensor(a) for a in inputs]
    with tf.GradientTape(persistent=True) as tape:
        for t in tensors:
            tape.watch(t)
        out = ff_fn(*tensors)
        ref = np_fn(*[np.asarray(a, np.float64) if np.asarray(a).dtype.kind == "f" else np.asarray(a) for a in inputs])
        assert out.shape == np.shape(ref), f"shape {out.shape} != reference {np.shape(ref)}"
        np.testing.assert_allclose(out.numpy(), ref, rtol=rtol, atol=atol)
        r = rng.normal(size=np.shape(ref))
        weighted = tf.reduce_sum(out * tf.constant(r.astype(np.float32)))
    if grad_inputs is None:
        grad_inputs = [i for i, a in enumerate(inputs) if np.asarray(a).dtype.kind == "f"]
    grads = tape.gradient(weighted, [tensors[i] for i in grad_inputs])
    for i, g in zip(grad_inputs, grads):
        numeric = finite_difference(np_fn, inputs, i, r)
        assert g is not None, f"no gradient for input {i}"
        np.testing.assert_allclose(g.numpy(), numeric, rtol=grad_rtol, atol=grad_atol, err_msg=f"gradient of input {i}")


def finite_difference(np_fn, inputs, i, r, eps=1e-6):
    args = [np.asarray(a, np.float64) if np.asarray(a).dtype.kind == "f" else np.asarray(a) for a in inputs]
    x = args[i]
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        idx = it.multi_index
        orig = x[idx]
        x[idx] = orig + eps
        fp = np.sum(np_fn(*args) * r)
        x[idx] = orig - eps
        fm = np.sum(np_fn(*args) * r)
        x[idx] = orig
        grad[idx] = (fp - fm) / (2 * eps)
    return grad


def rand(rng, *shape, low=-1.0, high=1.0):
    return rng.uniform(low, high, size=shape).astype(np.float32)


def runner_of(model, mode):
    """The runner fit ('train'), evaluate ('test') or predict ('predict') compiled or chose for `model`."""
    return next(r for key, r in model._programs.items() if key[0] == mode)
