"""One input signature of a tf.function: its recording, the Program built from it, the check of that
Program against an eager run, and the replay (see function.py for the life of a call)."""
import warnings

import numpy as np

from . import _core, _tracing
from .config import program_device
from .tensor import Tensor, Variable, _raw_numpy


class _StepRecording(_tracing.TraceState):
    """What the step did besides its ops: gradients, their application, built-in metric updates."""

    def __init__(self, tape):
        super().__init__(tape)
        self.gradients = []  # (target, sources, gradients)
        self.applies = []    # (optimizer, [(gradient, variable)], ops recorded before it)
        self.metrics = []    # (metric, its state, y_true, y_pred, sample_weight)
        self.results = {}    # id(value) -> the built-in metric whose result() gave it

    def note_gradient(self, target, sources, grads):
        self.gradients.append((target, list(sources), list(grads)))
        for g in grads:  # turning a gradient into a Python value is data-dependent too
            if g is not None:
                self.tape.mark_live(g)

    def note_apply(self, optimizer, pairs):
        self.applies.append((optimizer, list(pairs), self.tape.num_records))

    def note_metric(self, metric, state, y_true, y_pred, sample_weight):
        self.metrics.append((metric, state, y_true, y_pred, sample_weight))

    def note_result(self, metric, value):
        self.results[id(value)] = (metric, value)  # read again after each replay
        self.tape.mark_live(value)  # a Python value of it would freeze one call's state into the trace


