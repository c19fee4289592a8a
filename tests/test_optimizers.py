"""One or more optimizer steps of each configuration against Keras 3's update formulas (float64)."""
import numpy as np
import pytest

import fastfit as keras


def keras_reference(kind, cfg, w, grads):
    """Keras 3 update_step formulas (keras/src/optimizers/{sgd,rmsprop,adam}.py), in float64."""
    w = w.astype(np.float64).copy()
    m = np.zeros_like(w); v = np.zeros_like(w); a = np.zeros_like(w); vhat = np.zeros_like(w)
    lr = cfg.get("learning_rate", {"sgd": 0.01, "rmsprop": 0.001, "adam": 0.001}[kind])
    for t, g in enumerate(grads, start=1):
        if kind == "sgd":
            mu = cfg.get("momentum", 0.0)
            if mu:
                m = mu * m - lr * g
                w += mu * m - lr * g if cfg.get("nesterov") else m
            else:
                w -= lr * g
        elif kind == "rmsprop":
            rho, mu, eps = cfg.get("rho", 0.9), cfg.get("momentum", 0.0), cfg.get("epsilon", 1e-7)
            v = rho * v + (1 - rho) * g * g
            denom = v + eps
            if cfg.get("centered"):
                a = rho * a + (1 - rho) * g
                denom = v - a * a + eps
            inc = lr * g / np.sqrt(denom)
            if mu:
                m = mu * m + inc
                w -= m
            else:
                w -= inc
        else:
            b1, b2, eps = cfg.get("beta_1", 0.9), cfg.get("beta_2", 0.999), cfg.get("epsilon", 1e-7)
            m += (g - m) * (1 - b1)
            v += (g * g - v) * (1 - b2)
            alpha = lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)
            vv = v
            if cfg.get("amsgrad"):
                vhat = np.maximum(vhat, v)
                vv = vhat
            w -= alpha * m / (np.sqrt(vv) + eps)
    return w


CONFIGS = [
    ("sgd", {}), ("sgd", {"learning_rate": 0.1, "momentum": 0.9}),
    ("sgd", {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True}),
    ("rmsprop", {}), ("rmsprop", {"rho": 0.8, "momentum": 0.5}), ("rmsprop", {"centered": True}),
    ("rmsprop", {"centered": True, "momentum": 0.9, "epsilon": 1e-3}),
    ("adam", {}), ("adam", {"learning_rate": 0.01, "amsgrad": True}), ("adam", {"beta_1": 0.5, "beta_2": 0.9}),
]
CLASSES = {"sgd": keras.optimizers.SGD, "rmsprop": keras.optimizers.RMSprop, "adam": keras.optimizers.Adam}


@pytest.mark.parametrize("kind,cfg", CONFIGS)
@pytest.mark.parametrize("steps", [1, 5])
def test_steps_match_keras_formulas(kind, cfg, steps):
    rng = np.random.default_rng(len(cfg) + steps)
    w0 = rng.normal(size=(3, 4)).astype(np.float32)
    grads = [rng.normal(size=(3, 4)).astype(np.float32) for _ in range(steps)]
    if steps == 5:
        grads[2] = grads[2] * 0.01  # a small gradient after large ones: exercises amsgrad's max
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
    with pytest.raises(ValueError, match=r"Valid names: \['adam', 'rmsprop', 'sgd'\]"):
        keras.optimizers.get("adagradx")
