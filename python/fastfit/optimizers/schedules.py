"""Learning-rate schedules with Keras 3's formulas (keras.optimizers.schedules), evaluated in C++.

Pass one as an optimizer's `learning_rate`: the built-in schedules are computed in C++ from the step
count inside every update (fit runs no Python per step for them), in float32 as Keras computes them.
A `LearningRateSchedule` subclass of your own (or any callable) is called from Python once per step.
"""
import numpy as np

from .. import _core
from ..tensor import convert_to_tensor


class LearningRateSchedule:
    """Base class of schedules: `__call__(step)` returns the learning rate at optimizer step `step`.

    Subclass it with `__call__` and `get_config` (to serialize it); `from_config` rebuilds one.
    """

    def __call__(self, step):
        raise NotImplementedError(f"Learning rate schedule '{type(self).__name__}' must override "
                                  "`__call__(self, step)`.")

    def get_config(self):
        raise NotImplementedError(f"Learning rate schedule '{type(self).__name__}' must override `get_config()` "
                                  "in order to be serializable.")

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class _CoreSchedule(LearningRateSchedule):
    """A schedule the C++ core evaluates: `_kind` names it; `get_config()` holds its arguments, the
    attributes named in `_config` (Keras' keys and order)."""

    _kind = None
    _config = ()

    def get_config(self):
        return {key: getattr(self, key) for key in self._config}

    def _core(self):
        s = _core.Schedule()
        s.kind = getattr(_core.ScheduleKind, self._kind)
        for key, value in self._core_fields().items():
            if isinstance(value, (list, tuple)):
                value = [float(v) for v in value]
            elif not isinstance(value, bool):
                value = float(value)
            setattr(s, key, value)
        return s

    def _core_fields(self):
        return {k: v for k, v in self.get_config().items() if k != "name"}

    def __call__(self, step):
        """The learning rate at `step` (a number or an array of them), as a float32 tensor."""
        s = self._core()
        steps = np.asarray(step, np.float64)
        values = np.array([s.value(v) for v in steps.ravel()], np.float32).reshape(steps.shape)
        return convert_to_tensor(values)


def _check_decay_steps(name, value):
    if value <= 0:
        raise ValueError(f"Argument `{name}` must be > 0. Received: {name}={value}")


class ExponentialDecay(_CoreSchedule):
    """`initial_learning_rate * decay_rate ** (step / decay_steps)`; with `staircase`, the exponent is
    floored, so the rate drops every `decay_steps` steps."""

    _config = ("initial_learning_rate", "decay_steps", "decay_rate", "staircase", "name")
    _kind = "exponential"

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name="ExponentialDecay"):
        _check_decay_steps("decay_steps", decay_steps)
        self.initial_learning_rate, self.decay_steps, self.decay_rate = initial_learning_rate, decay_steps, decay_rate
        self.staircase, self.name = staircase, name



class PiecewiseConstantDecay(_CoreSchedule):
    """`values[0]` while `step <= boundaries[0]`, `values[i]` for `boundaries[i-1] < step <= boundaries[i]`,
    `values[-1]` after the last boundary. Boundaries must be increasing."""

    _config = ("boundaries", "values", "name")
    _kind = "piecewise"

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        if len(boundaries) != len(values) - 1:
            raise ValueError("The length of boundaries should be 1 less than the length of values. Received: "
                             f"boundaries={boundaries} of length {len(boundaries)}, and values={values} of length "
                             f"{len(values)}.")
        if any(a >= b for a, b in zip(boundaries, boundaries[1:])):
            raise ValueError(f"PiecewiseConstantDecay: `boundaries` must be increasing, got {boundaries}")
        self.boundaries, self.values, self.name = boundaries, values, name



class PolynomialDecay(_CoreSchedule):
    """`(initial - end) * (1 - step / decay_steps) ** power + end`, with step capped at `decay_steps`;
    with `cycle`, decay_steps grows to the first multiple of itself past `step` instead."""

    _config = ("initial_learning_rate", "decay_steps", "end_learning_rate", "power", "cycle", "name")
    _kind = "polynomial"

    def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001, power=1.0, cycle=False,
                 name="PolynomialDecay"):
        _check_decay_steps("decay_steps", decay_steps)
        self.initial_learning_rate, self.decay_steps, self.end_learning_rate = (initial_learning_rate, decay_steps,
                                                                                end_learning_rate)
        self.power, self.cycle, self.name = power, cycle, name



