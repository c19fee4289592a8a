"""Lion with Keras 3's update rule (keras/src/optimizers/lion.py)."""
from .base import Optimizer


class Lion(Optimizer):
    """Steps of fixed size along the sign of an interpolated momentum.

    `w -= learning_rate * sign(beta_1 * m + (1 - beta_1) * g)`; `m = beta_2 * m + (1 - beta_2) * g`.
    State: `momentum`. Other arguments: see `Optimizer`.
    """

    _kind = "lion"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.99, *, name=None, **kwargs):
        if beta_1 <= 0 or beta_1 > 1:
            raise ValueError("Argument `beta_1` must be in the [0, 1] range. Otherwise, the optimizer degenerates to "
                             f"SignSGD. Received: beta_1={beta_1}.")
        super().__init__(learning_rate, name=name, _hyper={"beta_1": beta_1, "beta_2": beta_2}, **kwargs)
