"""compile / fit / evaluate / predict: Python runs epochs and callbacks, C++ runs the batches.

The model's forward pass, loss and metrics are traced once per input signature into a C++ Program
(train/program.h) and replayed per batch. Between returns to Python the Program runs as many
batches as fit in about 0.1 s (for the progress bar), or single batches when a user callback
overrides a batch hook, so Keras' callback semantics hold.
"""
import math
import time
import warnings

import numpy as np

from .. import _core, backend, callbacks as callbacks_module, losses, metrics as metrics_module, optimizers
from ..tensor import Tensor
from .eager import EagerProgram

_CHUNK_SECONDS = 0.1  # time between returns to Python on the hot path
_PREDICT_ROWS = 2048  # rows per predict batch when no callback needs the user's batches


class _Compiled:
    """A Program with what Python needs to feed it."""

    def __init__(self, program, output_rows):
        self.program = program
        self.output_rows = output_rows  # per output: shape without the batch axis


def _feed(arrays, batch_size):
    """A C++ feed over numpy arrays (viewed, not copied), positioned at the first batch, in order."""
    feed = _core.DataFeed([Tensor.view(a) for a in arrays], batch_size)
    feed.source = arrays  # the numpy arrays, for the eager fallback
    return feed


class Trainer:
    def __init__(self):
        self.compiled = False
        self.optimizer = None
        self.loss = None
        self.stop_training = False
        self.history = None
        self._in_fit = False
        self._programs = {}
        self._metric_specs = []
        self._compile_metrics = None
        self._loss_tracker = None

    # -- compile ---------------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None, weighted_metrics=None,
                run_eagerly=False, steps_per_execution=1, jit_compile="auto"):
        """Configures the model for training: optimizer, loss and metrics, by object or by name."""
        self.optimizer = optimizers.get(optimizer)
        self.loss = losses.get(loss) if loss is not None else None
        if metrics is not None and not isinstance(metrics, (list, tuple)):
            raise TypeError(f"compile: `metrics` must be a list, got {type(metrics).__name__}")
        self._metric_specs = list(metrics or [])
        for m in self._metric_specs:  # fail early on unknown names; 'accuracy' is resolved at the first fit
            if not (isinstance(m, str) and m in metrics_module._ACCURACY):
                metrics_module.get(m)
        self._compile_metrics = None
        self._loss_tracker = metrics_module.Mean(name="loss")
        self._programs = {}
        self.compiled = True

    def _assert_compiled(self, method):
        if not self.compiled:
            raise ValueError(f"You must call `compile()` before using the model: `{method}` needs a loss and an optimizer.")
        if self.loss is None:
            raise ValueError(f"`{method}` needs a loss: pass `loss=` to compile().")

    @property
    def metrics(self):
        return ([self._loss_tracker] if self._loss_tracker else []) + list(self._compile_metrics or [])

    @property
    def metrics_names(self):
        return [m.name for m in self.metrics]

    def reset_metrics(self):
        for m in self.metrics:
            m.reset_state()

    def _logs(self):
        return {m.name: float(m._state.result()) for m in self.metrics}

    # -- data --------------------------------------------------------------------------------
    def _as_arrays(self, x, what):
        # A list or tuple of arrays feeds several inputs; a nested list of numbers is one array.
        several = isinstance(x, (list, tuple)) and x and all(
            isinstance(a, (np.ndarray, Tensor)) or hasattr(a, "to_numpy") for a in x)
        items = list(x) if several else [x]
        out = []
        for a in items:
            a = a.numpy() if isinstance(a, Tensor) else a
            if hasattr(a, "to_numpy"):  # pandas
                a = a.to_numpy()
            arr = np.asarray(a)
            if arr.dtype.kind not in "biuf":
                raise TypeError(f"`{what}` must hold numbers (a float or integer array), got dtype {arr.dtype}")
            if arr.ndim == 0:
                raise ValueError(f"`{what}` must have a batch axis, got a scalar")
            out.append(arr)
        return out

    def _prepare(self, x, y=None):
        if x is None:
            raise ValueError("`x` is required")
        xs = [np.ascontiguousarray(a, np.float32) for a in self._as_arrays(x, "x")]
        n = len(xs[0])
        for a in xs[1:]:
            if len(a) != n:
                raise ValueError(f"All input arrays (x) should have the same number of samples, got {[len(b) for b in xs]}")
        ys = None
        if y is not None:
            label_dtype = np.int32 if getattr(self.loss, "sparse_labels", False) else np.float32
            raw = self._as_arrays(y, "y")
            # Dense targets of shape (N,) meet outputs of shape (N, 1), as Keras expands them.
            ys = [np.ascontiguousarray(a if label_dtype is np.int32 or a.ndim != 1 else a[:, None], label_dtype)
                  for a in raw]
            for a in ys:
                if len(a) != n:
                    raise ValueError(f"Data cardinality is ambiguous: x sizes: {n}, y sizes: {len(a)}. "
                                     "Make sure all arrays contain the same number of samples.")
            if label_dtype is np.int32:
                for r in raw:
                    if r.dtype.kind == "f" and np.any(r != np.floor(r)):
                        raise ValueError("sparse labels must be integer class ids, got non-integer values in `y`")
        expected = self._expected_input_shapes()
        if expected is not None:
            if len(expected) != len(xs):
                raise ValueError(f"Model '{self.name}' expects {len(expected)} input(s), got {len(xs)} array(s)")
            from .model import _check_input
            for i, (e, a) in enumerate(zip(expected, xs)):
                _check_input(self.name, i, e, a.shape)
        return xs, ys

    def _expected_input_shapes(self):
        inputs = getattr(self, "inputs", None)
        return [t.shape for t in inputs] if inputs else None

    # -- programs ----------------------------------------------------------------------------
    def _compiled_for(self, xs, ys):
        key = (ys is None,) + tuple((a.shape[1:], a.dtype.str) for a in xs + (ys or []))
        c = self._programs.get(key)
        if c is None:
            c = self._programs[key] = self._trace(xs, ys)
        return c

    def _trace(self, xs, ys):
        k = min(len(xs[0]), 8)  # a few real rows: shapes and label ranges are what matter
        inputs = [Tensor(np.ascontiguousarray(a[:k])) for a in xs]
        targets = [Tensor(np.ascontiguousarray(a[:k])) for a in ys] if ys is not None else []
        tape = _core.Tape(record_all=True)
        tape.push()
        try:
            out = self(inputs[0] if len(inputs) == 1 else inputs)
            outs = list(out) if isinstance(out, (list, tuple)) else [out]
            if ys is not None and len(outs) != 1:
                raise NotImplementedError("fit/evaluate: models with several outputs are not supported yet")
            loss = self.loss(targets[0], outs[0]) if ys is not None else None
        finally:
            tape.pop()
        train = ys is not None
        program = _core.Program(tape, inputs, targets, outs, loss, self.trainable_weights if train else [],
                                self.optimizer._core if train else None)
        if train:
            self._check_labels(ys[0], outs[0])
            if self._compile_metrics is None:
                self._compile_metrics = [metrics_module.get(m, ys[0].shape, outs[0].shape, self.loss)
                                         for m in self._metric_specs]
            for m in self._compile_metrics:
                if m._kind is None:
                    raise NotImplementedError(f"metric {m.name}: only built-in metrics run in fit/evaluate so far")
                program.add_metric(m._kind, m._threshold, 0, 0, m._state)
            program.loss_tracker = self._loss_tracker._state
        compiled = _Compiled(program, [tuple(o.shape[1:]) for o in outs])
        if not self._trace_is_faithful(compiled, xs, ys):
            warnings.warn(f"Model '{self.name}': its call computes values outside fastfit's ops (numpy, argmax/cast/"
                          "equal, or Python branches on data), so it runs op by op from Python, much slower than "
                          "the compiled path.", stacklevel=3)
            compiled.program = EagerProgram(self, len(xs))
        return compiled

    def _trace_is_faithful(self, compiled, xs, ys):
        """Replays the trace on other rows and compares with the eager model: a call that computed
        something from the data outside fastfit's ops (numpy, argmax, Python branches) would have
        been frozen into the trace, and must not train silently on wrong numbers."""
        n = len(xs[0])
        rows = np.arange(n - 1, max(n - 9, -1), -1)  # the last rows, reversed: not the traced ones
        x2 = [np.ascontiguousarray(a[rows]) for a in xs]
        expected = self(x2[0] if len(x2) == 1 else x2)
        expected = expected[0] if isinstance(expected, (list, tuple)) else expected
        got = np.empty((len(rows),) + compiled.output_rows[0], np.float32)
        compiled.program.predict(_feed(x2, len(rows)), 1, [Tensor.view(got)] + [
            Tensor.view(np.empty((len(rows),) + r, np.float32)) for r in compiled.output_rows[1:]])
        same = np.allclose(got, expected.numpy(), rtol=1e-3, atol=1e-5)
        if same and ys is not None:
            y2 = [np.ascontiguousarray(a[rows]) for a in ys]
            eager_loss = float(self.loss(y2[0], expected))
            compiled.program.test(_feed(x2 + y2, len(rows)), 1)
            same = np.isclose(self._loss_tracker._state.result(), eager_loss, rtol=1e-3, atol=1e-6)
            self.reset_metrics()
        return bool(same)

    def _check_labels(self, y, out):
        if getattr(self.loss, "sparse_labels", False) and len(y):
            classes = out.shape[-1]
            lo, hi = int(y.min()), int(y.max())
            if lo < 0 or hi >= classes:
                raise ValueError(f"Labels must be in [0, {classes}) for a model with {classes} outputs, "
                                 f"got labels in [{lo}, {hi}]")

    # -- the loop ----------------------------------------------------------------------------
    def _run_batches(self, run, feed, cbs, mode, extra=(), batch_size=None):
        """Runs every batch of the feed through `run` (a Program method), calling batch hooks.
        `batch_size`: the user's, when the feed runs larger batches (predict); hooks count in it."""
        hooks = cbs.has_batch_hooks(mode)
        batch_size = batch_size or feed.batch_size
        steps, step, chunk = feed.steps, 0, 1
        need_logs = hooks or any(isinstance(c, callbacks_module.ProgbarLogger) for c in cbs.callbacks)
        if not need_logs:
            chunk = steps
        while step < steps:
            if hooks:
                getattr(cbs, f"on_{mode}_batch_begin")(step)
            t0 = time.perf_counter()
            n = run(feed, 1 if hooks else chunk, *extra)
            dt = time.perf_counter() - t0
            step += n
            if not hooks and n:
                chunk = max(1, min(steps, int(chunk * _CHUNK_SECONDS / max(dt, 1e-6)) or 1, chunk * 8))
            logs = self._logs() if mode != "predict" else {}
            getattr(cbs, f"on_{mode}_batch_end")(-(-feed.position // batch_size) - 1, logs)
            if mode == "train" and self.stop_training:
                break

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, class_weight=None, sample_weight=None, initial_epoch=0,
            steps_per_epoch=None, validation_steps=None, validation_batch_size=None, validation_freq=1):
        """Trains for `epochs` epochs over (x, y); returns a History (`history.history['loss']`, ...)."""
        self._assert_compiled("fit")
        if class_weight is not None or sample_weight is not None:
            raise NotImplementedError("fit: class_weight and sample_weight are not supported yet")
        if steps_per_epoch is not None:
            raise NotImplementedError("fit: steps_per_epoch is not supported yet for arrays")
        batch_size = _batch_size(batch_size)
        xs, ys = self._prepare(x, y)
        if ys is None:
            raise ValueError("fit: `y` is required for array inputs")
        val = None
        if validation_data is not None:
            if not isinstance(validation_data, (list, tuple)) or len(validation_data) not in (2, 3):
                raise ValueError("fit: `validation_data` must be a tuple (x_val, y_val)")
            if len(validation_data) == 3 and validation_data[2] is not None:
                raise NotImplementedError("fit: validation sample weights are not supported yet")
            val = self._prepare(validation_data[0], validation_data[1])
        elif validation_split:
            if not 0 < validation_split < 1:
                raise ValueError(f"fit: `validation_split` must be in (0, 1), got {validation_split}")
            split = int(math.floor(len(xs[0]) * (1.0 - validation_split)))
            if split == 0 or split == len(xs[0]):
                raise ValueError(f"fit: validation_split={validation_split} leaves no training or validation samples")
            val = ([a[split:] for a in xs], [a[split:] for a in ys])
            xs, ys = [a[:split] for a in xs], [a[:split] for a in ys]
        compiled = self._compiled_for(xs, ys)
        feed = _feed(xs + ys, batch_size)
        val_feed = None
        if val is not None:
            val_compiled = self._compiled_for(*val)
            val_feed = _feed(val[0] + val[1], _batch_size(validation_batch_size or batch_size))
        verbose = _verbose(verbose)
        cbs = callbacks_module.CallbackList(callbacks, model=self, add_history=True, verbose=verbose, epochs=epochs,
                                            steps=feed.steps)
        self.stop_training = False
        self._in_fit = True
        logs = {}
        try:
            cbs.on_train_begin()
            for epoch in range(initial_epoch, epochs):
                self.reset_metrics()
                cbs.on_epoch_begin(epoch)
                feed.start_epoch(bool(shuffle), int(backend.rng().integers(2 ** 63)))
                self._run_batches(compiled.program.train, feed, cbs, "train")
                logs = self._logs()
                if val_feed is not None and (epoch + 1) % validation_freq == 0:
                    val_logs = self._test_loop(val_compiled, val_feed, cbs)
                    logs.update({"val_" + k: v for k, v in val_logs.items()})
                cbs.on_epoch_end(epoch, logs)
                if self.stop_training:
                    break
        finally:
            self._in_fit = False
        cbs.on_train_end(logs)
        self.history = cbs.history
        return self.history

    def _test_loop(self, compiled, feed, cbs):
        self.reset_metrics()
        feed.start_epoch(False, 0)
        cbs.on_test_begin()
        self._run_batches(compiled.program.test, feed, cbs, "test")
        logs = self._logs()
        cbs.on_test_end(logs)
        return logs

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None,
                 callbacks=None, return_dict=False):
        """Returns the loss and metrics on (x, y): a list [loss, *metrics] (a scalar with no metrics),
        or a dict with return_dict=True."""
        self._assert_compiled("evaluate")
        if sample_weight is not None:
            raise NotImplementedError("evaluate: sample_weight is not supported yet")
        xs, ys = self._prepare(x, y)
        if ys is None:
            raise ValueError("evaluate: `y` is required for array inputs")
        compiled = self._compiled_for(xs, ys)
        feed = _feed(xs + ys, _batch_size(batch_size))
        cbs = callbacks_module.CallbackList(callbacks, model=self, verbose=_verbose(verbose), steps=feed.steps)
        logs = self._test_loop(compiled, feed, cbs)
        return logs if return_dict else _flatten(logs)

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """Returns the model's outputs on x as numpy, computed batch by batch."""
        xs, _ = self._prepare(x)
        compiled = self._compiled_for(xs, None)
        n = len(xs[0])
        results = [np.empty((n,) + rows, np.float32) for rows in compiled.output_rows]
        if n == 0:
            return results[0] if len(results) == 1 else results
        batch_size = _batch_size(batch_size)
        steps = -(-n // batch_size)
        cbs = callbacks_module.CallbackList(callbacks, model=self, verbose=_verbose(verbose), steps=steps)
        # Rows are independent in inference: without per-batch hooks, run big batches (same results).
        run_size = batch_size if cbs.has_batch_hooks("predict") else batch_size * max(1, _PREDICT_ROWS // batch_size)
        feed = _feed(xs, run_size)
        cbs.on_predict_begin()
        self._run_batches(compiled.program.predict, feed, cbs, "predict", (_result_views(results),), batch_size)
        cbs.on_predict_end()
        return results[0] if len(results) == 1 else results

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        """One optimizer step on one batch; returns that batch's loss and metrics (as TF 2's default
        reset_metrics=True)."""
        return self._one_batch("train_on_batch", "train", x, y, return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        """Loss and metrics on one batch, without updating the weights."""
        return self._one_batch("test_on_batch", "test", x, y, return_dict)

    def _one_batch(self, method, mode, x, y, return_dict):
        self._assert_compiled(method)
        xs, ys = self._prepare(x, y)
        compiled = self._compiled_for(xs, ys)
        self.reset_metrics()
        getattr(compiled.program, mode)(_feed(xs + ys, len(xs[0])), 1)
        logs = self._logs()
        return logs if return_dict else _flatten(logs)

    def predict_on_batch(self, x):
        return self.predict(x, batch_size=max(len(self._as_arrays(x, "x")[0]), 1), verbose=0)


def _result_views(results):
    views = []
    for r in results:
        v = Tensor.view(r)
        v.numpy_target = r  # where the eager fallback writes
        views.append(v)
    return views


def _batch_size(b):
    if b is None:
        return 32
    if isinstance(b, bool) or not isinstance(b, (int, np.integer)) or b <= 0:
        raise ValueError(f"`batch_size` must be a positive integer, got {b!r}")
    return int(b)


def _verbose(v):
    if v == "auto":
        return 1
    if v not in (0, 1, 2):
        raise ValueError(f"`verbose` must be 0, 1, 2 or 'auto', got {v!r}")
    return v


def _flatten(logs):
    values = list(logs.values())
    return values[0] if len(values) == 1 else values