class InverseTimeDecay(_CoreSchedule):
    """`initial_learning_rate / (1 + decay_rate * step / decay_steps)` (the ratio floored with `staircase`)."""

    _config = ("initial_learning_rate", "decay_steps", "decay_rate", "staircase", "name")
    _kind = "inverse_time"

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name="InverseTimeDecay"):
        _check_decay_steps("decay_steps", decay_steps)
        self.initial_learning_rate, self.decay_steps, self.decay_rate = initial_learning_rate, decay_steps, decay_rate
        self.staircase, self.name = staircase, name



class CosineDecay(_CoreSchedule):
    """Cosine decay from the initial rate (or, after a linear warmup of `warmup_steps` to `warmup_target`,
    from that) to `alpha` times it over `decay_steps`:
    `lr * ((1 - alpha) * 0.5 * (1 + cos(pi * step / decay_steps)) + alpha)`, constant afterwards."""

    _config = ("initial_learning_rate", "decay_steps", "alpha", "name", "warmup_target", "warmup_steps")
    _kind = "cosine"

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay", warmup_target=None,
                 warmup_steps=0):
        _check_decay_steps("decay_steps", decay_steps)
        self.initial_learning_rate, self.decay_steps, self.alpha, self.name = (initial_learning_rate, decay_steps,
                                                                               alpha, name)
        self.warmup_target, self.warmup_steps = warmup_target, warmup_steps

    def _core_fields(self):
        fields = super()._core_fields()
        fields["warmup"] = fields["warmup_target"] is not None
        if not fields["warmup"]:
            del fields["warmup_target"]
        return fields


class CosineDecayRestarts(_CoreSchedule):
    """Cosine decay (SGDR) restarted after `first_decay_steps`, each period `t_mul` times longer and
    its initial rate `m_mul` times lower than the one before; `alpha` is the floor, as a fraction."""

    _kind = "cosine_restarts"

    def __init__(self, initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0, alpha=0.0, name="SGDRDecay"):
        _check_decay_steps("first_decay_steps", first_decay_steps)
        self.initial_learning_rate, self.first_decay_steps = initial_learning_rate, first_decay_steps
        self._t_mul, self._m_mul, self.alpha, self.name = t_mul, m_mul, alpha, name

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "first_decay_steps": self.first_decay_steps,
                "t_mul": self._t_mul, "m_mul": self._m_mul, "alpha": self.alpha, "name": self.name}

    def _core_fields(self):
        fields = super()._core_fields()
        fields["decay_steps"] = fields.pop("first_decay_steps")
        return fields


_BUILT_IN = {cls.__name__: cls for cls in (ExponentialDecay, PiecewiseConstantDecay, PolynomialDecay,
                                           InverseTimeDecay, CosineDecay, CosineDecayRestarts)}


def serialize(learning_rate_schedule):
    """The schedule as Keras serializes it: class name and config."""
    return {"module": "keras.optimizers.schedules", "class_name": type(learning_rate_schedule).__name__,
            "config": learning_rate_schedule.get_config(), "registered_name": None}


def deserialize(config, custom_objects=None):
    """The schedule `serialize` described; a class of your own must be in `custom_objects`."""
    classes = {**_BUILT_IN, **(custom_objects or {})}
    name = config["class_name"]
    if name not in classes:
        raise ValueError(f"Unknown learning rate schedule: '{name}'. Pass it in `custom_objects`.")
    return classes[name].from_config(config["config"])


def _float32(value):
    return float(np.asarray(value, np.float32))


def to_core(learning_rate):
    """The C++ schedule for an optimizer's `learning_rate` schedule or callable: built-in schedules are
    computed in C++; others are called from Python once per step (a callable with no arguments, as
    Keras calls it; a schedule with the step count)."""
    if type(learning_rate).__call__ is _CoreSchedule.__call__:
        return learning_rate._core()
    s = _core.Schedule()
    s.kind = _core.ScheduleKind.python
    if isinstance(learning_rate, LearningRateSchedule):
        s.python = lambda step: _float32(learning_rate(step))
    else:
        s.python = lambda step: _float32(learning_rate())
    return s

