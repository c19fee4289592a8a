"""Per-thread tracing state: while a model call is being recorded into a trace, tensors that carry
data or variable values must not turn into Python or NumPy values (the trace would freeze them), and
variable assignments become state updates the trace replays.

A trace that converts such a tensor is *data-dependent*: it is never compiled, and the caller runs
the model eagerly instead (fastfit says so once in a warning that names the reason).
"""
import os
import sys
import threading

from . import _core

_local = threading.local()
_PACKAGE = os.path.dirname(os.path.abspath(__file__))


class TraceState:
    """What one recording call collects besides the ops: why it is data-dependent, if it is."""

    def __init__(self, tape):
        self.tape = tape
        self.data_dependent = None  # the reason, once a conversion happened

    def refuse(self, why):
        if self.data_dependent is None:
            self.data_dependent = f"{why} at {_caller(3)}"

    # What a model call must not do while fit traces it; a compiled tf.function step records these.
    def note_gradient(self, target, sources, grads):
        self.refuse("a GradientTape computed gradients inside the traced model call")

    def note_apply(self, optimizer, pairs):
        self.refuse("an optimizer applied gradients inside the traced model call")

    def note_metric(self, metric, state, y_true, y_pred, sample_weight):
        self.refuse(f"the built-in metric '{metric.name}' was updated inside the traced model call")

    def note_result(self, metric, value):
        self.refuse(f"the result of metric '{metric.name}' was read inside the traced call")

    def note_conversion(self, tensor, how):
        from .tensor import Variable
        if self.data_dependent is None and (isinstance(tensor, Variable) or self.tape.is_live(tensor)):
            what = "a variable" if isinstance(tensor, Variable) else "a tensor computed from the inputs"
            self.data_dependent = f"{what} was converted to a Python or NumPy value ({how}) at {_caller()}"


def current():
    """The TraceState recording on this thread, or None."""
    return getattr(_local, "state", None)


class recording:
    """Context manager: record every op run on this thread on `tape` (a tracing _core.Tape)."""

    def __init__(self, tape, state=None):
        self.state = state or TraceState(tape)

    def __enter__(self):
        self._outer = current()
        _local.state = self.state
        self.state.tape.push()
        return self.state

    def __exit__(self, *exc):
        self.state.tape.pop()
        _local.state = self._outer
        return False


class not_recorded:
    """Context manager: ops run inside are recorded on no tape, and no trace sees them (the eager
    weight constraints of an optimizer step that a compiled program replays its own way)."""

    def __enter__(self):
        self._outer = current()
        _local.state = None
        _core.suspend_tapes()
        return self

    def __exit__(self, *exc):
        _core.resume_tapes()
        _local.state = self._outer
        return False


def _caller(depth=2):
    """file:line of the first frame outside fastfit: where the user's code converted the tensor."""
    frame = sys._getframe(depth)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE):
        frame = frame.f_back
    if frame is None:
        return "an unknown place"
    return f"{os.path.basename(frame.f_code.co_filename)}:{frame.f_lineno}"
