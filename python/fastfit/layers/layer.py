"""Layer base class, symbolic KerasTensors and Input: the pieces the functional API is built from."""
import inspect
import threading

import numpy as np

from .. import _core, backend, constraints, initializers, regularizers
from ..keras_tensor import KerasTensor, fill, is_symbolic, template
from ..tensor import Tensor, Variable, _raw_numpy, convert_to_tensor
from .layer_config import auto_config, builtin, default_config, dtype_policy, policy_name
from . import layer_config

_build_lock = threading.RLock()  # two threads calling an unbuilt model build it once
_context = threading.local()     # the `training` value of the layer calls running on this thread


def _outer_training():
    return getattr(_context, "training", None)


def dtype_name(dtype):
    """'float32' for 'float32', tf.float32 or np.float32; None for None."""
    name = getattr(dtype, "name", None)
    return name if isinstance(name, str) else None if dtype is None else np.dtype(dtype).name


def float32_only(owner, dtype, allowed=("float32",)):
    """Layers compute in float32 (an Input may also hold int32 ids); another dtype is refused rather
    than silently ignored."""
    name = dtype_name(dtype)
    if name not in (None,) + tuple(allowed):
        raise NotImplementedError(f"{owner}: dtype {name!r} is not supported yet (only {' or '.join(allowed)})")


def as_dtype(value, dtype):
    """`value` as a Tensor of `dtype`, 'float32' or 'int32' (a Tensor of the other dtype is converted,
    which is not differentiable)."""
    t = convert_to_tensor(value, None if isinstance(value, Tensor) else dtype)
    return t if t.dtype_name == dtype else _core.apply("cast", [t], dtype=dtype)  # traceable


def _is_int(value):
    return value.dtype_name == "int32" if isinstance(value, Tensor) else np.asarray(value).dtype.kind in "iu"


def unique(variables):
    """The variables in order, each once (a layer shared by two parents is counted once)."""
    out, seen = [], set()
    for v in variables:
        if id(v) not in seen:
            seen.add(id(v))
            out.append(v)
    return out


def check_input_shape(layer_name, index, expected, got):
    """Raises Keras' error when an input's shape does not fit what the layer was built for."""
    ok = len(expected) == len(got) and all(e is None or e == g for e, g in zip(expected, got))
    if not ok:
        raise ValueError(f"Input {index} of layer '{layer_name}' is incompatible with the layer: "
                         f"expected shape={expected}, found shape={tuple(got)}")


def _accepts(fn, name):
    """Whether `fn` takes a keyword argument `name` (by name or through **kwargs)."""
    params = inspect.signature(fn).parameters
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


