"""compile / fit / evaluate / predict: Python runs epochs and callbacks, C++ runs the batches.

The jobs are split as in Keras: `compile_utils` holds what compile() configured, `data.adapters`
turns inputs into C++ batch sources, `tracing` compiles (or refuses to compile) the model into
Programs, and this module runs the loops. Between returns to Python a Program runs as many batches
as fit in about 0.1 s (for the progress bar), or `steps_per_execution` batches when a callback
overrides a batch hook, so Keras' callback semantics hold.
"""
import threading
import time

import numpy as np

from .. import backend, callbacks as callbacks_module
from ..data import adapters
from . import tracing
from .compile_utils import CompileConfig
from .custom_step import StepMethods
from .evaluation import Evaluation
from .loop_args import STOP_FLAG, callback_list, check_count, verbose_arg
from .resume import ResumePoint

_CHUNK_SECONDS = 0.1  # time between returns to Python on the hot path


class Trainer(StepMethods, Evaluation):
    def __init__(self):
        self._compile_config = None
        # A callback sets one of these to end fit / evaluate / predict after the current batch.
        self.stop_training = self.stop_evaluating = self.stop_predicting = False
        self.history = None
        self._in_fit = False
        self._programs = {}
        self._programs_lock = threading.Lock()
        self._fallback_reasons = set()  # why calls run eagerly: each said once
        self._fit_lock = threading.Lock()

    # -- compile ---------------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None, weighted_metrics=None,
                run_eagerly=False, steps_per_execution=1, jit_compile="auto"):
        """Configures the model for training: optimizer, loss and metrics, by object or by name.
        See `CompileConfig` for what each argument does."""
        self._compile_config = CompileConfig(self, optimizer, loss, metrics, loss_weights, weighted_metrics,
                                             run_eagerly, steps_per_execution, jit_compile)
        with self._programs_lock:
            self._programs = {}

    @property
    def compiled(self):
        return self._compile_config is not None

    @property
    def optimizer(self):
        return self._compile_config.optimizer if self._compile_config else None

    @property
    def loss(self):
        return self._compile_config.loss if self._compile_config else None

    def _config_for(self, method):
        config = self._compile_config
        if config is None:
            raise ValueError(f"You must call `compile()` before using the model: `{method}` needs a loss and an optimizer.")
        return config

    @property
    def metrics(self):
        """The loss trackers, the compiled metrics, those the layers add with add_metric, and the
        metrics a subclass keeps as attributes (`self.loss_tracker = keras.metrics.Mean(...)`)."""
        from ..metrics import Metric
        listed = (self._compile_config.all_metrics() if self._compile_config else []) + self._metrics_added()
        return listed + [m for m in vars(self).values() if isinstance(m, Metric) and m not in listed]

    def _state_metrics(self):
        return self._compile_config.state_metrics()

    def _variable_metrics(self):
        """The metrics that keep their state in variables: Metric subclasses and add_metric's."""
        return self._compile_config.custom_metrics() + self._metrics_added()

    @property
    def metrics_names(self):
        return [m.name for m in self.metrics]

    def reset_metrics(self):
        for m in self.metrics:
            m.reset_state()

    def _logs(self, states, runner=None):
        """{log name: value}, the keys sorted as Keras 3 sorts its logs (and so history and the progress
        bar): the C++-accumulated metrics from `states` (in `_state_metrics()` order: a float, or an
        array for a metric of several values), the others from their own `result()`."""
        if isinstance(runner, tracing.StepRunner):  # a user's step: its logs are what it returns
            return runner.step_logs
        values = {getattr(m, "log_name", m.name): s.result() for m, s in zip(self._state_metrics(), states)}
        for m in self._variable_metrics():
            value = m.result().numpy()
            values[getattr(m, "log_name", m.name)] = float(value) if value.ndim == 0 else value
        return dict(sorted(values.items()))

    # -- data ------------------------------------------------------------------------------
    def _standardizer(self, class_weight=None):
        sparse = self._compile_config.sparse_labels() if self._compile_config else [False]
        if class_weight is not None and len(sparse) > 1:
            raise NotImplementedError("`class_weight` for a model with several outputs is not supported yet")
        inputs = getattr(self, "inputs", None) or []
        return adapters.Standardizer(sparse, class_weight, getattr(self, "input_names", None) or [],
                                     getattr(self, "output_names", None) or [], [t.dtype for t in inputs],
                                     self._compile_config.needs_targets() if self._compile_config else True)

    def _adapter(self, x, y, batch_size, steps, with_targets, what, sample_weight=None):
        adapter = adapters.get_adapter(x, y, batch_size if adapters.is_batch_stream(x) else adapters.batch_size_arg(batch_size),
                                       steps, self._standardizer(), with_targets, what, sample_weight)
        self._check_inputs(adapter.sample()[0])
        return adapter

    def _num_classes(self, adapter, runner):
        """Classes of the (single) output: its width, or 2 for one sigmoid unit."""
        width = runner.output_rows[0][-1] if runner.output_rows[0] else 1
        return max(width, 2)

    def _check_inputs(self, xs):
        inputs = getattr(self, "inputs", None)
        if not inputs:
            return
        expected = [t.shape for t in inputs]
        if len(expected) != len(xs):
            raise ValueError(f"Model '{self.name}' expects {len(expected)} input(s), got {len(xs)} array(s)")
        from ..layers.layer import check_input_shape
        for i, (e, a) in enumerate(zip(expected, xs)):
            check_input_shape(self.name, i, e, a.shape)

    def _check_labels(self, adapter, runner):
        if not isinstance(adapter, adapters.ArrayAdapter) or adapter.preprocess is not None:
            return
        for sparse, y, rows in zip(self._compile_config.sparse_labels(), adapter.ys or [], runner.output_rows):
            classes = rows[-1] if rows else 1
            if sparse and len(y):
                lo, hi = int(y.min()), int(y.max())
                if lo < 0 or hi >= classes:
                    raise ValueError(f"Labels must be in [0, {classes}) for a model with {classes} outputs, "
                                     f"got labels in [{lo}, {hi}]")

    # -- the loop ----------------------------------------------------------------------------
    def _run_batches(self, runner, mode, adapter, steps, cbs, states, results=None, batch_size=None, start=0):
        """Runs `steps` batches of the adapter's source (None: until it ends), calling batch hooks.
        `batch_size`: the user's, when the source runs larger batches (predict); hooks count in it.
        `start`: batches of this pass already run (a resumed fit), which count towards `steps`.
        Returns the number of batches of the pass run."""
        hooks = cbs.has_batch_hooks(mode)
        per_call = self._compile_config.steps_per_execution if self._compile_config else 1
        per_call = per_call if hooks and per_call != "auto" else 1
        need_logs = hooks or any(isinstance(c, callbacks_module.ProgbarLogger) for c in cbs.callbacks)
        chunk = 1 if need_logs else (steps or 1 << 30)
        stop = STOP_FLAG[mode]
        done, source = start, adapter.source
        while steps is None or done < steps:
            want = per_call if hooks else chunk
            if getattr(self, stop):  # set by a hook before the first batch: Keras still runs one
                want = 1
            if steps is not None:
                want = min(want, steps - done)
            elif not source.more():
                break
            if hooks:
                getattr(cbs, f"on_{mode}_batch_begin")(done)
            first_row = source.position
            t0 = time.perf_counter()
            try:
                n = runner.run(mode, source, want, states, results)
            except RuntimeError:
                if hasattr(adapter, "raise_error"):
                    adapter.raise_error()
                raise
            dt = time.perf_counter() - t0
            done += n
            if n == 0:
                break
            if not hooks:
                chunk = max(1, min(int(chunk * _CHUNK_SECONDS / max(dt, 1e-6)) or 1, chunk * 8))
            batch_index = -(-source.position // batch_size) - 1 if batch_size else done - 1
            if mode != "predict":
                logs = self._logs(states, runner)
            else:  # the batch's outputs, for hooks that look at them
                logs = {"outputs": self._structure(results.rows(first_row, source.position))} if hooks else {}
            getattr(cbs, f"on_{mode}_batch_end")(batch_index, logs)
            if n < want or getattr(self, stop):
                break
        return done

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, class_weight=None, sample_weight=None, initial_epoch=0,
            steps_per_epoch=None, validation_steps=None, validation_batch_size=None, validation_freq=1):
        """Trains for `epochs` epochs; returns a History (`history.history['loss']`, ...).

        `x` is an array (or a list of arrays for several inputs) with targets `y`, or a generator of
        `(x, y)` batches (then `steps_per_epoch` batches make an epoch; without it, an epoch runs
        until the generator ends). `validation_data` is `(x_val, y_val)` or a generator
        (`validation_steps` batches per validation).
        """
        config = self._config_for("fit")
        check_count("epochs", epochs, minimum=0)
        check_count("initial_epoch", initial_epoch, minimum=0)
        check_count("validation_freq", validation_freq, minimum=1)
        for name, value in (("steps_per_epoch", steps_per_epoch), ("validation_steps", validation_steps)):
            if value is not None:
                check_count(name, value, minimum=1)
        if shuffle == "batch":
            raise NotImplementedError("fit: shuffle='batch' is not supported yet (use True or False)")
        if not isinstance(shuffle, (bool, np.bool_)):
            raise TypeError(f"fit: `shuffle` must be True or False, got {shuffle!r}")
        verbose = verbose_arg(verbose)
        if not self._fit_lock.acquire(blocking=False):
            raise RuntimeError(f"Model '{self.name}' is already training: fit() is running on it (in another thread, "
                               "or in a callback of the running fit). Wait for it to return, or train a copy.")
        try:
            return self._fit(config, x, y, batch_size, epochs, verbose, callbacks, validation_split,
                             validation_data, shuffle, class_weight, sample_weight, initial_epoch, steps_per_epoch,
                             validation_steps, validation_batch_size, validation_freq)
        finally:
            self._fit_lock.release()

    def _fit(self, config, x, y, batch_size, epochs, verbose, callbacks, validation_split, validation_data, shuffle,
             class_weight, sample_weight, initial_epoch, steps_per_epoch, validation_steps, validation_batch_size,
             validation_freq):
        train, val = adapters.fit_adapters(x, y, sample_weight, batch_size, steps_per_epoch, validation_split,
                                           validation_data, validation_steps, validation_batch_size,
                                           self._standardizer(class_weight))
        runner = val_runner = None
        self._check_inputs(train.sample()[0])
        if val is not None:
            self._check_inputs(val.sample()[0])
        try:
            runner = tracing.runner_for(self, "train", train)
            self._check_labels(train, runner)
            adapters.check_class_weight(class_weight, self._num_classes(train, runner))
            val_runner = tracing.runner_for(self, "test", val) if val is not None else None
            steps = steps_per_epoch or train.steps
            cbs = callback_list(callbacks, self, True, verbose, epochs, steps)
            states = [m._state for m in self._state_metrics()]
            self.stop_training = False
            self._in_fit = True
            logs = {}
            cbs.on_train_begin()
            resume = self.__dict__.pop("_resume", None) or ResumePoint(initial_epoch)
            for epoch in range(resume.epoch, epochs):
                self.reset_metrics()
                cbs.on_epoch_begin(epoch)
                done = resume.batch if epoch == resume.epoch else 0
                self._epoch_seed = resume.shuffle_seed if done else int(backend.rng().integers(2 ** 63))
                train.start_pass(shuffle, self._epoch_seed)
                if done:
                    resume.restore_metrics(self)
                    for _ in range(done):  # the batches the interrupted run had trained on
                        if train.source.next_batch() is None:
                            break
                ran = self._run_batches(runner, "train", train, steps, cbs, states, start=done)
                train.end_pass()
                if ran == 0 or (steps_per_epoch is not None and ran < steps_per_epoch):
                    adapters.warn_ran_out(ran, "training")
                    self.stop_training = True
                    if ran == 0:
                        break
                logs = self._logs(states, runner)
                if val is not None and (epoch + 1) % validation_freq == 0:
                    val_steps = validation_steps or val.steps
                    val_logs = self._test_loop(val_runner, val, cbs, val_steps)
                    logs = dict(sorted({**logs, **{"val_" + k: v for k, v in val_logs.items()}}.items()))
                cbs.on_epoch_end(epoch, logs)
                if self.stop_training:
                    break
            if epochs > 0:  # as Keras: with use_ema, the weights take their moving averages
                config.optimizer.finalize_variable_values(self.trainable_weights)
            cbs.on_train_end(logs)
        finally:
            self._in_fit = False
            train.close()
            tracing.release(runner)
            if val is not None:
                val.close()
                tracing.release(val_runner)
        return self.history
