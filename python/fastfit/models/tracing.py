"""Compiling fit/evaluate/predict into C++ Programs, and refusing to when a trace could be wrong.

A trace records the ops one call of the model (and its loss) runs; the Program replays them on every
batch. That is only right when the call does the same thing on every batch, so a trace is used
only when it is proven:

1. Nothing in the call turned a traced tensor into a Python or NumPy value (`float`, `int`, `bool`,
   an `if` on a tensor, `.numpy()`, `np.asarray`, printing): such a value would be frozen.
2. Traced on two batch sizes, on different rows, the call ran the same ops with the same attributes,
   wired the same way, on the same variables and identical constants. A constant that equals each
   trace's batch size (`y.shape[0]` read as a number) is carried symbolically: the Program fills in
   each batch's size.
3. Every output, the loss and the metrics, computed by the Program on rows neither trace saw, match
   the eager model's.

A call that fails a check runs op by op from Python (with one warning that says why), the same
numbers at Python speed. A first call with too few rows to check (under 9) runs eagerly and leaves
nothing cached, so a later, larger call is traced and checked before any program is trusted.
`fit` traces with training=True; evaluate, validation and predict with training=False: each has its
own program.
"""
import warnings

import numpy as np

from .. import _core, _tracing, optimizers
from ..autodiff import GradientTape
from ..config import no_scope, program_device
from ..optimizers.constraint_step import compile_constraints
from ..tensor import Tensor
from .custom_step import StepRunner, overridden

MIN_TRACE_ROWS = 9  # two traces (3 and 2 rows) and 4 rows to check on
_TRAINING = {"train": True, "test": False, "predict": False}
_WHAT = {"train": "fit", "test": "evaluate", "predict": "predict"}


def runner_for(model, mode, adapter):
    """The runner (compiled Program or eager loop) for `mode` on data like the adapter's."""
    config = model._compile_config
    if overridden(model, mode):  # the user's train_step / test_step / predict_step, as a tf.function
        key = (mode, adapter.signature, adapter.preprocess, "step")
        with model._programs_lock:
            if key not in model._programs:
                model._programs[key] = StepRunner(model, mode, adapter)
            return model._programs[key]
    if config is not None and config.run_eagerly:
        return EagerRunner(model, mode, adapter)
    device = program_device()
    key = (mode, adapter.signature, adapter.preprocess, device)
    with model._programs_lock:
        runner = model._programs.get(key)
        if runner is None:
            xs, ys, ws = adapter.sample()
            if len(xs[0]) < MIN_TRACE_ROWS:
                return EagerRunner(model, mode, adapter)  # nothing to check on: not cached
            if mode == "predict" and adapter.preprocess is None:
                ys = ws = None  # predict reads the inputs only
            with no_scope():
                runner, reason = _compile(model, mode, Batch(xs, ys, ws, adapter.preprocess), device)
            if reason is not None and reason not in model._fallback_reasons:
                model._fallback_reasons.add(reason)
                warnings.warn(f"Model '{model.name}': {_WHAT[mode]} runs op by op from Python, much slower than the "
                              f"compiled path, because {reason}.", UserWarning, stacklevel=4)
            if reason is not None:
                runner = EagerRunner(model, mode, adapter)
            model._programs[key] = runner
    return runner


class Batch:
    """A batch as the source hands it out (inputs, targets or None, sample weights or None), and the
    Dataset `map` that turns it into what the model and loss see (None: nothing to turn)."""

    def __init__(self, xs, ys, ws, preprocess=None):
        self.xs, self.ys, self.ws, self.preprocess = xs, ys, ws, preprocess

    def rows(self, rows):
        return Batch([x[rows] for x in self.xs], None if self.ys is None else [y[rows] for y in self.ys],
                     None if self.ws is None else self.ws[rows], self.preprocess)

    def arrays(self):
        return self.xs + (self.ys or []) + ([self.ws] if self.ws is not None else [])

    def tensors(self):
        """(inputs, targets, weights) as fresh tensors."""
        return ([Tensor(np.ascontiguousarray(a)) for a in self.xs],
                [Tensor(np.ascontiguousarray(a)) for a in self.ys or []],
                Tensor(np.ascontiguousarray(self.ws)) if self.ws is not None else None)

    def prepared(self, tensors):
        """(inputs, targets, weights) the model and the loss take: after the map, if there is one."""
        return self.preprocess(*tensors) if self.preprocess is not None else tensors


