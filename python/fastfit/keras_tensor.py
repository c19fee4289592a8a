"""KerasTensor, the symbolic tensor of the functional API, and `symbolic`: what lets the tf ops
(`tf.reduce_sum`, `x * 0.1`, `x[:, 0]`, ...) take KerasTensors, as Keras wraps them in layers."""
import functools


class KerasTensor:
    """A symbolic tensor: a shape with None for the batch axis, and the layer call that made it."""

    def __init__(self, shape, dtype="float32", layer=None, inputs=(), name=None, listed=False, call=None):
        self.shape = tuple(shape)
        self.dtype = dtype
        self._layer = layer        # the layer whose call produced this tensor (an InputLayer for inputs)
        self._inputs = list(inputs)
        self._listed = listed      # the layer was called on a list (even of one), to be replayed so
        self._call = call          # (inputs, args, kwargs) of a call with more than its inputs, as a template
        self.name = name
        # Which call of its layer made it (Keras' node index: "dense[1][0]" in a summary is the second call).
        self._node_index = 0
        if layer is not None:
            self._node_index = getattr(layer, "_symbolic_calls", 0)
            layer._symbolic_calls = self._node_index + 1

    def _replay(self, values):
        """The layer call that made this tensor, on the concrete tensors `values` (id -> tensor) of its
        inputs."""
        tensors = [values[id(t)] for t in self._inputs]
        if self._call is None:
            return self._layer(tensors if self._listed else tensors[0])
        inputs, args, kwargs = fill(self._call, lambda slot: tensors[slot.index])
        return self._layer(inputs, *args, **kwargs)

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"


class Slot:
    """Where the i-th symbolic tensor goes in a call's arguments."""

    def __init__(self, index):
        self.index = index


def fill(value, fill_one):
    """`value` with each KerasTensor or Slot replaced by fill_one(it), through lists, tuples and dicts."""
    if isinstance(value, (KerasTensor, Slot)):
        return fill_one(value)
    if isinstance(value, (list, tuple)):
        return type(value)(fill(v, fill_one) for v in value)
    if isinstance(value, dict):
        return {k: fill(v, fill_one) for k, v in value.items()}
    return value


def template(value):
    """(value with its KerasTensors replaced by Slots, those KerasTensors in order)."""
    found = []

    def slot(t):
        found.append(t)
        return Slot(len(found) - 1)
    return fill(value, slot), found


def is_symbolic(value):
    """Whether a KerasTensor is in `value` (through lists, tuples and dicts)."""
    if isinstance(value, KerasTensor):
        return True
    if isinstance(value, (list, tuple)):
        return any(is_symbolic(v) for v in value)
    return isinstance(value, dict) and any(is_symbolic(v) for v in value.values())


def symbolic(fn):
    """`fn` as before on data; on KerasTensors, a node of the functional graph (an OpLayer) that runs
    `fn` on the tensors that flow there."""
    @functools.wraps(fn)
    def op(*args, **kwargs):
        if not (is_symbolic(args) or (kwargs and is_symbolic(kwargs))):
            return fn(*args, **kwargs)
        from .layers.op_layer import OpLayer
        return OpLayer(fn, args, kwargs).symbolic_call()
    return op
