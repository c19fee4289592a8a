"""Weight constraints after each optimizer step, as Keras 3's `apply_gradients` applies them to the
variables it updated: eagerly here, and in compiled programs as a recorded op sequence (a C++
VariableUpdate) that the program runs after its update."""
import numpy as np

from .. import _core, _tracing
from ..tensor import _raw_numpy


def _constrained(variables):
    return [v for v in variables if getattr(v, "constraint", None) is not None]


def apply_constraints(variables):
    """Each variable with a constraint takes `constraint(variable)`; no tape or trace records it."""
    targets = _constrained(variables)
    if not targets:
        return
    with _tracing.not_recorded():
        for v in targets:
            v.assign(v.constraint(v))


def compile_constraints(variables):
    """(a VariableUpdate that replays the constraints of `variables`, or None when none has one; why
    they cannot be replayed, or None). A replay is trusted only when the constraints ran no Python on
    the weights' values while recorded and, run on the current weights, it gives what they give."""
    targets = _constrained(variables)
    if not targets:
        return None, None
    saved = [(v, np.array(_raw_numpy(v), copy=True)) for v in targets]
    tape = _core.Tape(record_all=True)
    try:
        with _tracing.not_recorded(), _tracing.recording(tape) as state:
            for v in targets:
                v.assign(v.constraint(v))
        if state.data_dependent:
            return None, f"a weight constraint cannot be replayed: {state.data_dependent}"
        eager = [np.array(_raw_numpy(v), copy=True) for v in targets]
        _restore(saved)
        try:
            update = _core.VariableUpdate(_core.Trace(tape, [], [], [], None))
        except ValueError as e:  # a variable on the GPU: no compiled constraints there yet
            return None, f"a weight constraint cannot be replayed: {e}"
        update.run()
        for v, want in zip(targets, eager):
            if not np.allclose(_raw_numpy(v), want, rtol=1e-5, atol=1e-7):
                return None, (f"the constraint of weight '{v.path}' replayed gives other values than run eagerly "
                              "(it computes something a trace cannot replay)")
        return update, None
    finally:
        _restore(saved)


def _restore(saved):
    for v, value in saved:
        v._assign(value)
