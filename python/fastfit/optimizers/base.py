"""Keras 3's base optimizer: its arguments, learning rate and state; every step runs in C++.

The state of an optimizer is one flat buffer per kind of slot ("momentum", "velocity", ...), laid out
like the variables it serves. `flatten_variables` packs a model's weights the same way, and then
`fit` updates all of them in one vectorised pass. `optimizer.variables` are live views of that state.
"""
import re
import warnings

import numpy as np

from .. import _core, _tracing
from ..tensor import Tensor, Variable, convert_to_tensor
from . import schedules
from .constraint_step import apply_constraints


def flatten_variables(variables):
    """Packs float32 variables into one 64-byte aligned buffer, in order, and returns its ParamArena.

    The Variable objects stay the same objects: only their memory moves into the arena (values are
    copied), so layers, GradientTape and compiled programs keep working, and `assign`/`set_weights`
    write into the arena. With a model's `trainable_weights` in the order its optimizer was built
    on, `fit` updates them as one range. A variable already in another arena moves to this one. The
    buffer is freed when neither the arena nor any variable in it is referenced.

    Args:
        variables: float32 Variables (e.g. `model.trainable_weights`), each once.

    Returns:
        A `ParamArena`: `.variables`, `.offsets` (floats), `.size`, and `.buffer()`, a numpy view of
        the whole buffer (one array for an all-reduce or a checkpoint).
    """
    variables = list(variables)
    for i, v in enumerate(variables):
        if not isinstance(v, Tensor):
            raise TypeError(f"flatten_variables: variables[{i}] must be a Variable, got {type(v).__name__}")
    arena = _core.ParamArena()
    arena.adopt(variables)
    return arena


def _check_learning_rate(owner, value):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)) or not value >= 0:
        raise ValueError(f"{owner}: `learning_rate` must be a non-negative number, a LearningRateSchedule or a "
                         f"callable, got {value!r}")
    return float(value)


def _check_iterations(value):
    if np.asarray(value).dtype.kind not in "iu":
        raise TypeError(f"iteration: expected an integer, got {value!r}")
    return int(value)


class _ScalarVariable:
    """A Variable-like view of one scalar of the C++ optimizer (iteration count, learning rate):
    reading gives the current value and `assign` sets it, as Keras' optimizer variables do."""

    shape = ()
    trainable = False

    def __init__(self, core, field, dtype, name, path, check):
        self._core, self._field, self.dtype = core, field, np.dtype(dtype)
        self.name, self.path, self._check = name, path, check

    def numpy(self):
        return np.asarray(getattr(self._core, self._field), self.dtype)

    def value(self):
        return convert_to_tensor(self.numpy())

    def assign(self, value):
        value = np.asarray(value.numpy() if isinstance(value, (Tensor, _ScalarVariable)) else value)
        if value.shape != ():
            raise ValueError(f"{self.path}: expected a scalar, got an array of shape {value.shape}")
        setattr(self._core, self._field, self._check(value[()]))
        return self

    def assign_add(self, delta):
        return self.assign(self.numpy() + np.asarray(delta, self.dtype))

    def assign_sub(self, delta):
        return self.assign(self.numpy() - np.asarray(delta, self.dtype))

    def __array__(self, dtype=None, copy=None):
        return self.numpy() if dtype is None else self.numpy().astype(dtype)

    def __int__(self):
        return int(self.numpy())

    def __index__(self):
        if self.dtype.kind != "i":
            raise TypeError(f"{self.path} is {self.dtype}, not an integer")
        return int(self.numpy())

    def __float__(self):
        return float(self.numpy())

    def __eq__(self, other):
        return self.numpy() == np.asarray(other)

    __hash__ = object.__hash__

    def __repr__(self):
        return f"<Variable path={self.path}, shape=(), dtype={self.dtype}, value={self.numpy()}>"


def _snake_case(name):  # Keras' auto_name: "AdamW" -> "adam_w", "RMSprop" -> "rm_sprop"
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


