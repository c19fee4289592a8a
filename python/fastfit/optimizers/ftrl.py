"""FTRL with Keras 3's update rule (keras/src/optimizers/ftrl.py)."""
from .base import Optimizer


class Ftrl(Optimizer):
    """Follow The Regularized Leader (FTRL-proximal), with L1, L2 and L2-shrinkage regularization.

    With `p = -learning_rate_power`: `acc' = acc + g^2`;
    `linear += g + 2 * l2_shrinkage * w - (acc'^p - acc^p) / learning_rate * w`;
    `w = (clip(linear, -l1, l1) - linear) / (acc'^p / learning_rate + 2 * (l2 + beta / (2 * learning_rate)))`.
    State: `accumulator` (starting at `initial_accumulator_value`) and `linear`. Other arguments: see
    `Optimizer`.
    """

    _kind = "ftrl"

    def __init__(self, learning_rate=0.001, learning_rate_power=-0.5, initial_accumulator_value=0.1,
                 l1_regularization_strength=0.0, l2_regularization_strength=0.0,
                 l2_shrinkage_regularization_strength=0.0, beta=0.0, *, name=None, **kwargs):
        if learning_rate_power > 0:
            raise ValueError("`learning_rate_power` needs to be negative or zero. Received: "
                             f"learning_rate_power={learning_rate_power}.")
        for arg, value in (("initial_accumulator_value", initial_accumulator_value),
                           ("l1_regularization_strength", l1_regularization_strength),
                           ("l2_regularization_strength", l2_regularization_strength),
                           ("l2_shrinkage_regularization_strength", l2_shrinkage_regularization_strength)):
            if value < 0:
                raise ValueError(f"`{arg}` needs to be positive or zero. Received: {arg}={value}.")
        super().__init__(learning_rate, name=name, _hyper={
            "learning_rate_power": learning_rate_power, "initial_accumulator_value": initial_accumulator_value,
            "l1_regularization_strength": l1_regularization_strength,
            "l2_regularization_strength": l2_regularization_strength,
            "l2_shrinkage_regularization_strength": l2_shrinkage_regularization_strength, "beta": beta}, **kwargs)
