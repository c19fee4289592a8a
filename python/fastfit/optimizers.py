"""Optimizers with Keras 3's update rules, defaults and state names; the update runs in C++.

The state of an optimizer is one flat buffer per kind of slot ("momentum", "velocity", ...), laid out
like the variables it serves. `flatten_variables` packs a model's weights the same way, and then
`fit` updates all of them in one vectorised pass. `optimizer.variables` are live views of that state.
"""
import numpy as np

from . import _core, _tracing
from .tensor import Tensor, Variable, convert_to_tensor


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
        raise ValueError(f"{owner}: `learning_rate` must be a non-negative number, got {value!r}")
    return float(value)


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


def _check_iterations(value):
    if np.asarray(value).dtype.kind not in "iu":
        raise TypeError(f"iteration: expected an integer, got {value!r}")
    return int(value)


class Optimizer:
    """Base class. `apply_gradients(zip(grads, vars))` does one step; `iterations` counts them.

    `variables` lists the state in Keras 3's order and names: `iteration`, `learning_rate`, then
    each slot per variable, named `<variable path with / as _>_<slot>` (e.g. `dense_1_kernel_velocity`).
    """

    _kind = None

    def __init__(self, learning_rate, name=None, **config):
        self.name = name or type(self).__name__.lower()
        self._config = config
        self._core = _core.Optimizer(self._kind, _check_learning_rate(type(self).__name__, learning_rate), **config)
        self._iterations = _ScalarVariable(self._core, "iterations", "int64", "iteration", f"{self.name}/iteration",
                                           _check_iterations)
        self._learning_rate = _ScalarVariable(self._core, "learning_rate", "float32", "learning_rate",
                                              f"{self.name}/learning_rate",
                                              lambda v: _check_learning_rate(self.name, v))
        self._slot_views = {}  # (slot name, index of the variable served) -> Variable view of that state
        self._trainable_variables = []  # the Python objects served, kept alive as Keras does: they name the state
        self._built = False

    @property
    def learning_rate(self):
        return self._core.learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        self._core.learning_rate = _check_learning_rate(self.name, value)

    lr = learning_rate  # the TF 2 spelling

    @property
    def iterations(self):
        return self._iterations

    @property
    def built(self):
        return self._built or self._core.num_variables > 0  # fit builds the C++ optimizer directly

    def build(self, var_list):
        """Creates zeroed state for `var_list`, in order, as Keras' `build`. Later calls (and
        `apply_gradients`) add state for variables not seen before, where Keras would refuse them."""
        self._core.build(self._as_variables(var_list, "build"))
        self._built = True
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
        served = self._served()
        views = [self._iterations, self._learning_rate]
        for slot, i, state in self._core.slot_variables():
            view = self._slot_views.get((slot, i))
            if view is None:
                ref = getattr(served[i], "path", None) or getattr(served[i], "name", "variable")
                name = f"{ref.replace('/', '_')}_{slot}"
                view = self._slot_views[(slot, i)] = Variable._view(state, name, f"{self.name}/{name}")
            views.append(view)
        return views

    def apply_gradients(self, grads_and_vars):
        """One step: each variable with a gradient gets its update (pairs with a None gradient are
        skipped). Returns `iterations`."""
        grads, variables = [], []
        for g, v in grads_and_vars:
            grads.append(g)
            variables.append(v)
        state = _tracing.current()
        if state is not None:  # a compiled tf.function step replays the update
            state.note_apply(self, list(zip(grads, variables)))
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
        if not self._built:
            self.build(variables)  # as Keras: state for every variable, with a gradient or not
        kept_grads, kept_vars = [], []
        for g, v in zip(grads, variables):
            if g is not None:
                kept_grads.append(g if isinstance(g, Tensor) else convert_to_tensor(g, "float32"))
                kept_vars.append(v)
        try:
            self._core.apply(kept_vars, kept_grads)
        except TypeError:
            self._as_variables(kept_vars, "apply")  # names the culprit
            raise
        self._served()  # new variables may have joined

    def get_config(self):
        return {"name": self.name, "learning_rate": self.learning_rate, **self._config}

    @staticmethod
    def _as_variables(variables, where):
        variables = list(variables)
        for i, v in enumerate(variables):
            if not isinstance(v, Tensor):
                raise TypeError(f"{where}: variables[{i}] must be a Variable, got {type(v).__name__}")
        return variables


class SGD(Optimizer):
    """m = momentum*m - lr*g; w += m (nesterov: w += momentum*m - lr*g); without momentum w -= lr*g.

    State: `momentums` (when momentum != 0)."""

    _kind = "sgd"

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, name="SGD"):
        if not 0 <= momentum <= 1:
            raise ValueError(f"SGD: `momentum` must be in [0, 1], got {momentum}")
        super().__init__(learning_rate, name, momentum=float(momentum), nesterov=bool(nesterov))


class RMSprop(Optimizer):
    """v = rho*v + (1-rho)*g^2; w -= lr*g/sqrt(v + epsilon) (centered: v - mean(g)^2; optional momentum).

    State: `velocities`, `momentums` (momentum > 0), `average_gradients` (centered)."""

    _kind = "rmsprop"

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False, name="rmsprop"):
        super().__init__(learning_rate, name, rho=float(rho), momentum=float(momentum), epsilon=float(epsilon),
                         centered=bool(centered))


class Adam(Optimizer):
    """m, v moving averages; w -= lr*sqrt(1-b2^t)/(1-b1^t) * m/(sqrt(v)+epsilon); amsgrad keeps max(v).

    State: `momentums` and `velocities` (created variable by variable), `velocity_hats` (amsgrad)."""

    _kind = "adam"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False, name="adam"):
        super().__init__(learning_rate, name, beta_1=float(beta_1), beta_2=float(beta_2), epsilon=float(epsilon),
                         amsgrad=bool(amsgrad))


_BY_NAME = {"sgd": SGD, "rmsprop": RMSprop, "adam": Adam}


def get(identifier):
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        if identifier.lower() not in _BY_NAME:
            raise ValueError(f"Unknown optimizer: '{identifier}'. Valid names: {sorted(_BY_NAME)}")
        return _BY_NAME[identifier.lower()]()
    raise TypeError(f"optimizer must be a string or an Optimizer, got {type(identifier).__name__}")
