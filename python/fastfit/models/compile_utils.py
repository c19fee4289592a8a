"""What compile() configures, resolved once: the optimizer, the loss (with its weight), the metrics
and how programs are run. The trainer and the tracer read it; nothing here runs a batch."""
import numbers

from .. import losses, metrics as metrics_module, optimizers


class CompileConfig:
    """compile()'s arguments, checked. Every accepted argument takes effect or raises
    NotImplementedError naming it.

    Args:
        loss_weights: a float, a one-element list, or a dict keyed by the output's name: scales the
            loss (models with one output; several outputs are not supported yet).
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
        self.loss = losses.get(loss) if loss is not None else None
        self.loss_weight = _loss_weight(loss_weights, model)
        if metrics is not None and not isinstance(metrics, (list, tuple)):
            raise TypeError(f"compile: `metrics` must be a list, got {type(metrics).__name__}")
        if weighted_metrics is not None and not isinstance(weighted_metrics, (list, tuple)):
            raise TypeError(f"compile: `weighted_metrics` must be a list, got {type(weighted_metrics).__name__}")
        self.metric_specs = list(metrics or [])
        self.weighted_specs = list(weighted_metrics or [])
        for m in self.metric_specs + self.weighted_specs:  # fail early; 'accuracy' is resolved at the first fit
            if not (isinstance(m, str) and m in metrics_module._ACCURACY):
                metrics_module.get(m)
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
        self.metrics = None           # Metric objects, resolved against the first data seen
        self.loss_tracker = metrics_module.Mean(name="loss")

    def resolve_metrics(self, y_shape, out_shape):
        """The compiled metrics, then the weighted ones ('accuracy' picks its kind from the shapes, as
        Keras does). Names follow Keras 3: a repeated name gets `_1`, `_2`, ...; a weighted metric whose
        name is taken is called `weighted_<name>`. Each metric has `weighted` set."""
        if self.metrics is None:
            resolved, names = [], set()
            for specs, weighted in ((self.metric_specs, False), (self.weighted_specs, True)):
                for spec in specs:
                    m = metrics_module.get(spec, y_shape, out_shape, self.loss)
                    if m._kind is None:
                        raise NotImplementedError(f"metric {m.name}: only built-in metrics run in fit/evaluate so far")
                    m.weighted = weighted
                    m.name = _unique_name(m.name, names, weighted)
                    resolved.append(m)
            self.metrics = resolved
        return self.metrics

    def all_metrics(self):
        return [self.loss_tracker] + list(self.metrics or [])

    def compute_loss(self, ys, outs, sample_weight=None):
        """The scalar training loss for targets `ys` and outputs `outs` (lists), each sample's loss
        weighted by `sample_weight` (Keras 3: sum(w * loss) / batch size)."""
        if len(outs) != 1:
            raise NotImplementedError("fit/evaluate: models with several outputs are not supported yet")
        value = self.loss(ys[0], outs[0], sample_weight=sample_weight)
        return value if self.loss_weight == 1.0 else value * self.loss_weight


def _unique_name(name, taken, weighted):
    if name in taken and weighted:
        name = f"weighted_{name}"
    base, k = name, 1
    while name in taken:
        name, k = f"{base}_{k}", k + 1
    taken.add(name)
    return name


def _loss_weight(loss_weights, model):
    if loss_weights is None:
        return 1.0
    if isinstance(loss_weights, numbers.Real) and not isinstance(loss_weights, bool):
        return float(loss_weights)
    if isinstance(loss_weights, (list, tuple)) and len(loss_weights) == 1:
        return float(loss_weights[0])
    if isinstance(loss_weights, dict) and len(loss_weights) == 1:
        names = [t.name for t in (getattr(model, "outputs", None) or [])]
        (key, value), = loss_weights.items()
        if names and key not in names:
            raise ValueError(f"compile: `loss_weights` key '{key}' does not correspond to any model output; "
                             f"outputs are {names}")
        return float(value)
    raise NotImplementedError(f"compile: `loss_weights` for several outputs is not supported yet, got {loss_weights!r}")
