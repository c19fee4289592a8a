"""Learning-rate schedules against Keras 3's formulas, at many steps and around their edges, and the
LearningRateSchedule API (configs, serialization, your own schedules)."""
import numpy as np
import pytest

import fastfit as keras
from keras_formulas import schedule

schedules = keras.optimizers.schedules

# (name, arguments, steps where the value changes regime: staircase edges, boundaries, restarts, warmup end)
SCHEDULES = [
    ("ExponentialDecay", dict(initial_learning_rate=0.1, decay_steps=10, decay_rate=0.96), [0, 10]),
    ("ExponentialDecay", dict(initial_learning_rate=0.1, decay_steps=10, decay_rate=0.5, staircase=True),
     [9, 10, 11, 19, 20, 21]),
    ("PiecewiseConstantDecay", dict(boundaries=[100, 110], values=[1.0, 0.5, 0.1]), [99, 100, 101, 109, 110, 111]),
    ("PolynomialDecay", dict(initial_learning_rate=0.1, decay_steps=20), [19, 20, 21]),
    ("PolynomialDecay", dict(initial_learning_rate=0.1, decay_steps=20, end_learning_rate=0.01, power=0.5,
                             cycle=True), [0, 1, 19, 20, 21, 40, 41]),
    ("InverseTimeDecay", dict(initial_learning_rate=0.1, decay_steps=5, decay_rate=0.5), [0, 5]),
    ("InverseTimeDecay", dict(initial_learning_rate=0.1, decay_steps=5, decay_rate=0.5, staircase=True),
     [4, 5, 6, 9, 10]),
    ("CosineDecay", dict(initial_learning_rate=0.1, decay_steps=30, alpha=0.1), [29, 30, 31]),
    ("CosineDecay", dict(initial_learning_rate=0.0, decay_steps=30, warmup_target=0.2, warmup_steps=10),
     [0, 9, 10, 11, 39, 40, 41]),
    ("CosineDecayRestarts", dict(initial_learning_rate=0.1, first_decay_steps=10), [9, 10, 11, 29, 30, 31, 69, 70]),
    ("CosineDecayRestarts", dict(initial_learning_rate=0.1, first_decay_steps=8, t_mul=1.0, m_mul=0.5, alpha=0.1),
     [7, 8, 9, 15, 16, 17]),
]


@pytest.mark.parametrize("name,args,edges", SCHEDULES)
def test_values_match_keras_formulas(name, args, edges):
    s = getattr(schedules, name)(**args)
    steps = sorted(set(range(0, 120, 3)) | {e + d for e in edges for d in (-1, 0, 1) if e + d >= 0})
    got = s(np.array(steps)).numpy()
    assert got.dtype == np.float32 and got.shape == (len(steps),)
    want = [schedule(name, **args)(step) for step in steps]
    # atol: where 1 + cos(pi * f) nears 0, float32 (Keras' arithmetic too) keeps fewer digits
    np.testing.assert_allclose(got, want, rtol=2e-6, atol=1e-8)
    assert float(s(steps[5])) == got[5]  # one step at a time gives the same


def test_regimes_at_the_edges():
    stairs = schedules.ExponentialDecay(1.0, decay_steps=10, decay_rate=0.5, staircase=True)
    assert [float(stairs(s)) for s in (0, 9, 10, 19, 20)] == [1.0, 1.0, 0.5, 0.5, 0.25]
    pieces = schedules.PiecewiseConstantDecay([100, 110], [1.0, 0.5, 0.1])
    assert [float(pieces(s)) for s in (100, 101, 110, 111)] == [1.0, 0.5, 0.5, np.float32(0.1)]
    warm = schedules.CosineDecay(0.0, decay_steps=30, warmup_target=0.2, warmup_steps=10)
    assert float(warm(10)) == np.float32(0.2) and float(warm(1000)) == 0.0
    restarts = schedules.CosineDecayRestarts(1.0, first_decay_steps=10)  # periods of 10, 20, 40 steps
    assert [float(restarts(s)) for s in (0, 10, 30, 70)] == [1.0, 1.0, 1.0, 1.0]
    cycle = schedules.PolynomialDecay(1.0, decay_steps=10, end_learning_rate=0.0, cycle=True)
    assert [float(cycle(s)) for s in (0, 10, 11, 20)] == [1.0, 0.0, np.float32(0.45), 0.0]


@pytest.mark.parametrize("name,args,edges", SCHEDULES)
def test_config_and_serialization_round_trip(name, args, edges):
    s = getattr(schedules, name)(**args)
    again = type(s).from_config(s.get_config())
    assert again.get_config() == s.get_config()
    restored = schedules.deserialize(schedules.serialize(s))
    assert type(restored) is type(s) and float(restored(37)) == float(s(37))


def test_own_schedules():
    class Linear(schedules.LearningRateSchedule):
        def __init__(self, start):
            self.start = start

        def __call__(self, step):
            return self.start / (step + 1)

        def get_config(self):
            return {"start": self.start}

    s = schedules.deserialize(schedules.serialize(Linear(0.5)), custom_objects={"Linear": Linear})
    assert s(4) == 0.1
    with pytest.raises(ValueError, match="Unknown learning rate schedule: 'Linear'"):
        schedules.deserialize(schedules.serialize(Linear(0.5)))
    with pytest.raises(NotImplementedError, match="must override `__call__"):
        schedules.LearningRateSchedule()(0)
    with pytest.raises(NotImplementedError, match="must override `get_config"):
        schedules.LearningRateSchedule().get_config()


def test_argument_errors():
    with pytest.raises(ValueError, match="`decay_steps` must be > 0"):
        schedules.ExponentialDecay(0.1, 0, 0.9)
    with pytest.raises(ValueError, match="`first_decay_steps` must be > 0"):
        schedules.CosineDecayRestarts(0.1, -1)
    with pytest.raises(ValueError, match="boundaries should be 1 less than the length of values"):
        schedules.PiecewiseConstantDecay([1, 2], [0.1, 0.2])
    with pytest.raises(ValueError, match="`boundaries` must be increasing"):
        schedules.PiecewiseConstantDecay([2, 1], [0.1, 0.2, 0.3])
