"""evaluate / predict and the one-batch methods: the evaluation loop over C++ programs (the
training loop and its batch runner are in trainer.py)."""
from .. import _core, callbacks as callbacks_module
from ..data import adapters
from . import tracing
from .loop_args import callback_list, check_count, flatten_logs, verbose_arg

_PREDICT_ROWS = 2048  # rows per predict batch when no callback needs the user's batches


class Evaluation:
    """evaluate, predict, train_on_batch, test_on_batch, predict_on_batch (mixed into Trainer)."""

    def _test_loop(self, runner, adapter, cbs, steps):
        """One evaluation pass into fresh metric states (concurrent calls keep their own); the model's
        metrics show its results afterwards."""
        states = [_core.MetricState() for _ in self._state_metrics()]
        for m in self._variable_metrics():  # their state is in variables
            m.reset_state()
        if isinstance(runner, tracing.StepRunner):  # a user's step updates the model's metrics: reset, as Keras
            self.reset_metrics()
        adapter.start_pass()
        self.stop_evaluating = False
        cbs.on_test_begin()
        self._run_batches(runner, "test", adapter, steps, cbs, states)
        adapter.end_pass()
        if not isinstance(runner, tracing.StepRunner):
            for metric, state in zip(self._state_metrics(), states):
                metric._state.copy_from(state)
        logs = self._logs(states, runner)
        cbs.on_test_end(logs)
        return logs

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None,
                 callbacks=None, return_dict=False):
        """Returns the loss and metrics on (x, y) or a generator of (x, y) batches: a list
        [loss, *metrics] (a scalar with no metrics), or a dict with return_dict=True. `steps`: how
        many batches to evaluate (default: all)."""
        config = self._config_for("evaluate")
        if steps is not None:
            check_count("steps", steps, minimum=1)
        adapter = self._adapter(x, y, batch_size, steps, True, "evaluate", sample_weight)
        runner = None
        try:
            runner = tracing.runner_for(self, "test", adapter)
            self._check_labels(adapter, runner)
            total = steps or adapter.steps
            cbs = callback_list(callbacks, self, False, verbose_arg(verbose), 1, total)
            logs = self._test_loop(runner, adapter, cbs, total)
        finally:
            adapter.close()
            tracing.release(runner)
        return logs if return_dict else flatten_logs(logs, config)

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """Returns the model's outputs on x (arrays, or a generator of batches) as numpy, computed batch
        by batch. `steps`: how many batches to predict (default: all)."""
        if steps is not None:
            check_count("steps", steps, minimum=1)
        verbose = verbose_arg(verbose)
        adapter = self._adapter(x, None, batch_size, steps, False, "predict")
        runner = None
        try:
            runner = tracing.runner_for(self, "predict", adapter)
            cbs = callback_list(callbacks, self, False, verbose, 1, None)
            user_batch = adapter.batch_size
            if isinstance(adapter, adapters.ArrayAdapter):
                n = adapter.num_samples if steps is None else min(adapter.num_samples, steps * user_batch)
                total = -(-n // user_batch)
                # Where every row is computed on its own, big batches give the same results: without
                # per-batch hooks, run those.
                run_size = user_batch
                if runner.rows_independent and not cbs.has_batch_hooks("predict") and adapter.preprocess is None:
                    run_size = user_batch * max(1, _PREDICT_ROWS // user_batch)
                    if run_size != user_batch or n < adapter.num_samples:
                        adapter = adapters.ArrayAdapter([a[:n] for a in adapter.xs], None, run_size)
                steps = -(-n // run_size)
                results = tracing.PredictResults(runner.output_rows, n)
            else:
                total = steps
                results = tracing.PredictResults(runner.output_rows)
            if not isinstance(callbacks, callbacks_module.CallbackList):
                cbs.set_params(dict(cbs.params, steps=total))
            self.stop_predicting = False
            cbs.on_predict_begin()
            self._run_batches(runner, "predict", adapter, steps, cbs, None, results, user_batch)
            adapter.end_pass()
            cbs.on_predict_end()
            outs = results.finish(adapter.source.position)
        finally:
            adapter.close()
            tracing.release(runner)
        return self._structure(outs)

    def _structure(self, outs):
        """Outputs in the structure the model returns: one array, a list, or a dict by output name."""
        nested = getattr(self, "_nested_outputs", None)
        if isinstance(nested, dict):
            return dict(zip(self.output_names, outs))
        return outs[0] if len(outs) == 1 and not isinstance(nested, (list, tuple)) else outs

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        """One optimizer step on one batch; returns that batch's loss and metrics (as TF 2's default
        reset_metrics=True)."""
        return self._one_batch("train_on_batch", "train", x, y, sample_weight, class_weight, return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        """Loss and metrics on one batch, without updating the weights."""
        return self._one_batch("test_on_batch", "test", x, y, sample_weight, None, return_dict)

    def _one_batch(self, method, mode, x, y, sample_weight, class_weight, return_dict):
        config = self._config_for(method)
        xs, ys, w = self._standardizer(class_weight).batch(x, y, sample_weight)
        if ys is None:
            raise ValueError(f"{method}: `y` is required")
        if len(xs[0]) == 0:
            raise ValueError(f"{method}: `x` has 0 samples; at least one is needed")
        self._check_inputs(xs)
        adapter = adapters.ArrayAdapter(xs, ys, len(xs[0]), w)
        runner = tracing.runner_for(self, mode, adapter)
        self._check_labels(adapter, runner)
        adapters.check_class_weight(class_weight, self._num_classes(adapter, runner))
        self.reset_metrics()
        states = [m._state for m in self._state_metrics()]
        if mode == "train" and not self._fit_lock.acquire(blocking=False):
            raise RuntimeError(f"Model '{self.name}' is already training: fit() is running on it.")
        try:
            runner.run(mode, adapter.source, 1, states, None)
        finally:
            if mode == "train":
                self._fit_lock.release()
        logs = self._logs(states, runner)
        return logs if return_dict else flatten_logs(logs, config)

    def predict_on_batch(self, x):
        return self.predict(x, batch_size=max(len(adapters.as_arrays(x, "x")[0]), 1), verbose=0)
