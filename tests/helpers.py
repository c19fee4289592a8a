"""Test helpers: a NumPy float64 reference and central finite differences for every op."""
import warnings

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


def conv(name, x, w, b=None, **attrs):
    return tf._core.apply(name, [x, w] + ([] if b is None else [b]), use_bias=b is not None, **attrs)


def inputs_off_kinks(shapes, seed, fn, act):
    """Random inputs whose pre-activations stay away from relu's kink (finite differences cross it)."""
    for attempt in range(100):
        rng = np.random.default_rng(seed + 1000 * attempt)
        arrays = [rand(rng, *s) for s in shapes]
        if act != "relu" or np.abs(fn(*arrays)).min() > 1e-3:
            return arrays
    raise AssertionError("no inputs off the kink")


def directional_check(ff_fn, np_fn, inputs, seed=0, eps=1e-4):
    """For inputs too large for element-wise finite differences: the forward, and the gradient of
    sum(out * r) along one random direction per input against a central difference."""
    rng = np.random.default_rng(seed)
    tensors = [tf.convert_to_tensor(a) for a in inputs]
    args = [np.asarray(a, np.float64) for a in inputs]
    with tf.GradientTape() as tape:
        for t in tensors:
            tape.watch(t)
        out = ff_fn(*tensors)
        r = rng.normal(size=out.shape)
        loss = tf.reduce_sum(out * tf.constant(r.astype(np.float32)))
    np.testing.assert_allclose(out.numpy(), np_fn(*args), rtol=1e-4, atol=1e-4)
    for i, g in enumerate(tape.gradient(loss, tensors)):
        v = rng.normal(size=args[i].shape)
        plus, minus = list(args), list(args)
        plus[i], minus[i] = args[i] + eps * v, args[i] - eps * v
        numeric = (np.sum(np_fn(*plus) * r) - np.sum(np_fn(*minus) * r)) / (2 * eps)
        np.testing.assert_allclose(np.sum(g.numpy() * v), numeric, rtol=1e-3, err_msg=f"input {i}")


def fit_compiled_and_eager(build, x, y, **fit_kwargs):
    """fit compiled, then eagerly: build(eager) returns the model compiled with run_eagerly=eager. The
    compiled run must neither warn nor fall back. Returns (losses, weights, model) per run, compiled first."""
    from fastfit.models.tracing import CompiledRunner
    runs = []
    for eager in (False, True):
        model = build(eager)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            history = model.fit(x, y, shuffle=False, verbose=0, **fit_kwargs).history
        if not eager:
            assert not model._fallback_reasons and isinstance(runner_of(model, "train"), CompiledRunner)
        runs.append((history["loss"], model.get_weights(), model))
    return runs