class Optimizer:
    """Base class: `apply_gradients(zip(grads, vars))` does one step; `iterations` counts them.

    Each subclass names its C++ update rule (`_kind`) and passes its hyperparameters by Keras' names.
    The arguments every optimizer takes, as Keras 3 applies them in each step, in this order:

    - `loss_scale_factor`: gradients are divided by it (`fit` multiplies the loss by it first;
      a custom loop calls `optimizer.scale_loss(loss)`).
    - `gradient_accumulation_steps`: the variables change every that many steps, by the mean of the
      gradients since the last change. `iterations` counts those changes; a schedule sees every step.
    - `clipnorm` (each gradient's norm at most this), `global_clipnorm` (the norm of all of them
      together) or `clipvalue` (each element within +-this): at most one of them.
    - `weight_decay`: `w -= w * weight_decay * learning_rate` before the update, for variables not
      excluded by `exclude_from_weight_decay`.
    - `use_ema`: keeps `average = ema_momentum * average + (1 - ema_momentum) * w` of every variable
      (the first step copies w); every `ema_overwrite_frequency` steps, or at the end of `fit`
      (`finalize_variable_values`), the weights take the averages.

    `learning_rate` is a float, a `LearningRateSchedule` (of the step count) or a callable of no
    arguments. `variables` lists the state in Keras 3's order and names: `iteration`, `learning_rate`
    (unless scheduled), then each slot per variable, named `<variable path with / as _>_<slot>`
    (e.g. `dense_1_kernel_velocity`).
    """

    _kind = None  # the C++ update rule, a name in _core.OptKind

    def __init__(self, learning_rate, weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, _hyper=None, **kwargs):
        if self._kind is None or hasattr(self, "update_step"):
            raise NotImplementedError(f"{type(self).__name__}: optimizers with their own `update_step` are not "
                                      "supported (fastfit's run in C++)")
        if kwargs.pop("decay", None) is not None:
            warnings.warn("Argument `decay` is no longer supported and will be ignored.")
        if "lr" in kwargs:  # the TF 2 spelling
            learning_rate = kwargs.pop("lr")
        if kwargs:
            raise ValueError(f"Argument(s) not recognized: {kwargs}")
        if gradient_accumulation_steps and not gradient_accumulation_steps >= 2:
            raise ValueError("`gradient_accumulation_steps` must be an integer >= 2. Received: "
                             f"gradient_accumulation_steps={gradient_accumulation_steps}")
        if use_ema and not 0 <= ema_momentum <= 1:
            raise ValueError(f"`ema_momentum` must be in the range [0, 1]. Received: ema_momentum={ema_momentum}")
        if use_ema and ema_overwrite_frequency and (not isinstance(ema_overwrite_frequency, int)
                                                    or ema_overwrite_frequency < 1):
            raise ValueError("`ema_overwrite_frequency` must be an integer >= 1 or None. Received: "
                             f"ema_overwrite_frequency={ema_overwrite_frequency}")
        if sum(a is not None for a in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError("Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. Received: "
                             f"clipnorm={clipnorm}, clipvalue={clipvalue}, global_clipnorm={global_clipnorm}")
        self.name = name or _snake_case(type(self).__name__)
        self.weight_decay, self.clipnorm, self.clipvalue, self.global_clipnorm = (weight_decay, clipnorm, clipvalue,
                                                                                  global_clipnorm)
        self.use_ema, self.ema_momentum, self.ema_overwrite_frequency = use_ema, ema_momentum, ema_overwrite_frequency
        self.loss_scale_factor, self.gradient_accumulation_steps = loss_scale_factor, gradient_accumulation_steps
        self._hyper = dict(_hyper or {})
        self.__dict__.update(self._hyper)  # opt.beta_1, opt.momentum, ... as in Keras

        config = _core.OptimizerConfig()
        config.rule.kind = getattr(_core.OptKind, self._kind)
        for key, value in self._hyper.items():
            setattr(config.rule, key, value)
        for key in ("weight_decay", "clipnorm", "clipvalue", "global_clipnorm", "loss_scale_factor"):
            setattr(config, key, float(getattr(self, key) or 0))  # None, and 0 as Keras' `if clipnorm`: off
        config.use_ema, config.ema_momentum = bool(use_ema), float(ema_momentum)
        config.ema_overwrite_frequency = int(ema_overwrite_frequency or 0)
        config.gradient_accumulation_steps = int(gradient_accumulation_steps or 0)
        self._core = _core.Optimizer(config)
        self._iterations = _ScalarVariable(self._core, "iterations", "int64", "iteration", f"{self.name}/iteration",
                                           _check_iterations)
        self._learning_rate = _ScalarVariable(self._core, "learning_rate", "float32", "learning_rate",
                                              f"{self.name}/learning_rate",
                                              lambda v: _check_learning_rate(self.name, v))
        self._schedule = None  # a LearningRateSchedule or a callable; None: the constant `_learning_rate`
        self.learning_rate = learning_rate
        self._slot_views = {}  # (slot name, index of the variable served) -> Variable view of that state
        self._trainable_variables = []  # the Python objects served, kept alive as Keras does: they name the state

    @property
    def learning_rate(self):
        """The learning rate now: a variable (assignable) for a constant one, else the schedule's value."""
        if self._schedule is None:
            return self._learning_rate
        if isinstance(self._schedule, schedules.LearningRateSchedule):
            return self._schedule(int(self._iterations))
        return self._schedule()

    @learning_rate.setter
    def learning_rate(self, value):
        if callable(value):
            self._core.schedule = schedules.to_core(value)
            self._schedule = value
            return
        if self._schedule is not None:
            raise TypeError("This optimizer was created with a `LearningRateSchedule` object as its `learning_rate` "
                            "constructor argument, hence its learning rate is not settable. If you need the learning "
                            "rate to be settable, you should instantiate the optimizer with a float `learning_rate` "
                            "argument.")
        self._learning_rate.assign(value)

    lr = learning_rate  # the TF 2 spelling

    @property
    def iterations(self):
        """Steps applied (with gradient accumulation: updates made, as Keras counts them)."""
        if self.gradient_accumulation_steps:
            return np.int64(int(self._iterations) // self.gradient_accumulation_steps)
        return self._iterations

    @property
    def built(self):
        return self._core.built  # fit's programs build the C++ optimizer directly

    def build(self, var_list):
        """Creates the state for `var_list`, in order, as Keras' `build`. Later calls (and
        `apply_gradients`) add state for variables not seen before, where Keras would refuse them."""
        self._core.build(self._as_variables(var_list, "build"))
        self._served()

    def _served(self):
        """The variables served, in build order (fit's programs build the C++ optimizer directly)."""
        if self._core.num_variables != len(self._trainable_variables):
            self._trainable_variables = self._core.variables
        return self._trainable_variables

    @property
    def variables(self):
        """Live views of the state, in Keras 3's order: reading gives the current values and `assign`
        writes them (save and restore, or an all-reduce, need no other access)."""
        self._served()
        views = [self._iterations] + ([self._learning_rate] if self._schedule is None else [])
        return views + [self._slot_view(slot, i, state) for slot, i, state in self._core.slot_variables()]

    def _slot_view(self, slot, i, state):
        """The Variable view of one slot's state (of served variable i; i < 0: the optimizer's own)."""
        view = self._slot_views.get((slot, i))
        if view is None:
            if i < 0:  # the optimizer's own state (Nadam's u_product)
                name = slot
            else:
                served = self._served()
                ref = getattr(served[i], "path", None) or getattr(served[i], "name", "variable")
                name = f"{ref.replace('/', '_')}_{slot}"
            view = self._slot_views[(slot, i)] = Variable._view(state, name, f"{self.name}/{name}")
        return view

    def apply_gradients(self, grads_and_vars):
        """One step: each variable with a gradient gets its update (pairs with a None gradient are
        skipped). Returns `iterations`."""
        grads, variables = [], []
        for g, v in grads_and_vars:
            grads.append(g)
            variables.append(v)
        self.apply(grads, variables)
        return self._iterations

    def apply(self, grads, trainable_variables=None):
        """`apply_gradients` with the two lists apart; without variables, the ones it was built on."""
        grads = list(grads)
        if not grads:
            return  # as Keras: nothing to apply, no step counted
        if trainable_variables is None:
            if not self.built:
                raise ValueError("apply: without `trainable_variables` the optimizer must be built first; "
                                 "call `optimizer.build(trainable_variables)`")
            variables = self._served()
        else:
            variables = list(trainable_variables)
        if len(grads) != len(variables):
            raise ValueError(f"apply: expected one gradient per variable ({len(variables)}), got {len(grads)}")
        if not self.built:
            self.build(variables)  # as Keras: state for every variable, with a gradient or not
        state = _tracing.current()
        if state is not None:  # a compiled tf.function step replays the update
            state.note_apply(self, list(zip(grads, variables)))
        kept_grads, kept_vars = [], []
        for g, v in zip(grads, variables):
            if g is not None:
                kept_grads.append(g if isinstance(g, Tensor) else convert_to_tensor(g, "float32"))
                kept_vars.append(v)
        if not kept_grads:
            raise ValueError("No gradients provided for any variable.")
        try:
            self._core.apply(kept_vars, kept_grads)
        except TypeError:
            self._as_variables(kept_vars, "apply")  # names the culprit
            raise
        apply_constraints(kept_vars)
        self._served()  # new variables may have joined

    def scale_loss(self, loss):
        """The loss times `loss_scale_factor` (the gradients are divided by it in the step)."""
        return loss * self.loss_scale_factor if self.loss_scale_factor is not None else loss

    def exclude_from_weight_decay(self, var_list=None, var_names=None):
        """Exempts variables from weight decay: those in `var_list`, and those whose name contains
        one of `var_names` (regular expressions, e.g. `["bias"]`). Call it before the optimizer is built."""
        if self.built:
            raise ValueError("`exclude_from_weight_decay()` can only be configured before the optimizer is built.")
        ids = frozenset(id(v) for v in var_list or ())
        pattern = re.compile("|".join(set(var_names))) if var_names else None
        # asked by the C++ build about each variable; holds no reference to the optimizer
        self._core.decays = lambda v: id(v) not in ids and (pattern is None or pattern.search(v.name) is None)

    def finalize_variable_values(self, var_list):
        """With `use_ema`, sets the variables (those the optimizer was built on, in order) to their moving
        averages; `fit` calls it after the last epoch."""
        if not self.use_ema:
            return
        averages = [average for _, average in self._moving_averages()]
        var_list = list(var_list)
        if len(var_list) != len(averages):
            raise ValueError(f"The length of model variables ({len(var_list)}) to override does not match the length "
                             f"of model variables stored in the optimizer ({len(averages)}). Please check if the "
                             "optimizer was called on your model.")
        for var, average in zip(var_list, averages):
            var.assign(np.asarray(average))

    def _moving_averages(self):
        """(variable, its moving average) for each variable served, in build order (use_ema): the
        average as a live view of the C++ state, assignable (SwapEMAWeights swaps the two)."""
        served = self._served()
        return [(served[i], self._slot_view("average", i, state))
                for slot, i, state in self._core.slot_variables() if slot == "average"]

    def get_config(self):
        if self._schedule is None:
            learning_rate = float(self._learning_rate)
        elif isinstance(self._schedule, schedules.LearningRateSchedule):
            learning_rate = schedules.serialize(self._schedule)
        else:
            learning_rate = self._schedule
        return {"name": self.name, "learning_rate": learning_rate, "weight_decay": self.weight_decay,
                "clipnorm": self.clipnorm, "global_clipnorm": self.global_clipnorm, "clipvalue": self.clipvalue,
                "use_ema": self.use_ema, "ema_momentum": self.ema_momentum,
                "ema_overwrite_frequency": self.ema_overwrite_frequency, "loss_scale_factor": self.loss_scale_factor,
                "gradient_accumulation_steps": self.gradient_accumulation_steps, **self._hyper}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules.deserialize(config["learning_rate"], custom_objects)
        return cls(**config)

    @staticmethod
    def _as_variables(variables, where):
        variables = list(variables)
        for i, v in enumerate(variables):
            if not isinstance(v, Tensor):
                raise TypeError(f"{where}: variables[{i}] must be a Variable, got {type(v).__name__}")
        return variables
