"""Model.train_step / test_step / predict_step, as Keras 3 has them, and the runner fit, evaluate and
predict use when a subclass overrides one ("Customizing what happens in fit()").

The default steps are written with the public API a user's override calls (`compute_loss`,
`compute_metrics`, the optimizer, the metrics), so `super().train_step(data)` works. Without an
override, fit never calls them: the whole step is compiled into one C++ Program (tracing.py). With an
override, the step is wrapped in `fastfit.function`, as Keras wraps it in `tf.function`: recorded,
checked against an eager run, then replayed in C++ per batch; one that cannot be replayed faithfully
runs eagerly, with a warning that says why.
"""
import numpy as np

from ..autodiff import GradientTape
from ..data.arrays import unpack_x_y_sample_weight
from ..tensor import Tensor, convert_to_tensor

_STEPS = {"train": "train_step", "test": "test_step", "predict": "predict_step"}


class StepMethods:
    """The Keras 3 step API of a model (mixed into Trainer)."""

    def train_step(self, data):
        """One training step on a batch `data` ((x,), (x, y) or (x, y, sample_weight)); returns the
        logs: {metric name: value}."""
        x, y, sample_weight = unpack_x_y_sample_weight(data)
        with GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=True)
            self._compile_config.loss_trackers[0].update_state(loss)
            scaled = self.optimizer.scale_loss(loss)
        variables = self.trainable_weights
        self.optimizer.apply_gradients(zip(tape.gradient(scaled, variables), variables))
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def test_step(self, data):
        x, y, sample_weight = unpack_x_y_sample_weight(data)
        y_pred = self(x, training=False)
        loss = self.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=False)
        self._compile_config.loss_trackers[0].update_state(loss)
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def predict_step(self, data):
        x, _, _ = unpack_x_y_sample_weight(data)
        return self(x, training=False)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The compiled loss of (y, y_pred), weighted by sample_weight, plus the model's added losses
        (`self.losses`)."""
        config = self._config_for("compute_loss")
        outs = _listed(y_pred, getattr(self, "output_names", None))
        return config.compute_loss(_listed(y, getattr(self, "output_names", None)) if y is not None else [],
                                   outs, _weights(sample_weight), self.losses)[0]

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        """Updates the compiled metrics with this batch; returns `get_metrics_result()`."""
        config = self._config_for("compute_metrics")
        names = getattr(self, "output_names", None)
        ys, outs, w = _listed(y, names), _listed(y_pred, names), _weights(sample_weight)
        for m in config.resolve_metrics([t.shape for t in ys], [t.shape for t in outs]):
            m.update_state(ys[m.output], outs[m.output], w if m.weighted else None)
        return self.get_metrics_result()

    def get_metrics_result(self):
        """{name: result} of every metric in `self.metrics`."""
        return {getattr(m, "log_name", m.name): m.result() for m in self.metrics}

    @property
    def compiled_loss(self):
        """TF 2's spelling: `self.compiled_loss(y, y_pred, sample_weight, regularization_losses)` gives
        the training loss and updates the loss tracker."""
        return _CompiledLoss(self)

    @property
    def compiled_metrics(self):
        """TF 2's spelling: `self.compiled_metrics.update_state(y, y_pred, sample_weight)`."""
        return _CompiledMetrics(self)


class _CompiledLoss:
    def __init__(self, model):
        self.model = model

    def __call__(self, y, y_pred, sample_weight=None, regularization_losses=None):
        config = self.model._config_for("compiled_loss")
        names = getattr(self.model, "output_names", None)
        loss = config.compute_loss(_listed(y, names), _listed(y_pred, names), _weights(sample_weight),
                                   list(regularization_losses or []))[0]
        config.loss_trackers[0].update_state(loss)
        return loss


class _CompiledMetrics:
    def __init__(self, model):
        self.model = model

    def update_state(self, y, y_pred, sample_weight=None):
        self.model.compute_metrics(None, y, y_pred, sample_weight)

    @property
    def metrics(self):
        return self.model._compile_config.metrics or []


def overridden(model, mode):
    """Whether the model's class replaces the step fit/evaluate/predict runs in `mode`."""
    return getattr(type(model), _STEPS[mode]) is not getattr(StepMethods, _STEPS[mode])


class StepRunner:
    """Runs a user's step per batch, wrapped in fastfit.function (compiled once checked). Its logs are
    what the step returns, as in Keras."""

    program = None
    rows_independent = False

    def __init__(self, model, mode, adapter):
        from ..function import function
        from .tracing import Batch, _StateGuard, _as_list, _one
        self.model, self.mode = model, mode
        self.n_inputs, self.n_targets, self.weighted = adapter.layout
        self.preprocess = adapter.preprocess
        self.step = function(getattr(model, _STEPS[mode]))
        self.step_logs = {}
        first = Batch(*adapter.sample(), self.preprocess).rows(slice(0, 1))
        with _StateGuard(model):  # the output shapes, and the compiled metrics resolved for self.metrics
            xs, ys, _ = first.prepared(first.tensors())
            outs = _as_list(model(_one(xs), training=False), model)
        self.output_rows = [tuple(o.shape[1:]) for o in outs]
        config = model._compile_config
        if mode != "predict" and config is not None and ys:
            config.resolve_metrics([y.shape for y in ys], [(None,) + r for r in self.output_rows])

    def run(self, mode, source, max_steps, states, results):
        from .tracing import _as_list, _batches, _one
        done = 0
        for n, xs, ys, w in _batches(self, source, max_steps):
            data = (_one(xs),) + ((_one(ys),) if ys else ()) + ((w,) if w is not None else ())
            if self.weighted and not ys:
                data = (_one(xs), None, w)
            out = self.step(data)
            if mode == "predict":
                results.write([o.numpy() for o in _as_list(out, self.model)], source.position - n)
            else:
                self.step_logs = _pythonify(out)
            done += 1
        return done


def _pythonify(logs):
    """The step's logs as numbers (floats, or arrays for metrics of several values), nested dicts
    flattened, as Keras reports them."""
    if not isinstance(logs, dict):
        raise TypeError(f"train_step/test_step must return a dict of metric values, got {type(logs).__name__}")
    out = {}
    for k, v in logs.items():
        if isinstance(v, dict):
            out.update(_pythonify(v))
        else:
            a = np.asarray(v.numpy() if isinstance(v, Tensor) else v)
            out[k] = float(a) if a.ndim == 0 else a
    return dict(sorted(out.items()))


def _listed(value, names):
    """Targets or predictions as a list in output order (a dict by output name)."""
    if isinstance(value, dict):
        return [convert_to_tensor(value[n]) for n in names]
    if isinstance(value, (list, tuple)):
        return [convert_to_tensor(v) for v in value]
    return [convert_to_tensor(value)]


def _weights(sample_weight):
    return None if sample_weight is None else convert_to_tensor(sample_weight, "float32")
