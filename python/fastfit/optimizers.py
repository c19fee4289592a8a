"""Optimizers with Keras 3's update rules and defaults. The update runs in C++, one fused pass per
variable, and the same C++ state serves `apply_gradients` and `fit`."""
from . import _core
from .tensor import Tensor, convert_to_tensor


class Optimizer:
    """Base class. `apply_gradients(zip(grads, vars))` does one step; `iterations` counts them."""

    _kind = None

    def __init__(self, learning_rate, name=None, **config):
        if not isinstance(learning_rate, (int, float)) or isinstance(learning_rate, bool) or learning_rate < 0:
            raise ValueError(f"{type(self).__name__}: `learning_rate` must be a non-negative number, got {learning_rate!r}")
        self.name = name or type(self).__name__.lower()
        self._config = config
        self._core = _core.Optimizer(self._kind, float(learning_rate), **config)

    @property
    def learning_rate(self):
        return self._core.learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        self._core.learning_rate = float(value)

    lr = learning_rate  # the TF 2 spelling

    @property
    def iterations(self):
        return self._core.iterations

    def apply_gradients(self, grads_and_vars):
        """Applies one step of gradients to variables; pairs with a None gradient are skipped."""
        pairs = [(g, v) for g, v in grads_and_vars if g is not None]
        grads = [convert_to_tensor(g, "float32") if not isinstance(g, Tensor) else g for g, _ in pairs]
        self._core.apply([v for _, v in pairs], grads)
        return self.iterations

    def apply(self, grads, trainable_variables):
        return self.apply_gradients(zip(grads, trainable_variables))

    def get_config(self):
        return {"name": self.name, "learning_rate": self.learning_rate, **self._config}


class SGD(Optimizer):
    """m = momentum*m - lr*g; w += m (nesterov: w += momentum*m - lr*g); without momentum w -= lr*g."""

    _kind = "sgd"

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, name="SGD"):
        if not 0 <= momentum <= 1:
            raise ValueError(f"SGD: `momentum` must be in [0, 1], got {momentum}")
        super().__init__(learning_rate, name, momentum=float(momentum), nesterov=bool(nesterov))


class RMSprop(Optimizer):
    """v = rho*v + (1-rho)*g^2; w -= lr*g/sqrt(v + epsilon) (centered: v - mean(g)^2; optional momentum)."""

    _kind = "rmsprop"

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False, name="rmsprop"):
        super().__init__(learning_rate, name, rho=float(rho), momentum=float(momentum), epsilon=float(epsilon),
                         centered=bool(centered))


class Adam(Optimizer):
    """m, v moving averages; w -= lr*sqrt(1-b2^t)/(1-b1^t) * m/(sqrt(v)+epsilon); amsgrad keeps max(v)."""

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
