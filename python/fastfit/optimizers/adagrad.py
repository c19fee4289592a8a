"""Adagrad and Adadelta with Keras 3's update rules (keras/src/optimizers/{adagrad,adadelta}.py)."""
from .base import Optimizer


class Adagrad(Optimizer):
    """Learning rates scaled by the accumulated squares of past gradients.

    `acc += g^2`; `w -= learning_rate * g / sqrt(acc + epsilon)`. State: `accumulator` (starting at
    `initial_accumulator_value`). Other arguments: see `Optimizer`.
    """

    _kind = "adagrad"

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, *, name=None, **kwargs):
        super().__init__(learning_rate, name=name, _hyper={"initial_accumulator_value": initial_accumulator_value,
                                                           "epsilon": epsilon}, **kwargs)


class Adadelta(Optimizer):
    """Steps scaled by the ratio of moving root mean squares of past steps and of gradients.

    `ag = rho * ag + (1 - rho) * g^2`; `delta = -sqrt(ad + epsilon) * g / sqrt(ag + epsilon)`;
    `ad = rho * ad + (1 - rho) * delta^2`; `w += learning_rate * delta`. State: `accumulated_grad` and
    `accumulated_delta_var`. Other arguments: see `Optimizer`.
    """

    _kind = "adadelta"

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, *, name=None, **kwargs):
        super().__init__(learning_rate, name=name, _hyper={"rho": rho, "epsilon": epsilon}, **kwargs)