class _Step:
    """The compiled form of one signature: `program` once checked, else None (`why` says why not,
    or `pending` until the check has run)."""

    def __init__(self):
        self.program = None
        self.pending = False
        self.why = None

    # -- recording ------------------------------------------------------------------------------
    @classmethod
    def trace(cls, fn, args, kwargs, leaves):
        """(the _Step, the call's result): the function run eagerly while recorded."""
        from .function import _replace_leaves
        step = cls()
        tensors = list(leaves)
        rows = next((t.shape[0] for t in tensors if t.ndim >= 1), None)
        step.batch = [i for i, t in enumerate(tensors) if t.ndim >= 1 and t.shape[0] == rows]
        # Arguments that are not rows of the batch (a scalar step count, a learning rate) become
        # variables the step reads, refilled on each call.
        step.hidden = {i: Variable(t.numpy(), trainable=False) for i, t in enumerate(tensors) if i not in step.batch}
        fed = [step.hidden.get(i, t) for i, t in enumerate(tensors)]
        args, kwargs = _replace_leaves((args, kwargs), fed)
        tape = _core.Tape(record_all=True)
        for t in fed:
            tape.mark_live(t)
        recording = _StepRecording(tape)
        with _tracing.recording(tape, recording):
            result = fn(*args, **kwargs)
        step.why = recording.data_dependent or (None if step.batch else "it takes no tensor with a batch axis")
        if step.why is None:
            step.why = step._build(recording, [fed[i] for i in step.batch], result)
        step.pending = step.why is None
        return step, result

    def _build(self, rec, inputs, result):
        """Builds the Program from the recording; returns why it cannot be, or None."""
        from . import optimizers
        from .function import _flatten
        from .optimizers.constraint_step import compile_constraints
        if len(rec.gradients) > 1 or len(rec.applies) > 1:
            return "it computes or applies gradients more than once (fastfit compiles one gradient, applied once)"
        if rec.gradients and not rec.applies:
            return "it computes gradients without applying them with an optimizer"
        if rec.applies and not rec.gradients:
            return "it applies gradients that were not computed in it"
        loss, params, optimizer = None, [], None
        if rec.applies:
            loss, sources, grads = rec.gradients[0]
            optimizer, pairs, applied_at = rec.applies[0]
            if loss is None:
                return ("its gradient has output_gradients or several targets; fastfit compiles the gradient of a "
                        "scalar loss")
            if loss.ndim != 0:
                return f"the gradient's target has shape {loss.shape}; fastfit compiles the gradient of a scalar loss"
            for g, v in pairs:
                k = next((k for k, s in enumerate(sources) if s is v), None)
                if k is None or grads[k] is not g or not isinstance(v, Variable):
                    return "apply_gradients was given values other than the tape's gradients of its variables"
            params = [v for _, v in pairs]
        self.mode = "train" if rec.applies else "test"
        self.optimizer = optimizer
        # What the step returns: the loss, scalars (tracked as loss terms), batches of rows (outputs),
        # or values that do not depend on the call (kept as they are). picks: per returned leaf, its
        # place among what Program.call returns (the loss, the terms, the outputs), or None and the value.
        out_leaves, _ = _flatten(result)
        self.result_structure = result
        self.single = isinstance(result, (Tensor, np.ndarray))
        outputs, terms, picks = [], [], []
        for value in out_leaves:
            t = value if isinstance(value, Tensor) else None
            noted = rec.results.get(id(value))
            if noted is not None and noted[1] is value:  # a built-in metric's result: read after each call
                picks.append(("result", noted[0]))
            elif t is None or not rec.tape.is_live(t) or isinstance(t, Variable):
                picks.append(("same", value))
            elif loss is not None and t is loss:
                picks.append(("loss", 0))
            elif t.ndim == 0:
                picks.append(("term", len(terms)))
                terms.append(t)
            elif t.shape[0] == inputs[0].shape[0]:
                picks.append(("output", len(outputs)))
                outputs.append(t)
            else:
                return f"it returns a tensor of shape {t.shape}, neither a scalar nor a batch of rows"
        first = {"loss": 0, "term": int(loss is not None), "output": int(loss is not None) + len(terms)}
        self.picks = [(None, v) if kind in ("same", "result") else (first[kind] + v, None) for kind, v in picks]
        self.results = {i for i, (kind, _) in enumerate(picks) if kind == "result"}
        labels, place, bindings = [], {}, []
        for metric, state, *folded in rec.metrics:  # each tensor a metric reads becomes a label, once
            for t in folded:
                if t is not None and id(t) not in place:
                    place[id(t)] = len(labels)
                    labels.append(t)
            bindings.append((metric, state, [-1 if t is None else place[id(t)] for t in folded]))
        trace = _core.Trace(rec.tape, inputs, [], outputs, loss, labels, terms)
        grads = [g for g in (rec.gradients[0][2] if rec.gradients else []) if g is not None]
        if grads and trace.first_reader(grads) >= 0:
            return "an op reads the gradients (clipping or scaling them by hand); pass clipnorm= to the optimizer"
        if params and trace.first_reader(params, applied_at) >= 0:
            return "it reads the weights after apply_gradients changed them"
        for metric, value in rec.results.values():  # returned as they are, they are read after each call
            if trace.first_reader([value]) >= 0:
                return (f"it computes with the result of metric '{metric.name}', a value the compiled step cannot "
                        "update (return it instead)")
        if params:
            optimizers.flatten_variables(params)
        self.program = None
        try:  # on the CPU: Program.call has no GPU path yet
            self._program = _core.Program(trace, [], params, optimizer._core if optimizer else None)
        except ValueError as e:  # a variable on the GPU
            return f"its compiled step runs on the CPU only, and {e}"
        if program_device() == "GPU":
            warnings.warn("A compiled tf.function step runs on the CPU, not the GPU: replaying one call "
                          "(Program.call) has no GPU path yet.", UserWarning, stacklevel=5)
        if params:  # the weight constraints, after the update of the variables given a gradient
            update, why = compile_constraints([v for g, v in pairs if g is not None])
            if why is not None:
                return why
            if update is not None:
                self._program.set_after_update(update)
        for metric, _, slots in bindings:
            self._program.add_metric(metric._accumulator, *slots)
        self.metric_states = [state for _, state, _ in bindings]
        # the loss's and the terms' trackers (restarted by each call), then the metrics' states
        self.states = [_core.MetricState() for _ in range(int(loss is not None) + len(terms))] + self.metric_states
        self.params = params
        self.state_tensors = list(trace.state_tensors)
        return None

    # -- replay ---------------------------------------------------------------------------------
    def run(self, leaves, program=None):
        """The call replayed by the Program: the result in the function's structure."""
        arrays = [leaves[i] for i in self.batch]
        for i, var in self.hidden.items():
            var.assign(leaves[i])
        values = (program or self.program).call(self.mode, arrays, self.states)
        out = [value if k is None else values[k] for k, value in self.picks]
        for i in self.results:
            out[i] = self.picks[i][1].result()
        if self.single:
            return out[0]
        from .function import _replace_leaves
        return _replace_leaves(self.result_structure, out)

    # -- the check ------------------------------------------------------------------------------
    def verify(self, fn, args, kwargs, leaves):
        """Runs the Program, puts the state back, runs the function eagerly and keeps the Program
        if both agree. Returns the eager result."""
        from .function import _flatten
        self.pending = False
        saved = self._snapshot()
        compiled = _flatten(self.run(leaves, self._program))[0]
        compiled_state = [_value(v) for v, _ in saved]
        for v, value in saved:
            _restore(v, value)
        result = fn(*args, **kwargs)
        eager = _flatten(result)[0]
        why = None
        if len(eager) != len(compiled):
            why = "the compiled step returns a different structure than the eager one"
        for k, (a, b) in enumerate(zip(compiled, eager)):
            if why is None and not _close(a, b):
                why = f"the compiled step's returned value {k} differs from the eager step's on a new call"
        for (v, _), a in zip(saved, compiled_state):
            if why is None and not _close(a, _value(v)):
                why = (f"the compiled step leaves variable '{getattr(v, 'name', '?')}' different from the eager "
                       "step on a new call")
        self.why = why
        if why is None:
            self.program = self._program
        return result

    def _snapshot(self):
        """Everything a replay changes, with its value now."""
        held = list(self.params) + list(self.state_tensors)  # not `hidden`: each call refills them
        if self.optimizer is not None:
            held += list(self.optimizer.variables)
        seen, out = set(), []
        for v in held:
            if id(v) not in seen:
                seen.add(id(v))
                out.append((v, _value(v)))
        for state in self.metric_states:
            out.append((state, _value(state)))
        return out


def _value(v):
    if isinstance(v, _core.MetricState):
        copy = _core.MetricState()
        copy.copy_from(v)
        return copy
    return np.array(_raw_numpy(v) if isinstance(v, Tensor) else v.numpy(), copy=True)


def _restore(v, value):
    if isinstance(v, _core.MetricState):
        v.copy_from(value)
    elif isinstance(v, Variable):
        v._assign(value)
    else:
        v.assign(value)


def _close(a, b):
    if isinstance(a, _core.MetricState):  # a metric's state: its counts and accumulators
        return _close(np.array([a.total, a.count] + a.acc), np.array([b.total, b.count] + b.acc))
    if isinstance(a, Tensor) or isinstance(b, Tensor) or isinstance(a, np.ndarray):
        a, b = np.asarray(_raw_numpy(a) if isinstance(a, Tensor) else a), \
            np.asarray(_raw_numpy(b) if isinstance(b, Tensor) else b)
        return a.shape == b.shape and np.allclose(a, b, rtol=1e-3, atol=1e-5)
    return a is b or a == b
