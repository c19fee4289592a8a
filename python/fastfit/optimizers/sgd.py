"""SGD with Keras 3's update rule (keras/src/optimizers/sgd.py)."""
from .base import Optimizer


class SGD(Optimizer):
    """Gradient descent, with optional (Nesterov) momentum.

    Without momentum `w -= learning_rate * g`; with it `m = momentum * m - learning_rate * g`, then
    `w += m` (nesterov: `w += momentum * m - learning_rate * g`). State: `momentum` (when momentum != 0).
    Other arguments: see `Optimizer`.
    """

    _kind = "sgd"

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, *, name=None, **kwargs):
        if not 0 <= momentum <= 1:
            raise ValueError(f"`momentum` must be a float between [0, 1]. Received: momentum={momentum}")
        super().__init__(learning_rate, name=name, _hyper={"momentum": momentum, "nesterov": nesterov}, **kwargs)