class Layer:
    """Base class of layers: builds its weights on the first call, from the input's shape.

    Subclasses override `build(input_shape)` (create weights with `add_weight`) and `call(inputs)`.
    Called on a KerasTensor it adds a node to a functional graph; called on data it computes.
    """

    int_inputs = False  # whether `call` takes integer inputs as int32 (Embedding's ids); else they become float32

    def __new__(cls, *args, **kwargs):
        obj = super().__new__(cls)
        if getattr(cls.get_config, "_is_default", False) and not builtin(cls):  # a user class without get_config
            obj.__dict__["_auto_config"] = auto_config(cls, args, kwargs)
        return obj

    def __init__(self, name=None, trainable=True, dtype=None, input_shape=None, activity_regularizer=None,
                 autocast=True, input_dim=None, batch_input_shape=None, **kwargs):
        dtype = policy_name(dtype)  # a Keras 3 config's DTypePolicy
        float32_only(type(self).__name__, dtype)  # so `autocast` has nothing to cast
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unexpected keyword argument(s) {sorted(kwargs)}")
        # The input shape the TF 2 spellings give (a Sequential's first layer, or a Keras 2 config).
        if batch_input_shape is not None:
            input_shape = tuple(batch_input_shape)[1:]
        elif input_dim is not None:
            input_shape = (input_dim,)
        object.__setattr__(self, "_sublayers", [])
        self.name = name or backend.unique_name(backend.snake_case(type(self).__name__))
        self.trainable = trainable
        self.built = False
        self._weights = []
        self._seed_states = []  # random generator states (Variables of [seed, counter]) this layer draws from
        self._losses = []  # what add_loss gave during the last call
        self._added_metrics = {}  # name -> the Mean that add_metric updates
        self._input_shape_arg = None if input_shape is None else tuple(input_shape)
        self.activity_regularizer = regularizers.get(activity_regularizer)  # on each call's outputs

    def __setattr__(self, name, value):
        # Layers kept as attributes are this layer's sublayers: their weights are its weights.
        if isinstance(value, Layer) and value is not self and value not in self.__dict__.get("_sublayers", []):
            self.__dict__.setdefault("_sublayers", []).append(value)
        object.__setattr__(self, name, value)

    def build(self, input_shape):
        self.built = True

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        """The output shape for `input_shape` (batch axis None). By default the layer runs once, in
        inference, on one row of zeros (Keras infers it symbolically; the result is the same)."""
        def zeros(shape):
            return np.zeros((1,) + tuple(shape[1:]), np.float32)
        several = isinstance(input_shape, list)
        with _ShapeRun(self):
            out = self(([zeros(s) for s in input_shape] if several else zeros(input_shape)), training=False)
        outs = list(out) if isinstance(out, (list, tuple)) else [out]
        shapes = [(None,) + tuple(o.shape[1:]) for o in outs]
        return shapes if isinstance(out, (list, tuple)) else shapes[0]

    def add_weight(self, shape=None, initializer="glorot_uniform", name=None, trainable=True, dtype=None,
                   regularizer=None, constraint=None):
        """Creates a Variable of `shape`, tracked in this layer's weights. `regularizer`: its penalty
        joins `losses` while the weight is trainable; `constraint`: applied after each optimizer update."""
        shape = tuple(int(d) for d in (shape or ()))
        dtype = np.dtype(getattr(dtype, "name", dtype) or "float32")
        if dtype not in (np.float32, np.int32):
            raise NotImplementedError(f"add_weight: dtype {dtype} is not supported yet (float32 or int32)")
        value = initializers.get(initializer)(shape)
        v = Variable(np.asarray(value, dtype).reshape(shape), trainable=trainable, name=name or "variable", dtype=dtype)
        v.path = f"{self.name}/{v.name}"
        v.regularizer, v.constraint = regularizers.get(regularizer), constraints.get(constraint)
        self._weights.append(v)
        return v

    def _maybe_build(self, input_shape):
        if not self.built:
            with _build_lock:
                if not self.built:
                    self.build(input_shape)
                    self.built = True
                    self._build_input_shape = input_shape

    def __call__(self, inputs, *args, training=None, **kwargs):
        """Builds the layer on first use, then runs `call`.

        `training` follows Keras: an explicit value wins; otherwise the value of the layer (or model)
        call this one runs inside; otherwise the default of `call`'s own `training` argument. It is
        passed to `call` when `call` takes it, and nested layers inherit it. None means inference.
        """
        if ((type(inputs) is not Tensor and is_symbolic(inputs)) or (args and is_symbolic(args))  # a data call: quick
                or (kwargs and is_symbolic(kwargs))):
            return self._call_symbolic(inputs, args, kwargs if training is None else {**kwargs, "training": training})
        inputs = self._convert_inputs(inputs)
        if isinstance(inputs, dict):
            shape = {k: t.shape for k, t in inputs.items()}
        else:
            shape = [t.shape for t in inputs] if isinstance(inputs, (list, tuple)) else inputs.shape
        self._maybe_build(shape)
        if training is None:
            training = _outer_training()
        takes_training, default = self._training_spec()
        if training is None:
            training = default
        if training is not None and takes_training:
            kwargs["training"] = bool(training)
        outer = _outer_training()
        depth = getattr(_context, "depth", 0)
        if depth == 0:  # an outermost call: losses are those of this call only, as Keras keeps them
            self._clear_losses()
        _context.training, _context.depth = (outer if training is None else bool(training)), depth + 1
        try:
            outputs = self.call(inputs, *args, **kwargs)
        finally:
            _context.training, _context.depth = outer, depth
        if self.activity_regularizer is not None:
            self._add_activity_penalties(outputs)
        return outputs

    def _add_activity_penalties(self, outputs):
        """Keras 3: the activity regularizer's penalty of each output, divided by its batch size (so
        its weight against the weight penalties does not change with the batch size)."""
        flat = list(outputs.values()) if isinstance(outputs, dict) else \
            list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
        for out in flat:
            if isinstance(out, Tensor):
                penalty = self.activity_regularizer(out)
                if out.ndim > 0:  # the batch size, a constant a compiled program refills per batch
                    penalty = penalty / float(out.shape[0]) if out.shape[0] else penalty * 0.0
                self.add_loss(penalty)

    # -- losses and metrics added in `call` ---------------------------------------------------
    def add_loss(self, loss):
        """Adds a loss (e.g. a regulariser computed in `call`) to the model's training loss. The
        losses are those of the last call: see `losses`."""
        self._losses.append(loss() if callable(loss) else loss)

    @property
    def losses(self):
        """The losses of the last call (add_loss and activity regularizers), of this layer and the layers
        inside it, then the penalties of the trainable weights' regularizers, computed from the weights'
        current values (Keras 3)."""
        return self._call_losses() + [v.regularizer(v) for v in self.trainable_weights if v.regularizer is not None]

    def _call_losses(self):
        return self._losses + [l for layer in self._inner_layers() for l in layer._call_losses()]

    def _clear_losses(self):
        self._losses = []
        for layer in self._sublayers:
            layer._clear_losses()

    def add_metric(self, value, name=None, aggregation="mean"):
        """Logs the running mean of `value` under `name` (the TF 2 spelling the guide uses; each epoch's
        value is the mean over its batches)."""
        if aggregation not in ("mean", None):
            raise NotImplementedError(f"add_metric: only aggregation='mean' is supported, got {aggregation!r}")
        if name is None:
            raise ValueError("add_metric: `name` is required")
        metric = self._added_metrics.get(name)
        if metric is None:
            from ..metrics import ValueMean
            metric = self._added_metrics[name] = ValueMean(name=name)
        metric.update_state(value)

    def _metrics_added(self):
        """The metrics add_metric made, in this layer and inside it."""
        out = list(self._added_metrics.values())
        for layer in self._sublayers:
            out += layer._metrics_added()
        return out

    def _convert_inputs(self, inputs):
        """Inputs as Tensors: float32, the dtype layers compute in (as Keras casts), except integers
        where the layer takes them (`int_inputs`)."""
        def convert(t):
            return as_dtype(t, "int32" if self.int_inputs and _is_int(t) else "float32")
        if isinstance(inputs, dict):
            return {k: convert(t) for k, t in inputs.items()}
        return [convert(t) for t in inputs] if isinstance(inputs, (list, tuple)) else convert(inputs)

    def _training_spec(self):
        """(whether `call` takes `training`, its default there): read once per class."""
        cls = type(self)
        if "_training_spec_" not in cls.__dict__:
            params = inspect.signature(self.call).parameters
            param = params.get("training")
            default = None if param is None or param.default is inspect.Parameter.empty else param.default
            cls._training_spec_ = (_accepts(self.call, "training"), default)
        return cls._training_spec_

    def _call_symbolic(self, inputs, args=(), kwargs=None):
        """A node of the functional graph: this layer called on KerasTensors (anywhere in its arguments)."""
        listed = isinstance(inputs, (list, tuple))
        if not args and not kwargs and (isinstance(inputs, KerasTensor) or
                                        (listed and inputs and all(isinstance(t, KerasTensor) for t in inputs))):
            shape = [t.shape for t in inputs] if listed else inputs.shape
            self._maybe_build(shape)
            out_shape = self.compute_output_shape(shape)
            return KerasTensor(out_shape, layer=self, inputs=list(inputs) if listed else [inputs], name=self.name,
                               listed=listed)
        # Other arguments (a second tensor, `training`, ...) are kept in a template and replayed.
        call, tensors = template((inputs, tuple(args), dict(kwargs or {})))

        def run(zeros):
            i, a, k = fill(call, lambda slot: zeros[slot.index])
            return self(i, *a, **{**k, "training": False})
        return self._symbolic_output(tensors, run, call=call)

    def _symbolic_output(self, tensors, run, **how):
        """The KerasTensor of run(tensors): its shape and dtype are those of `run` on zeros at two sizes
        of each unknown axis; an axis that follows them is unknown (None) in the output."""
        outs = []
        with _ShapeRun(self):
            for n in (2, 3):
                out = run([np.zeros([n if d is None else d for d in t.shape], t.dtype) for t in tensors])
                if not isinstance(out, Tensor):
                    raise TypeError(f"{self.name}: a layer or op called on symbolic tensors here must return one "
                                    f"tensor, got {type(out).__name__}")
                outs.append(out)
        if len(outs[0].shape) != len(outs[1].shape):
            raise ValueError(f"{self.name}: the output's rank depends on the sizes of the input's unknown axes")
        shape = tuple(a if a == b else None for a, b in zip(outs[0].shape, outs[1].shape))
        return KerasTensor(shape, outs[0].dtype_name, layer=self, inputs=tensors, name=self.name, **how)

    # -- weights ---------------------------------------------------------------------------
    @property
    def weights(self):
        if not self._sublayers:  # each of its own weights is there once
            return list(self._weights)
        return unique(self._weights + [w for layer in self._sublayers for w in layer.weights])

    def _state_variables(self):
        """Every variable a call can change: weights (trainable or not) and random generator states."""
        return unique(self.weights + self._seed_states + [v for m in self._added_metrics.values() for v in m.variables] +
                      [v for layer in self._sublayers for v in layer._state_variables()])

    @property
    def trainable_weights(self):
        """The trainable weights, none of a layer (or of one inside it) set `trainable = False`."""
        if not self.trainable:
            return []
        return unique([w for w in self._weights if w.trainable] +
                      [w for layer in self._inner_layers() for w in layer.trainable_weights])

    @property
    def non_trainable_weights(self):
        trainable = {id(w) for w in self.trainable_weights}
        return [w for w in self.weights if id(w) not in trainable]

    def _inner_layers(self):
        return self._sublayers

    trainable_variables = trainable_weights
    variables = weights

    @default_config
    def get_config(self):
        """The layer's constructor arguments under Keras 3's keys; subclasses add their own. A
        layer of your own that does not override it gets the arguments its constructor was called
        with (when they are plain values), as Keras' auto-config does."""
        config = {"name": self.name, "trainable": self.trainable, "dtype": dtype_policy("float32")}
        if getattr(type(self).get_config, "_is_default", False) and not builtin(type(self)):
            auto = self.__dict__.get("_auto_config")
            if auto is None:
                raise NotImplementedError(
                    f"Layer {type(self).__name__} was created with arguments that are not plain values (str, "
                    "int, float, bool, None, or lists and dicts of them), so it must override `get_config()` "
                    "to be serializable.")
            config.update(auto)
        if self.activity_regularizer is not None:
            config["activity_regularizer"] = layer_config.options(self, "activity_regularizer")["activity_regularizer"]
        return config

    @classmethod
    def from_config(cls, config):
        """A new layer from `get_config()`'s dict."""
        return cls(**config)

    def get_build_config(self):
        """The input shape the layer was built for, as Keras saves it (None if it was not built)."""
        shape = getattr(self, "_build_input_shape", None)
        return None if shape is None else {"input_shape": layer_config.listed(shape)}

    def build_from_config(self, config):
        """Builds the layer for the input shape `get_build_config()` recorded."""
        shape = config.get("input_shape") if config else None
        if shape is not None and not self.built:
            self._maybe_build(layer_config.shaped(shape))

    def get_weights(self):
        return [w.numpy() for w in self.weights]

    def set_weights(self, weights):
        """Sets the weights from a list of numpy arrays, in the order of `get_weights()`."""
        own = self.weights
        if len(weights) != len(own):
            raise ValueError(f"set_weights: layer '{self.name}' expects {len(own)} weight arrays, got {len(weights)}")
        for v, w in zip(own, weights):
            w = np.asarray(w)
            if tuple(w.shape) != tuple(v.shape):
                raise ValueError(f"set_weights: weight '{v.path}' has shape {v.shape}, got an array of shape {w.shape}")
            v.assign(w)

    def count_params(self):
        return int(sum(np.prod(w.shape) for w in self.weights))

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


class _ShapeRun:
    """Context of a run on zeros that only learns an output's shape: it leaves no trace in the layer:
    losses dropped, variables (weights built before, random generator states, metric variables) and
    the built-in metrics the layer holds (their C++ states) put back as they were."""

    def __init__(self, layer):
        self.layer = layer

    def __enter__(self):
        from ..metrics import Metric
        self.variables = [(v, np.array(_raw_numpy(v), copy=True)) for v in self.layer._state_variables()]
        held = [m for layer in [self.layer] + _all_sublayers(self.layer) for m in vars(layer).values()
                if isinstance(m, Metric)]
        self.metrics = []
        for m in held:
            saved = _core.MetricState()
            saved.copy_from(m._state)
            self.metrics.append((m, saved, [np.array(_raw_numpy(v), copy=True) for v in m.variables]))
        return self

    def __exit__(self, *exc):
        self.layer._clear_losses()
        for v, value in self.variables:
            v._assign(value)
        for m, state, values in self.metrics:
            m._state.copy_from(state)
            for v, value in zip(m.variables, values):
                v._assign(value)
        return False


def _all_sublayers(layer):
    return [s for sub in layer._sublayers for s in [sub] + _all_sublayers(sub)]
