"""A model's layers and their connections, in the order Keras 3 lists them: what model.summary,
plot_model/model_to_dot and TensorBoard's graph show."""
from ..layers.input_layer import InputLayer


class LayerCalls:
    """One layer of a model and the calls of it the model makes (the KerasTensors they returned;
    none for a Sequential's or a subclassed model's layers)."""

    def __init__(self, layer, calls=(), input_shape=None):
        self.layer = layer
        self.calls = list(calls)
        self._input_shape = input_shape  # a Sequential's layers: the previous one's output shape

    @property
    def output_shape(self):
        """The output shape of its last call in the model, or None where unknown."""
        if self.calls:
            return self.calls[-1].shape
        if isinstance(self.layer, InputLayer):
            return self.layer.shape
        return getattr(self.layer, "_output_shape", None)

    @property
    def input_shapes(self):
        """The input shapes of its last call (one per input), or None where unknown."""
        if self.calls:
            return [t.shape for t in self.calls[-1]._inputs]
        return None if self._input_shape is None else [self._input_shape]

    @property
    def output_dtype(self):
        return self.calls[-1].dtype if self.calls else getattr(self.layer, "dtype", None)

    def inbound(self):
        """(layer, node index, tensor index) of each tensor its calls took, call by call."""
        return [(t._layer, t._node_index, 0) for call in self.calls for t in call._inputs]


def is_functional(model):
    return getattr(model, "_graph", None) is not None


def model_layers(model):
    """The model's layers as LayerCalls. A functional model's are ordered as Keras 3's
    `model._operations`: by decreasing depth from the outputs, ties in the order a depth-first walk
    from the outputs meets them (inputs included); a Sequential's (and a subclassed model's) as
    `model.layers`."""
    if not is_functional(model):
        entries, shape = [], getattr(model, "_input_shape", None)
        for layer in model.layers:
            entries.append(LayerCalls(layer, input_shape=shape))
            shape = getattr(layer, "_output_shape", None)
        return entries
    post_order, first_seen, _, layer_depth = _depths(model)
    order = sorted(layer_depth, key=lambda layer: (-layer_depth[layer], first_seen[layer]))
    calls = {}
    for t in post_order:
        calls.setdefault(t._layer, []).append(t)
    return [LayerCalls(layer, sorted(calls[layer], key=lambda t: t._node_index)) for layer in order]


def is_sequential_like(model):
    """Whether the graph is a chain, as Keras decides it (a summary then has no "Connected to"
    column): one node per depth, none with several inputs, no layer called twice."""
    if not is_functional(model):
        return True
    post_order, _, node_depth, _ = _depths(model)
    layers = [t._layer for t in post_order]
    return (len(set(node_depth.values())) == len(node_depth) and all(len(t._inputs) <= 1 for t in post_order)
            and len(set(layers)) == len(layers))


def _depths(model):
    """A depth-first walk from the outputs: (the tensors, each after its inputs; {layer: when the walk
    first met it}; {id(tensor): depth}; {layer: depth}), depth 0 at the outputs, as Keras' map_graph."""
    post_order, seen, first_seen = [], set(), {}

    def visit(t):
        if id(t) in seen:
            return
        seen.add(id(t))
        first_seen.setdefault(t._layer, len(first_seen))
        for parent in t._inputs:
            visit(parent)
        post_order.append(t)
    for t in model.outputs:
        visit(t)
    node_depth, layer_depth = {}, {}
    for t in reversed(post_order):
        depth = max(node_depth.setdefault(id(t), 0), layer_depth.get(t._layer, 0))
        layer_depth[t._layer] = node_depth[id(t)] = depth
        for parent in t._inputs:
            node_depth[id(parent)] = max(depth + 1, node_depth.get(id(parent), 0))
    for t in model.inputs:  # an input no output depends on still shows, at depth 0
        if t._layer not in layer_depth:
            layer_depth[t._layer], first_seen[t._layer], node_depth[id(t)] = 0, -1, 0
            post_order.append(t)
    return post_order, first_seen, node_depth, layer_depth


def edges(model, entries):
    """(source layer, destination layer) of each connection, each once, in order."""
    if not is_functional(model):
        layers = [e.layer for e in entries]
        return list(zip(layers, layers[1:]))
    out = []
    for e in entries:
        for source, _, _ in e.inbound():
            if (source, e.layer) not in out:
                out.append((source, e.layer))
    return out
