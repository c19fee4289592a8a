"""`GradientTape`: records eager ops on the C++ tape; `gradient` runs reverse mode in C++."""
from . import _core, _tracing
from .tensor import Tensor, convert_to_tensor


class GradientTape:
    """Records operations for automatic differentiation, as `tf.GradientTape`.

    Trainable variables are watched automatically (unless watch_accessed_variables=False); other
    tensors with `tape.watch(t)`.

    >>> import fastfit as tf
    >>> x = tf.Variable([3.0])
    >>> with tf.GradientTape() as tape:
    ...     y = x * x
    >>> tape.gradient(y, x).numpy()
    array([6.], dtype=float32)
    """

    def __init__(self, persistent=False, watch_accessed_variables=True):
        self._tape = _core.Tape(persistent=persistent, watch_variables=watch_accessed_variables)
        self._persistent = persistent

    def __enter__(self):
        self._tape.push()
        return self

    def __exit__(self, *exc):
        self._tape.pop()
        return False

    def watch(self, tensor):
        for t in tensor if isinstance(tensor, (list, tuple)) else [tensor]:
            self._tape.watch(t)

    def gradient(self, target, sources, output_gradients=None):
        """d target / d sources, in the structure of `sources` (None where unconnected)."""
        if not isinstance(target, Tensor):
            raise TypeError(f"gradient: `target` must be a Tensor, got {type(target).__name__}")
        single = isinstance(sources, Tensor)
        flat = [sources] if single else list(sources)
        for s in flat:
            if not isinstance(s, Tensor):
                raise TypeError(f"gradient: `sources` must be Tensors or Variables, got {type(s).__name__}")
        seed = None if output_gradients is None else convert_to_tensor(output_gradients, "float32")
        grads = self._tape.gradient(target, flat, seed)
        state = _tracing.current()
        if state is not None:  # a compiled tf.function step computes them in its program
            state.note_gradient(target if seed is None else None, flat, grads)
        return grads[0] if single else grads
