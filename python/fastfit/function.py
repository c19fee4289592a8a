"""`tf.function`: a Python step (a GradientTape, `apply_gradients`, metric updates, a model call)
compiled into a C++ Program and replayed on each call with the same input signature.

How a call of a given signature runs:

1. First call: the function runs eagerly while every op is recorded (its effects are the call's).
   The recording says what the step does: the ops, the one gradient of one loss that one optimizer
   applies, the built-in metrics it updates, what it returns. A step that cannot be replayed
   (a tensor turned into a Python value, ops on gradients, two optimizers, ...) runs eagerly for
   good, with one warning that says why.
2. Second call: the Program runs, then the state is put back and the function runs eagerly on the
   same arguments; the Program is kept only when its results and every variable it changed match
   (the rows are new to it: what fit checks too). The eager results stand either way.
3. Later calls: the Program alone, with no Python per op.

As in TensorFlow, Python side effects (prints, appends) happen when the function is traced, and
Python values (ints, floats, strings, objects) are part of the signature: a new value retraces.
"""
import functools
import threading
import warnings

import numpy as np

from .tensor import Tensor, convert_to_tensor


def function(func=None, input_signature=None, autograph=True, jit_compile=None, reduce_retracing=False,
             experimental_implements=None, experimental_autograph_options=None, experimental_attributes=None,
             experimental_relax_shapes=None, experimental_compile=None, experimental_follow_type_hints=None):
    """Compiles `func` into a C++ program replayed per input signature (see the module's docstring).

    >>> @tf.function
    ... def train_step(x, y):
    ...     with tf.GradientTape() as tape:
    ...         loss = loss_fn(y, model(x, training=True))
    ...     grads = tape.gradient(loss, model.trainable_weights)
    ...     optimizer.apply_gradients(zip(grads, model.trainable_weights))
    ...     return loss

    `jit_compile` and `reduce_retracing` are accepted: fastfit always compiles, and traces once per
    shape (which keeps the replay exact). `input_signature` fixes the shapes and dtypes the arguments
    must have. `autograph=False` is accepted too: Python control flow on tensors is never converted.
    """
    for name, value in (("experimental_implements", experimental_implements),
                        ("experimental_autograph_options", experimental_autograph_options),
                        ("experimental_attributes", experimental_attributes),
                        ("experimental_follow_type_hints", experimental_follow_type_hints)):
        if value is not None:
            raise NotImplementedError(f"tf.function: `{name}` is not supported")
    if func is None:
        return lambda f: Function(f, input_signature)
    return Function(func, input_signature)


class Function:
    """A compiled Python function: call it as the function itself."""

    def __init__(self, python_function, input_signature=None):
        if not callable(python_function):
            raise TypeError(f"tf.function: expected a callable, got {type(python_function).__name__}")
        self.python_function = python_function
        self.input_signature = None if input_signature is None else list(input_signature)
        self._steps = {}  # signature -> _Step
        self._lock = threading.RLock()
        self._warned = set()
        functools.update_wrapper(self, python_function)

    def __get__(self, instance, owner):
        """A method decorated with tf.function: one Function per instance, as TensorFlow binds it."""
        if instance is None:
            return self
        bound = instance.__dict__.get(("_tf_function", id(self)))
        if bound is None:
            bound = Function(self.python_function.__get__(instance, owner), self.input_signature)
            instance.__dict__[("_tf_function", id(self))] = bound
        return bound

    def __call__(self, *args, **kwargs):
        if not kwargs and all(type(a) is Tensor for a in args):  # the usual call, keyed quickly
            leaves, key = args, tuple([(a.shape, a.dtype_name) for a in args])
        else:
            leaves, key = _flatten((args, kwargs))
            if not all(type(v) is Tensor for v in leaves):  # numpy arrays enter as tensors, as in TensorFlow
                leaves = [v if isinstance(v, Tensor) else convert_to_tensor(v) for v in leaves]
                args, kwargs = _replace_leaves((args, kwargs), leaves)
        if self.input_signature is not None:
            _check_signature(self.input_signature, args)
        step = self._steps.get(key)
        if step is not None and step.program is not None:
            return step.run(leaves)
        with self._lock:
            step = self._steps.get(key)
            if step is None:
                step, result = _Step.trace(self.python_function, args, kwargs, leaves)
                self._steps[key] = step
                self._warn(step)
                return result
            if step.program is not None:
                return step.run(leaves)
            if step.pending:
                result = step.verify(self.python_function, args, kwargs, leaves)
                self._warn(step)
                return result
        return self.python_function(*args, **kwargs)

    def _warn(self, step):
        if step.why is not None and step.why not in self._warned:
            self._warned.add(step.why)
            name = getattr(self.python_function, "__name__", "function")
            warnings.warn(f"tf.function '{name}' runs eagerly (op by op from Python), because {step.why}.",
                          UserWarning, stacklevel=4)

    def experimental_get_tracing_count(self):
        """How many signatures have been traced."""
        return len(self._steps)


# -- signatures ---------------------------------------------------------------------------------
def _flatten(structure):
    """(the Tensor and ndarray leaves, a hashable key: each leaf's shape and dtype, every other
    value itself, or its identity when it cannot be hashed)."""
    leaves, key = [], []

    def walk(value):
        if isinstance(value, Tensor):
            leaves.append(value)
            key.append(("T", value.shape, value.dtype_name))
        elif isinstance(value, np.ndarray):
            leaves.append(value)
            key.append(("A", value.shape, value.dtype.str))
        elif isinstance(value, (list, tuple)):
            key.append((type(value).__name__, len(value)))
            for v in value:
                walk(v)
        elif isinstance(value, dict):
            key.append(("dict", tuple(sorted(value, key=str))))
            for k in sorted(value, key=str):
                walk(value[k])
        else:
            try:
                hash(value)
                key.append(("V", type(value).__name__, value))
            except TypeError:
                key.append(("O", id(value)))
    walk(structure)
    return leaves, tuple(key)


def _check_signature(signature, args):
    if len(args) != len(signature):
        raise ValueError(f"tf.function: the input_signature has {len(signature)} arguments, the call passed {len(args)}")
    for i, (spec, value) in enumerate(zip(signature, args)):
        shape = tuple(getattr(value, "shape", np.shape(value)))
        want = tuple(spec.shape)
        if len(shape) != len(want) or any(w is not None and w != s for w, s in zip(want, shape)):
            raise ValueError(f"tf.function: argument {i} has shape {shape}, which does not fit the input_signature's "
                             f"{want}")


def _replace_leaves(structure, leaves):
    """`structure` with its Tensor/ndarray leaves replaced, in order, by `leaves`."""
    it = iter(leaves)

    def walk(value):
        if isinstance(value, (Tensor, np.ndarray)):
            return next(it)
        if isinstance(value, (list, tuple)):
            items = [walk(v) for v in value]
            return type(value)(*items) if hasattr(value, "_fields") else type(value)(items)
        if isinstance(value, dict):
            done = {k: walk(value[k]) for k in sorted(value, key=str)}  # the order _flatten visits
            return {k: done[k] for k in value}
        return value
    return walk(structure)


from .function_step import _Step  # noqa: E402  (the compiled step builds on the helpers above)
