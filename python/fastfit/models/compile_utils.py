"""What compile() configures, resolved once against the model's outputs: the optimizer, a loss and a
weight per output, the metrics per output, and how programs run. The trainer and the tracer read it;
nothing here runs a batch. The flattening follows Keras 3's CompileLoss and CompileMetrics."""
import numbers

from .. import losses, metrics as metrics_module, optimizers


class CompileConfig:
    """compile()'s arguments, checked. Every accepted argument takes effect or raises
    NotImplementedError naming it.

    Args:
        loss: one loss (applied to every output), a list with one per output, or a dict keyed by output
            name; an output given None, or missing from the dict, is not trained.
        metrics, weighted_metrics: for one output a list; for several, a list with one entry (a metric
            or a list) per output, or a dict keyed by output name. Weighted metrics take the sample
            weights.
        loss_weights: a float (one output), a list or a dict keyed by output name: the training loss is
            the weighted sum of the outputs' losses.
        run_eagerly: run fit/evaluate/predict op by op from Python (the same numbers as the compiled
            programs, much slower; useful for debugging).
        steps_per_execution: batches per return to Python when a callback overrides a batch hook
            (the hook then sees every `steps_per_execution`-th batch, as in Keras); "auto" (or without
            batch hooks) returns about every 0.1 s.
        jit_compile: True, False or "auto". fastfit always compiles fit/evaluate/predict into its
            C++ Program (there is no XLA); `run_eagerly=True` is how to run them eagerly.
    """

    def __init__(self, model, optimizer, loss, metrics, loss_weights, weighted_metrics, run_eagerly,
                 steps_per_execution, jit_compile):
        self.optimizer = optimizers.get(optimizer)
        self.loss_spec, self.loss_weights_spec = loss, loss_weights
        for name, value in (("metrics", metrics), ("weighted_metrics", weighted_metrics)):
            if value is not None and not isinstance(value, (list, tuple, dict)):
                raise TypeError(f"compile: `{name}` must be a list or a dict, got {type(value).__name__}")
        self.metric_specs, self.weighted_specs = metrics, weighted_metrics
        for spec in _leaves(metrics) + _leaves(weighted_metrics):  # fail early on unknown names
            metric = isinstance(spec, metrics_module.Metric) or (
                isinstance(spec, type) and issubclass(spec, metrics_module.Metric))  # not built twice: names count
            if not metric and spec not in metrics_module._ACCURACY:
                metrics_module.get(spec)
        if not isinstance(run_eagerly, bool):
            raise TypeError(f"compile: `run_eagerly` must be True or False, got {run_eagerly!r}")
        self.run_eagerly = run_eagerly
        if steps_per_execution != "auto" and (isinstance(steps_per_execution, bool) or
                                              not isinstance(steps_per_execution, numbers.Integral) or
                                              steps_per_execution < 1):
            raise ValueError(f"compile: `steps_per_execution` must be a positive integer or 'auto', "
                             f"got {steps_per_execution!r}")
        self.steps_per_execution = steps_per_execution
        if jit_compile not in (True, False, "auto"):
            raise ValueError(f"compile: `jit_compile` must be True, False or 'auto', got {jit_compile!r}")
        self.jit_compile = jit_compile
        self.output_names = None  # set by resolve_outputs
        self.losses = self.loss_weights = None
        self.loss_trackers = [metrics_module.Mean(name="loss")]  # then one per output's loss, with several
        self.metrics = None  # Metric objects with `output` (index), `weighted`, `log_name`
        names = [t.name for t in getattr(model, "outputs", None) or []]
        if names:
            self.resolve_outputs(names)
        elif loss is not None and not isinstance(loss, (list, tuple, dict)):
            self.loss = losses.get(loss)

    # -- losses ------------------------------------------------------------------------------
    def resolve_outputs(self, output_names):
        """One loss (or None) and one weight per output, from compile()'s loss and loss_weights."""
        if self.output_names == list(output_names):
            return
        names, spec = list(output_names), self.loss_spec
        if spec is None:
            per_output = [None] * len(names)
        elif isinstance(spec, dict):
            unknown = [k for k in spec if k not in names]
            if unknown:
                raise ValueError(f"Expected keys {names} in loss dict, but found loss.keys()={list(spec)}: "
                                 f"{unknown} name no output")
            per_output = [spec.get(n) for n in names]
        elif isinstance(spec, (list, tuple)):
            if len(spec) != len(names):
                raise ValueError(f"compile: `loss` is a list of {len(spec)} losses, but the model has {len(names)} "
                                 f"outputs {names}")
            per_output = list(spec)
        else:
            per_output = [spec] * len(names)  # one loss for every output, as Keras applies it
        self.losses = [losses.get(l) if l is not None else None for l in per_output]
        self.loss_weights = _loss_weights(self.loss_weights_spec, names)
        for specs, weighted in ((self.metric_specs, False), (self.weighted_specs, True)):
            _per_output(specs, names, len(names), weighted)  # fail now on keys and lengths
        self.output_names = names
        trained = [n for n, l in zip(names, self.losses) if l is not None]
        self.loss_trackers = [metrics_module.Mean(name="loss")] + (
            [metrics_module.Mean(name=f"{n}_loss") for n in trained] if len(trained) > 1 else [])
        self.metrics = None

    @property
    def loss(self):
        """The loss of a single-output model (what `model.loss` gives)."""
        if self.losses is None:
            return getattr(self, "_single_loss", None)
        return self.losses[0] if len(self.losses) == 1 else self.loss_spec

    @loss.setter
    def loss(self, value):
        self._single_loss = value

    def needs_targets(self):
        """Whether fit/evaluate need `y`: a loss or a metric compares outputs with targets."""
        return self.loss_spec is not None or bool(_leaves(self.metric_specs) + _leaves(self.weighted_specs))

    def sparse_labels(self):
        """Per output: whether its targets are class ids (fed as int32)."""
        if self.losses is None:
            return [getattr(self.loss, "sparse_labels", False)]
        return [getattr(l, "sparse_labels", False) for l in self.losses]

    def compute_loss(self, ys, outs, sample_weight=None, extra_losses=()):
        """(the training loss: the weighted sum of the outputs' losses plus `extra_losses` (what the
        model's layers added with add_loss), [each trained output's loss, when there are several]).
        Each loss weighs samples by `sample_weight` as Keras 3 does: sum(w * loss) / batch size."""
        if self.losses is None:
            self.resolve_outputs(_default_names(len(outs)))
        if len(outs) != len(self.losses):
            raise ValueError(f"the model returned {len(outs)} outputs, but compile() configured "
                             f"{len(self.losses)} ({self.output_names})")
        trained = [k for k, loss in enumerate(self.losses) if loss is not None]
        if trained and len(ys) != len(outs):
            raise ValueError(f"expected {len(outs)} targets (one per output {self.output_names}), got {len(ys)}")
        total, terms = None, []
        for k in trained:
            value = self.losses[k](ys[k], outs[k], sample_weight=sample_weight)
            terms.append(value)
            weight = self.loss_weights[k]
            weighted = value if weight == 1.0 else value * weight
            total = weighted if total is None else total + weighted
        for extra in extra_losses:  # what the layers added with add_loss
            total = extra if total is None else total + extra
        if total is None:
            raise ValueError("No loss to compute. Provide a `loss` argument in `compile()` (or add losses "
                             "with `add_loss` in the model).")
        return total, (terms if len(terms) > 1 else [])

    # -- metrics -----------------------------------------------------------------------------
    def resolve_metrics(self, y_shapes, out_shapes):
        """The compiled metrics, per output, then the weighted ones ('accuracy' picks its kind from the
        shapes, as Keras does). Log names follow Keras 3: `<output>_<metric>` with several outputs; a
        repeated name gets `_1`, `_2`, ...; a weighted metric whose name is taken `weighted_<name>`."""
        if self.losses is None:
            self.resolve_outputs(_default_names(len(out_shapes)))
        if self.metrics is None:
            n = len(out_shapes)
            resolved, taken = [], {t.name for t in self.loss_trackers}
            for specs, weighted in ((self.metric_specs, False), (self.weighted_specs, True)):
                for k, per_output in enumerate(_per_output(specs, self.output_names or [], n, weighted)):
                    for spec in per_output:
                        loss = self.losses[k] if self.losses else self.loss
                        m = metrics_module.get(spec, y_shapes[k], out_shapes[k], loss)
                        m.output, m.weighted = k, weighted
                        prefix = f"{self.output_names[k]}_" if n > 1 else ""
                        m.log_name = _unique_name(prefix + m.name, taken, weighted, prefix)
                        resolved.append(m)
            self.metrics = resolved
        return self.metrics

    def all_metrics(self):
        """The loss trackers, then the metrics."""
        return list(self.loss_trackers) + list(self.metrics or [])

    def state_metrics(self):
        """The loss trackers and the built-in metrics: those a program accumulates in C++ states, in
        the order of its `states` argument. (A Metric subclass keeps its state in variables, which the
        program's traced updates change.)"""
        return list(self.loss_trackers) + self.compiled_metrics()

    def compiled_metrics(self):
        """The metrics whose C++ accumulators a program folds (the built-ins)."""
        return [m for m in self.metrics or [] if m._compiled]

    def custom_metrics(self):
        """The metrics whose own update_state runs (traced into the program, like the model)."""
        return [m for m in self.metrics or [] if not m._compiled]

    def log_order(self):
        """evaluate()'s list order, as Keras 3 gives it: the loss, the metrics under their own names,
        the outputs' losses; then every other log key, sorted."""
        return ["loss"] + [m.name for m in self.metrics or []] + [t.name for t in self.loss_trackers[1:]]