def _compile(model, mode, batch, device):
    """(CompiledRunner on `device`, None), or (None, why the call cannot be compiled)."""
    n = len(batch.xs[0])
    a = min(8, n // 3)
    b, v = a - 1, min(16, n - 2 * a + 1)
    with _StateGuard(model):
        trace_a, why = _record(model, mode, batch.rows(slice(0, a)))
    if why is None:
        with _StateGuard(model):
            trace_b, why = _record(model, mode, batch.rows(slice(a, a + b)))
    if why is not None:
        return None, why
    why, batch_constants = _core.compare_traces(trace_a.trace, trace_b.trace)
    if why:
        return None, why
    train = mode == "train"
    config = model._compile_config
    if train:  # weights, gradients and optimizer state in one layout: the update is one flat pass
        optimizers.flatten_variables(model.trainable_weights)
    program, why = _program(model, mode, trace_a.trace, batch_constants, device)
    if why is not None:
        return None, why
    for m, (y_true, y_pred, weight) in zip(config.compiled_metrics() if mode != "predict" else [],
                                           trace_a.metric_slots):
        program.add_metric(m._accumulator, y_true, y_pred, weight)
    runner = CompiledRunner(program, [tuple(o.shape[1:]) for o in trace_a.outputs])
    why = _verify(model, mode, runner, batch.rows(slice(n - v, n)))
    return (runner, None) if why is None else (None, why)


def _program(model, mode, trace, batch_constants, device):
    """(the C++ Program on `device` ('GPU' or 'CPU'), None), or (None, why it cannot be compiled). On the
    GPU, what has no GPU path yet (an optimizer option, weight constraints) makes it run on the CPU
    instead, with a warning that says why."""
    train = mode == "train"
    config = model._compile_config
    args = (trace, batch_constants, model.trainable_weights if train else [], config.optimizer._core if train else None)
    if device == "GPU":
        try:
            return _constrained(model, _core.Program(*args, device="GPU"), train)
        except NotImplementedError as e:
            warnings.warn(f"Model '{model.name}': {_WHAT[mode]} runs on the CPU, not the GPU, because {e}.",
                          UserWarning, stacklevel=6)
    return _constrained(model, _core.Program(*args, device="CPU"), train)


def _constrained(model, program, train):
    """(program, None) with the weight constraints run after each update of the weights that get one, or
    (None, why they cannot be compiled). A GPU program raises NotImplementedError when there are some."""
    if train:
        update, why = compile_constraints([v for v, c in zip(model.trainable_weights, program.connected) if c])
        if why is not None:
            return None, why
        if update is not None:
            program.set_after_update(update)
    return program, None


def release(runner):
    """After fit, evaluate or predict: the program drops its device copies of the data."""
    if runner is not None and runner.program is not None:
        runner.program.release_data()


class _Recorded:
    def __init__(self, trace, outputs, metric_slots):
        self.trace, self.outputs = trace, outputs
        self.metric_slots = metric_slots  # per metric: the trace's labels its accumulator folds


def _record(model, mode, batch):
    """Runs the model, loss and metrics' inputs on these rows while recording: (_Recorded, None) or
    (None, why). Sample weights are one more target of the trace; a Dataset's map runs first, recorded
    too."""
    tape = _core.Tape(record_all=True)
    inputs, targets, weights = batch.tensors()
    raw = inputs + targets + ([weights] if weights is not None else [])
    for t in raw:
        tape.mark_live(t)
    with _tracing.recording(tape) as state:
        xs, ys, ws = batch.prepared((inputs, targets, weights))
        outs = _as_list(model(_one(xs), training=_TRAINING[mode]), model)
        config = model._compile_config
        loss, terms, folded = None, [], []
        if mode != "predict":
            loss, terms = config.compute_loss(ys, outs, ws, model.losses)
            folded = _metric_inputs(config, ys, outs, ws)
            _update_custom_metrics(config, ys, outs, ws)
    if state.data_dependent:
        return None, state.data_dependent
    labels, slots = _label_slots(folded)
    trace = _core.Trace(tape, inputs, raw[len(inputs):], outs, loss, labels, terms)
    return _Recorded(trace, outs, slots), None


def _metric_inputs(config, ys, outs, ws):
    """Per compiled metric, what its accumulator folds: (y_true, y_pred, weights or None), computed
    from the outputs and targets (a MeanMetricWrapper's per-sample values, recorded when tracing)."""
    metrics = config.resolve_metrics([y.shape for y in ys], [o.shape for o in outs])
    return [m._inputs(ys[m.output], outs[m.output], ws if m.weighted else None) for m in metrics]


def _label_slots(folded):
    """The tensors the metrics read, each once, and per metric the places of its three (-1: none)."""
    labels, place, slots = [], {}, []
    for tensors in folded:
        for t in tensors:
            if t is not None and id(t) not in place:
                place[id(t)] = len(labels)
                labels.append(t)
        slots.append([-1 if t is None else place[id(t)] for t in tensors])
    return labels, slots


def _update_custom_metrics(config, ys, outs, ws):
    """The update_state of the compiled Metric subclasses (traced while recording: their variable
    updates become the program's)."""
    for m in config.custom_metrics():
        m.update_state(ys[m.output], outs[m.output], ws if m.weighted else None)


def _verify(model, mode, runner, batch):
    """None when the program reproduces the eager model on these rows, else why not."""
    config = model._compile_config
    n = len(batch.xs[0])
    with _StateGuard(model):
        xs, targets, weights = batch.prepared(batch.tensors())
        eager_outs = _as_list(model(_one(xs), training=_TRAINING[mode]), model)
        eager = [o.numpy() for o in eager_outs]
        if mode != "predict":
            outs = eager_outs
            loss, terms = config.compute_loss(targets, outs, weights, model.losses)
            eager_losses = [float(loss)] + [float(t) for t in terms]
            _update_custom_metrics(config, targets, outs, weights)
            eager_variables = [v.numpy() for m in config.custom_metrics() + model._metrics_added() for v in m.variables]
            eager_metrics = []
            for m in config.compiled_metrics():
                state = _core.MetricState()
                m._fold(state, targets[m.output], outs[m.output], weights if m.weighted else None)
                eager_metrics.append(state.result())
    results = PredictResults(runner.output_rows, n)
    source = _core.ArraySource([Tensor.view(a) for a in batch.arrays()], n)
    runner.program.run("predict", source, 1, [], results.tensors, False)
    for k, (got, want) in enumerate(zip(results.arrays, eager)):
        if got.shape != want.shape or not np.allclose(got, want, rtol=1e-3, atol=1e-5):
            diff = np.max(np.abs(got - want)) if got.shape == want.shape else f"shape {got.shape} vs {want.shape}"
            return (f"on rows the trace never saw, the compiled output {k} differs from the eager model's (max "
                    f"difference {diff}): the call computes something a trace cannot replay")
    if mode == "predict":
        return None
    states = [_core.MetricState() for _ in config.state_metrics()]
    runner.program.run("test", _core.ArraySource([Tensor.view(a) for a in batch.arrays()], n), 1, states, [], False)
    trackers = len(config.loss_trackers)
    for tracker, state, want in zip(config.loss_trackers, states, eager_losses):
        if not np.isclose(state.result(), want, rtol=1e-3, atol=1e-6):
            return (f"on rows the trace never saw, the compiled {tracker.name} {state.result():.6g} differs from the "
                    f"eager model's {want:.6g}: the loss computes something a trace cannot replay")
    with _StateGuard(model):  # the subclassed metrics' and add_metric's updates, replayed by the program
        runner.program.run("test", _core.ArraySource([Tensor.view(a) for a in batch.arrays()], n), 1,
                           [_core.MetricState() for _ in states], [], True)
        replayed = [v.numpy() for m in config.custom_metrics() + model._metrics_added() for v in m.variables]
    for got, want in zip(replayed, eager_variables):
        if got.shape != want.shape or not np.allclose(got, want, rtol=1e-3, atol=1e-6):
            return ("the compiled program's metric updates (a Metric subclass or add_metric) differ from the "
                    "eager model's on rows the trace never saw")
    for m, state, want in zip(config.compiled_metrics(), states[trackers:], eager_metrics):
        if not np.allclose(state.result(), want, rtol=1e-3, atol=1e-6, equal_nan=True):
            return f"the compiled metric '{m.name}' gives {state.result()} where the eager model gives {want}"
    return None


class _StateGuard:
    """Restores every variable of the model (weights, moving statistics, random generator states)
    on exit: tracing and checking run the model without leaving a trace of it."""

    def __init__(self, model):
        config = model._compile_config
        custom = [v for m in (config.custom_metrics() if config else []) for v in m.variables]
        self.saved = [(v, _raw(v)) for v in model._state_variables() + custom]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for v, value in self.saved:
            if not np.array_equal(_raw(v), value):
                v._assign(value)
        return False


def _raw(v):
    from ..tensor import _raw_numpy
    return _raw_numpy(v)


def _as_list(out, model=None):
    """A model's outputs as a list (a dict in the order of the model's output names)."""
    if isinstance(out, dict):
        names = getattr(model, "output_names", None) or list(out)
        return [out[n] for n in names]
    return list(out) if isinstance(out, (list, tuple)) else [out]


class PredictResults:
    """Where predict's outputs go. With the row count known ahead: numpy arrays the Program writes in
    place; otherwise C++ tensors that grow (or, run eagerly, a list of per-batch arrays)."""

    def __init__(self, output_rows, n=None):
        self.n = n
        if n is not None:
            self.arrays = [np.empty((n,) + tuple(r), np.float32) for r in output_rows]
            self.tensors = [Tensor.view(a) for a in self.arrays]
        else:
            self.arrays = None
            self.tensors = [Tensor(np.zeros((), np.float32)) for _ in output_rows]
            self.chunks = []

    def write(self, outs, start):
        """Eager runs: a batch's outputs, from sample `start` on."""
        if self.arrays is not None:
            for a, o in zip(self.arrays, outs):
                a[start:start + len(o)] = o
        else:
            self.chunks.append(outs)

    def rows(self, start, stop):
        """Outputs [start, stop) written so far, as numpy arrays (what predict's batch hooks see)."""
        if self.arrays is not None:
            return [a[start:stop] for a in self.arrays]
        if self.chunks:
            return [np.concatenate([c[k] for c in self.chunks])[start:stop] for k in range(len(self.chunks[0]))]
        return [t.numpy()[start:stop] for t in self.tensors]  # a copy of all so far: only with hooks

    def finish(self, rows):
        """The outputs as numpy arrays of `rows` rows."""
        if self.arrays is not None:  # fewer rows when a callback stopped predict early
            return self.arrays if rows == self.n else [a[:rows] for a in self.arrays]
        if self.chunks:
            return [np.concatenate([c[k] for c in self.chunks]) for k in range(len(self.chunks[0]))]
        return [t.numpy()[:rows] if t.ndim else np.zeros((0,), np.float32) for t in self.tensors]


class CompiledRunner:
    """Runs batches through a C++ Program."""

    def __init__(self, program, output_rows):
        self.program = program
        self.output_rows = output_rows
        self.rows_independent = program.splits("predict")  # each output row depends on its input row only

    def run(self, mode, source, max_steps, states, results):
        return self.program.run(mode, source, max_steps, states or [], results.tensors if results else [], True)


class EagerRunner:
    """The same interface, run op by op from Python: for run_eagerly=True, calls a trace cannot
    replay, and first calls too small to check a trace on."""

    program = None
    rows_independent = False

    def __init__(self, model, mode, adapter):
        self.model = model
        self.n_inputs, self.n_targets, self.weighted = adapter.layout
        self.preprocess = adapter.preprocess
        first = Batch(*adapter.sample(), self.preprocess).rows(slice(0, 1))
        with _StateGuard(model):
            xs, ys, _ = first.prepared(first.tensors())
            outs = _as_list(model(_one(xs), training=False), model)
        self.output_rows = [tuple(o.shape[1:]) for o in outs]
        if mode != "predict":
            model._compile_config.resolve_metrics([y.shape for y in ys], [(None,) + r for r in self.output_rows])

    def run(self, mode, source, max_steps, states, results):
        model, config = self.model, self.model._compile_config
        done = 0
        for n, xs, ys, w in _batches(self, source, max_steps):
            x = _one(xs)
            if mode == "train":
                with GradientTape() as tape:
                    outs = _as_list(model(x, training=True), model)
                    loss, terms = config.compute_loss(ys, outs, w, model.losses)
                    scaled = config.optimizer.scale_loss(loss)  # as Keras' train_step
                grads = tape.gradient(scaled, model.trainable_weights)
                config.optimizer.apply_gradients(zip(grads, model.trainable_weights))
            else:
                outs = _as_list(model(x, training=False), model)
                loss, terms = config.compute_loss(ys, outs, w, model.losses) if mode == "test" else (None, [])
            if mode == "predict":
                results.write([o.numpy() for o in outs], source.position - n)
            else:
                for state, value in zip(states, [loss] + terms):
                    state.total += float(value) * n
                    state.count += n
                for m, state in zip(config.compiled_metrics(), states[len(config.loss_trackers):]):
                    m._fold(state, ys[m.output], outs[m.output], w if m.weighted else None)
                _update_custom_metrics(config, ys, outs, w)
            done += 1
        return done


def _batches(runner, source, max_steps):
    """Up to max_steps batches of `source` as (rows, xs, ys, w), prepared as the runner's model takes them
    (runner: n_inputs, n_targets, weighted, preprocess)."""
    for _ in range(max_steps):
        arrays = source.next_batch()
        if arrays is None:
            return
        n_in, n_tgt = runner.n_inputs, runner.n_targets
        batch = Batch(arrays[:n_in], arrays[n_in:n_in + n_tgt], arrays[n_in + n_tgt] if runner.weighted else None,
                      runner.preprocess)
        yield (len(arrays[0]),) + tuple(batch.prepared(batch.tensors()))


def _one(xs):
    return xs[0] if len(xs) == 1 else xs
