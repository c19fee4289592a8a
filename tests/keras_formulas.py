"""Keras 3's optimizer and schedule formulas in float64, written from keras/src/optimizers/*.py: the
references the tests hold fastfit's float32 steps and schedule values to."""
import math

import numpy as np

DEFAULT_LR = {"sgd": 0.01, "rmsprop": 0.001}  # the others default to 0.001


def optimizer_steps(kind, cfg, ws, steps, decays=None):
    """The variables after Keras' apply() for each entry of `steps` (one gradient per variable, None
    for no gradient). cfg: Keras arguments; a callable learning_rate is a float64 schedule of the step
    count. decays: per variable, whether weight decay applies (default all)."""
    cfg = dict(cfg)
    if kind == "adamw":
        kind = "adam"
        cfg.setdefault("weight_decay", 0.004)
    lr_arg = cfg.get("learning_rate", DEFAULT_LR.get(kind, 0.001))
    lr_at = lr_arg if callable(lr_arg) else (lambda step: lr_arg)
    ws = [np.asarray(w, np.float64).copy() for w in ws]
    init = cfg.get("initial_accumulator_value", 0.1) if kind in ("adagrad", "ftrl") else 0.0
    state = [{s: np.full_like(w, init if s == "acc" else 0.0) for s in ("m", "v", "a", "vhat", "acc", "lin")}
             for w in ws]
    average = [np.zeros_like(w) for w in ws]
    accumulated = [np.zeros_like(w) for w in ws]
    decays = decays or [True] * len(ws)
    every, scale = cfg.get("gradient_accumulation_steps"), cfg.get("loss_scale_factor")
    u_product = 1.0
    for it, grads in enumerate(steps):
        step = it // every if every else it  # Keras' optimizer.iterations
        grads = [None if g is None else np.asarray(g, np.float64) / (scale or 1.0) for g in grads]
        live = [i for i, g in enumerate(grads) if g is not None]
        if every and (it + 1) % every:
            for i in live:
                accumulated[i] += grads[i]
        else:
            if every:
                grads = [None if g is None else (g + a) / every for g, a in zip(grads, accumulated)]
                accumulated = [np.zeros_like(w) for w in ws]
            grads = _clip(cfg, grads)
            lr = lr_at(it)
            if kind == "nadam":
                u_product *= cfg.get("beta_1", 0.9) * (1 - 0.5 * 0.96 ** (step + 1))
            for i in live:
                if cfg.get("weight_decay") and decays[i]:
                    ws[i] -= ws[i] * cfg["weight_decay"] * lr
                _rule(kind, cfg, ws[i], grads[i], state[i], lr, step + 1, u_product)
        if cfg.get("use_ema"):
            mu = cfg.get("ema_momentum", 0.99) if step else 0.0
            frequency = cfg.get("ema_overwrite_frequency")
            for i, w in enumerate(ws):
                average[i] = mu * average[i] + (1 - mu) * w
                if frequency and (step + 1) % frequency == 0:
                    w[...] = average[i]
    return ws


def _clip(cfg, grads):
    if cfg.get("clipnorm"):
        c = cfg["clipnorm"]
        return [None if g is None else g * c / max(np.sqrt(np.sum(g * g)), c) for g in grads]
    if cfg.get("global_clipnorm"):
        c = cfg["global_clipnorm"]
        norm = np.sqrt(sum(np.sum(g * g) for g in grads if g is not None))
        return [None if g is None else g * c * min(1 / norm, 1 / c) for g in grads]
    if cfg.get("clipvalue"):
        return [None if g is None else np.clip(g, -cfg["clipvalue"], cfg["clipvalue"]) for g in grads]
    return grads