def _default_names(n):
    """Output names for a model that has none until called (subclassed, Sequential)."""
    return ["output"] if n == 1 else [f"output_{i}" for i in range(n)]


def _leaves(specs):
    """Every metric named in a list, a list of lists or a dict."""
    if specs is None:
        return []
    if isinstance(specs, dict):
        specs = list(specs.values())
    out = []
    for s in specs:
        out += list(s) if isinstance(s, (list, tuple)) else ([s] if s is not None else [])
    return out


def _per_output(specs, names, n, weighted):
    """One list of metric specs per output."""
    argument = "weighted_metrics" if weighted else "metrics"
    if not specs:
        return [[] for _ in range(n)]
    if n == 1:
        return [_leaves(specs)]
    if isinstance(specs, dict):
        unknown = [k for k in specs if k not in names]
        if unknown:
            raise ValueError(f"compile: `{argument}` key(s) {unknown} name no output; outputs are {names}")
        return [_listed(specs.get(name)) for name in names]
    if len(specs) != n:
        raise ValueError(f"compile: for a model with {n} outputs {names}, `{argument}` must have one entry per "
                         f"output (a metric or a list), or be a dict keyed by output name; got {len(specs)} entries")
    return [_listed(s) for s in specs]


def _listed(spec):
    return [] if spec is None else list(spec) if isinstance(spec, (list, tuple)) else [spec]


