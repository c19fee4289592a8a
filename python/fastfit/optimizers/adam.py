"""Adam and its relatives with Keras 3's update rules (keras/src/optimizers/{adam,adamw,adamax,nadam}.py)."""
from .base import Optimizer


class Adam(Optimizer):
    """Adaptive moment estimation.

    `m += (g - m) * (1 - beta_1)`; `v += (g^2 - v) * (1 - beta_2)`;
    `w -= learning_rate * sqrt(1 - beta_2^t) / (1 - beta_1^t) * m / (sqrt(v) + epsilon)` (amsgrad: the
    running maximum of v). State: `momentum` and `velocity` (made variable by variable), `velocity_hat`
    (amsgrad). Other arguments: see `Optimizer`.
    """

    _kind = "adam"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False, *, name=None,
                 **kwargs):
        super().__init__(learning_rate, name=name, _hyper={"beta_1": beta_1, "beta_2": beta_2, "epsilon": epsilon,
                                                           "amsgrad": amsgrad}, **kwargs)


class AdamW(Adam):
    """Adam with decoupled weight decay: `w -= w * weight_decay * learning_rate` before each Adam step."""

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, *, name=None, **kwargs):
        if weight_decay is None:
            raise ValueError("Argument `weight_decay` must be a float. Received: weight_decay=None")
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad, name=name, weight_decay=weight_decay,
                         **kwargs)


class Adamax(Optimizer):
    """Adam with the infinity norm.

    `m += (g - m) * (1 - beta_1)`; `u = max(beta_2 * u, |g|)`;
    `w -= learning_rate * m / ((1 - beta_1^t) * (u + epsilon))`. State: `momentum` and `norm`.
    Other arguments: see `Optimizer`.
    """

    _kind = "adamax"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, *, name=None, **kwargs):
        super().__init__(learning_rate, name=name, _hyper={"beta_1": beta_1, "beta_2": beta_2, "epsilon": epsilon},
                         **kwargs)


class Nadam(Optimizer):
    """Adam with Nesterov momentum, with Keras' momentum schedule `u_t = beta_1 * (1 - 0.5 * 0.96^t)`.

    `m_hat = u_{t+1} * m / (1 - prod(u_1..u_{t+1})) + (1 - u_t) * g / (1 - prod(u_1..u_t))`,
    `w -= learning_rate * m_hat / (sqrt(v / (1 - beta_2^t)) + epsilon)`. State: `momentum` and
    `velocity`, then the running product (`variable`). Other arguments: see `Optimizer`.
    """

    _kind = "nadam"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, *, name=None, **kwargs):
        super().__init__(learning_rate, name=name, _hyper={"beta_1": beta_1, "beta_2": beta_2, "epsilon": epsilon},
                         **kwargs)