def _rule(kind, cfg, w, g, s, lr, t, u_product):
    """update_step of keras/src/optimizers/<kind>.py, in place on w and the state s."""
    eps, b1, b2 = cfg.get("epsilon", 1e-7), cfg.get("beta_1", 0.9), cfg.get("beta_2", 0.99 if kind == "lion" else 0.999)
    if kind == "sgd":
        mu = cfg.get("momentum", 0.0)
        if mu:
            s["m"][...] = mu * s["m"] - lr * g
            w += mu * s["m"] - lr * g if cfg.get("nesterov") else s["m"]
        else:
            w -= lr * g
    elif kind == "rmsprop":
        rho, mu = cfg.get("rho", 0.9), cfg.get("momentum", 0.0)
        s["v"][...] = rho * s["v"] + (1 - rho) * g * g
        denominator = s["v"] + eps
        if cfg.get("centered"):
            s["a"][...] = rho * s["a"] + (1 - rho) * g
            denominator = s["v"] - s["a"] ** 2 + eps
        increment = lr * g / np.sqrt(denominator)
        if mu:
            s["m"][...] = mu * s["m"] + increment
            w -= s["m"]
        else:
            w -= increment
    elif kind == "adam":
        s["m"] += (g - s["m"]) * (1 - b1)
        s["v"] += (g * g - s["v"]) * (1 - b2)
        v = s["v"]
        if cfg.get("amsgrad"):
            s["vhat"][...] = v = np.maximum(s["vhat"], s["v"])
        w -= lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t) * s["m"] / (np.sqrt(v) + eps)
    elif kind == "adagrad":
        s["acc"] += g * g
        w -= lr * g / np.sqrt(s["acc"] + eps)
    elif kind == "adadelta":
        rho = cfg.get("rho", 0.95)
        s["a"][...] = rho * s["a"] + (1 - rho) * g * g
        delta = -np.sqrt(s["v"] + eps) * g / np.sqrt(s["a"] + eps)
        s["v"][...] = rho * s["v"] + (1 - rho) * delta * delta
        w += lr * delta
    elif kind == "adamax":
        s["m"] += (g - s["m"]) * (1 - b1)
        s["v"][...] = np.maximum(b2 * s["v"], np.abs(g))
        w -= lr * s["m"] / ((1 - b1 ** t) * (s["v"] + eps))
    elif kind == "nadam":
        u, u_next = b1 * (1 - 0.5 * 0.96 ** t), b1 * (1 - 0.5 * 0.96 ** (t + 1))
        s["m"] += (g - s["m"]) * (1 - b1)
        s["v"] += (g * g - s["v"]) * (1 - b2)
        m_hat = u_next * s["m"] / (1 - u_product * u_next) + (1 - u) * g / (1 - u_product)
        w -= m_hat * lr / (np.sqrt(s["v"] / (1 - b2 ** t)) + eps)
    elif kind == "ftrl":
        p, l1 = -cfg.get("learning_rate_power", -0.5), cfg.get("l1_regularization_strength", 0.0)
        l2 = cfg.get("l2_regularization_strength", 0.0) + cfg.get("beta", 0.0) / (2 * lr)
        new_acc = s["acc"] + g * g
        s["lin"] += g + 2 * cfg.get("l2_shrinkage_regularization_strength", 0.0) * w - (
            new_acc ** p - s["acc"] ** p) / lr * w
        w[...] = (np.clip(s["lin"], -l1, l1) - s["lin"]) / (new_acc ** p / lr + 2 * l2)
        s["acc"][...] = new_acc
    elif kind == "lion":
        w -= lr * np.sign(b1 * s["m"] + (1 - b1) * g)
        s["m"][...] = b2 * s["m"] + (1 - b2) * g
    else:
        raise ValueError(kind)


def schedule(name, **a):
    """keras.optimizers.schedules.<name>(**a) as a float64 function of the step."""
    lr0 = a.get("initial_learning_rate")
    if name == "ExponentialDecay":
        return lambda s: lr0 * a["decay_rate"] ** _ratio(s, a["decay_steps"], a.get("staircase"))
    if name == "InverseTimeDecay":
        return lambda s: lr0 / (1 + a["decay_rate"] * _ratio(s, a["decay_steps"], a.get("staircase")))
    if name == "PiecewiseConstantDecay":
        return lambda s: a["values"][int(np.searchsorted(a["boundaries"], s, side="left"))]
    if name == "PolynomialDecay":
        def polynomial(s):
            steps, end = a["decay_steps"], a.get("end_learning_rate", 1e-4)
            if a.get("cycle"):
                steps *= max(1, math.ceil(s / steps))
            else:
                s = min(s, steps)
            return (lr0 - end) * (1 - s / steps) ** a.get("power", 1.0) + end
        return polynomial
    if name == "CosineDecay":
        def cosine(s):
            alpha, target, warm = a.get("alpha", 0.0), a.get("warmup_target"), a.get("warmup_steps", 0)
            if target is not None and s < warm:
                return lr0 + (target - lr0) * s / warm
            start = lr0 if target is None else target
            s = min(s - (warm if target is not None else 0), a["decay_steps"])
            return start * ((1 - alpha) * 0.5 * (1 + math.cos(math.pi * s / a["decay_steps"])) + alpha)
        return cosine
    if name == "CosineDecayRestarts":
        def restarts(s):
            t_mul, m_mul, alpha = a.get("t_mul", 2.0), a.get("m_mul", 1.0), a.get("alpha", 0.0)
            fraction, i = s / a["first_decay_steps"], 0
            while fraction >= t_mul ** i:  # the period of restart i lasts t_mul^i first periods
                fraction -= t_mul ** i
                i += 1
            fraction /= t_mul ** i
            return lr0 * ((1 - alpha) * 0.5 * m_mul ** i * (1 + math.cos(math.pi * fraction)) + alpha)
        return restarts
    raise ValueError(name)


def _ratio(step, steps, staircase):
    return math.floor(step / steps) if staircase else step / steps