def _unique_name(name, taken, weighted, prefix):
    if name in taken and weighted:
        name = f"{prefix}weighted_{name[len(prefix):]}"
    base, k = name, 1
    while name in taken:
        name, k = f"{base}_{k}", k + 1
    taken.add(name)
    return name


def _loss_weights(spec, names):
    """One float per output (1 where not given)."""
    if spec is None:
        return [1.0] * len(names)
    if isinstance(spec, numbers.Real) and not isinstance(spec, bool):
        if len(names) != 1:
            raise ValueError(f"compile: a single `loss_weights` number needs a single output; the model has "
                             f"{names}: give a list or a dict")
        return [float(spec)]
    if isinstance(spec, (list, tuple)):
        if len(spec) != len(names):
            raise ValueError(f"compile: `loss_weights` has {len(spec)} entries for the model's {len(names)} outputs "
                             f"{names}")
        return [float(w) for w in spec]
    if isinstance(spec, dict):
        unknown = [k for k in spec if k not in names]
        if unknown:
            raise ValueError(f"compile: `loss_weights` key(s) {unknown} do not correspond to any model output; "
                             f"outputs are {names}")
        return [float(spec.get(n, 1.0)) for n in names]
    raise TypeError(f"compile: `loss_weights` must be a number, a list or a dict, got {type(spec).__name__}")
