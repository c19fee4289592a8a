"""`GradientTape`: records eager ops on the C++ tape; `gradient` runs reverse mode in C++."""
import enum

import numpy as np

from . import _core, _tracing
from .tensor import Tensor, convert_to_tensor


class UnconnectedGradients(str, enum.Enum):
    """What `GradientTape.gradient` gives for a source the target does not depend on, as in TensorFlow:
    `NONE` (None) or `ZERO` (zeros of the source's shape)."""
    NONE = "none"
    ZERO = "zero"


class GradientTape:
    """Records operations for automatic differentiation, as `tf.GradientTape`.

    Trainable variables are watched automatically (unless watch_accessed_variables=False); other
    tensors with `tape.watch(t)`. A gradient taken while another tape records (or inside this one's
    block, when persistent) is itself recorded, so nested tapes give second derivatives.

    >>> import fastfit as tf
    >>> x = tf.Variable([3.0])
    >>> with tf.GradientTape() as outer:
    ...     with tf.GradientTape() as inner:
    ...         y = x * x * x
    ...     dy = inner.gradient(y, x)          # 3 x^2
    >>> dy.numpy(), outer.gradient(dy, x).numpy()  # 6 x
    (array([27.], dtype=float32), array([18.], dtype=float32))
    """

    def __init__(self, persistent=False, watch_accessed_variables=True):
        self._tape = _core.Tape(persistent=persistent, watch_variables=watch_accessed_variables)

    def __enter__(self):
        self._tape.push()
        return self

    def __exit__(self, *exc):
        self._tape.pop()
        return False

    def watch(self, tensor):
        """Records the ops that use `tensor` (a Tensor, or a list, tuple or dict of them) from now on."""
        for t in _flatten(tensor):
            if not isinstance(t, Tensor):
                raise TypeError(f"watch: expected Tensors or Variables, got {type(t).__name__}")
            self._tape.watch(t)

    def gradient(self, target, sources, output_gradients=None, unconnected_gradients=UnconnectedGradients.NONE):
        """d target / d sources, in the structure of `sources`.

        `target` is a Tensor or a list, tuple or dict of them: the gradient is that of their sum, and of
        the sum of each one's elements (as TensorFlow). `output_gradients`, one per target (or one tensor
        for a single target), weights each target's elements instead. A source the target does not
        depend on gets None, or zeros with `unconnected_gradients="zero"`.
        """
        targets, flat = _flatten(target), _flatten(sources)
        for t in targets:
            if not isinstance(t, Tensor):
                raise TypeError(f"gradient: `target` must be a Tensor or a structure of Tensors, got {type(t).__name__}")
        for s in flat:
            if not isinstance(s, Tensor):
                raise TypeError(f"gradient: `sources` must be Tensors or Variables, got {type(s).__name__}")
        try:
            unconnected = UnconnectedGradients(getattr(unconnected_gradients, "value", unconnected_gradients))
        except ValueError:
            raise ValueError(f"gradient: `unconnected_gradients` must be 'none' or 'zero', got "
                             f"{unconnected_gradients!r}") from None
        seeds = _seeds(output_gradients, targets)
        grads = self._tape.gradient(targets, flat, seeds)
        state = _tracing.current()
        if state is not None:  # a compiled tf.function step computes them in its program
            single = len(targets) == 1 and seeds[0] is None
            state.note_gradient(targets[0] if single else None, flat, grads)
        if unconnected is UnconnectedGradients.ZERO:
            from .ops import zeros_like
            grads = [zeros_like(s) if g is None else g for g, s in zip(grads, flat)]
        return _pack(sources, grads)


def _flatten(structure):
    """The leaves of a Tensor, or of a (nested) list, tuple or dict of them (dicts by sorted key)."""
    if isinstance(structure, dict):
        return [leaf for k in sorted(structure, key=str) for leaf in _flatten(structure[k])]
    if isinstance(structure, (list, tuple)):
        return [leaf for item in structure for leaf in _flatten(item)]
    return [structure]


def _pack(structure, leaves):
    """`leaves` (in _flatten's order) in the structure of `structure`."""
    it = iter(leaves)

    def build(value):
        if isinstance(value, dict):
            done = {k: build(value[k]) for k in sorted(value, key=str)}
            return {k: done[k] for k in value}
        if isinstance(value, (list, tuple)):
            items = [build(v) for v in value]
            return type(value)(*items) if hasattr(value, "_fields") else type(value)(items)
        return next(it)
    return build(structure)


def _seeds(output_gradients, targets):
    """One seed per target (None: ones), as float32 Tensors of the target's shape."""
    if output_gradients is None:
        return [None] * len(targets)
    if len(targets) == 1:  # one tensor, or TensorFlow's list of one gradient per target
        g = output_gradients
        one = isinstance(g, (list, tuple)) and len(g) == 1 and (isinstance(g[0], Tensor) or
                                                                 np.ndim(g[0]) == targets[0].ndim)
        given = [g[0] if one else g]
    elif isinstance(output_gradients, dict):  # in the order _flatten gives the targets of a dict
        given = [output_gradients[k] for k in sorted(output_gradients, key=str)]
    else:
        given = list(output_gradients) if isinstance(output_gradients, (list, tuple)) else [output_gradients]
    if len(given) != len(targets):
        raise ValueError(f"gradient: `output_gradients` must hold one gradient per target ({len(targets)}), "
                         f"got {len(given)}")
    seeds = []
    for g, t in zip(given, targets):
        seed = None if g is None else convert_to_tensor(g, "float32")
        if seed is not None and tuple(seed.shape) != tuple(t.shape):
            raise ValueError(f"gradient: output_gradients must have the target's shape {tuple(t.shape)}, got "
                             f"{tuple(seed.shape)}")
        seeds.append(seed)
    return seeds
