"""RMSprop with Keras 3's update rule (keras/src/optimizers/rmsprop.py)."""
from .base import Optimizer


class RMSprop(Optimizer):
    """Divides the gradient by a moving root mean square of its recent values.

    `v = rho * v + (1 - rho) * g^2`; `w -= learning_rate * g / sqrt(v + epsilon)` (epsilon inside the
    root; centered: `v - a^2` with `a` the moving mean of g; momentum > 0: the step goes through
    `m = momentum * m + step`). State: `velocity`, `momentum` (momentum > 0), `average_gradient`
    (centered). Other arguments: see `Optimizer`.
    """

    _kind = "rmsprop"

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False, *, name=None,
                 **kwargs):
        super().__init__(learning_rate, name=name, _hyper={"rho": rho, "momentum": momentum, "epsilon": epsilon,
                                                           "centered": centered}, **kwargs)
