"""Model: a Layer with the training API. Functional (`Model(inputs, outputs)`) or subclassed."""
from .. import backend
from ..layers.input_layer import InputLayer
from ..layers.layer import KerasTensor, Layer, as_dtype, check_input_shape, unique
from .model_saving import ModelSaving
from .trainer import Trainer


class Model(ModelSaving, Trainer, Layer):
    """Groups layers into an object with training and inference features.

    Functional: `keras.Model(inputs=inputs, outputs=outputs)`. Subclassed: define layers in
    `__init__` and the forward pass in `call`.
    """

    def __init__(self, *args, **kwargs):
        inputs = kwargs.pop("inputs", args[0] if len(args) > 0 else None)
        outputs = kwargs.pop("outputs", args[1] if len(args) > 1 else None)
        name = kwargs.pop("name", None)
        default = "functional" if inputs is not None else None
        Layer.__init__(self, name=name or (backend.unique_name(default) if default else None), **kwargs)
        Trainer.__init__(self)
        self._graph = None
        if inputs is not None:
            if outputs is None:
                raise ValueError("Model: `outputs` is required with `inputs`")
            self._init_graph(inputs, outputs)

    # -- functional graph -------------------------------------------------------------------
    def _init_graph(self, inputs, outputs):
        # Inputs and outputs: one tensor, a list, or a dict (its keys then name them).
        self._input_list = _flat(inputs)
        self._output_list = _flat(outputs)
        self._nested_inputs, self._nested_outputs = inputs, outputs
        self.input_names = list(inputs) if isinstance(inputs, dict) else [t.name for t in self._input_list]
        self.output_names = list(outputs) if isinstance(outputs, dict) else [t.name for t in self._output_list]
        for t in self._input_list + self._output_list:
            if not isinstance(t, KerasTensor):
                raise TypeError(f"Model: inputs and outputs must be symbolic tensors from keras.Input, got {type(t).__name__}")
        self._symbolic_losses, self._symbolic_metrics = [], []  # add_loss/add_metric of graph tensors
        self._order_graph()
        self.built = True

    def _order_graph(self):
        """The layer calls from the inputs to the outputs and to the added losses and metrics, in order;
        and the layers in Keras 3's order (which names them in weights files)."""
        order, seen, first_seen = [], set(), {}

        def visit(t):
            if id(t) in seen:
                return
            seen.add(id(t))
            first_seen.setdefault(id(t._layer), len(first_seen))
            for i in t._inputs:
                visit(i)
            order.append(t)
        for t in self._output_list + self._symbolic_losses + [t for t, _ in self._symbolic_metrics]:
            visit(t)
        ids = {id(t) for t in self._input_list}
        for t in order:
            if isinstance(t._layer, InputLayer) and id(t) not in ids:
                raise ValueError(f"Model: output depends on input '{t.name}', which is not in `inputs`")
        self._graph = [t for t in order if id(t) not in ids]
        self._layers = _keras_layer_order(order, first_seen, self._input_list)

    def add_loss(self, loss):
        """Adds a loss to the training loss. In a functional model it may be a tensor of the graph
        (`model.add_loss(tf.reduce_sum(x1) * 0.1)`): it is computed in each call."""
        if isinstance(loss, KerasTensor) and self._graph is not None:
            self._symbolic_losses.append(loss)
            self._order_graph()
        else:
            Layer.add_loss(self, loss)

    def add_metric(self, value, name=None, aggregation="mean"):
        """Logs the running mean of `value` under `name`; in a functional model `value` may be a tensor
        of the graph (`model.add_metric(keras.backend.std(x1), name="std_of_activation")`)."""
        if isinstance(value, KerasTensor) and self._graph is not None:
            if aggregation not in ("mean", None):
                raise NotImplementedError(f"add_metric: only aggregation='mean' is supported, got {aggregation!r}")
            if name is None:
                raise ValueError("add_metric: `name` is required")
            self._symbolic_metrics.append((value, name))
            self._order_graph()
        else:
            Layer.add_metric(self, value, name, aggregation)

    @property
    def inputs(self):
        return self._input_list if self._graph is not None else None

    @property
    def outputs(self):
        return self._output_list if self._graph is not None else None

    @property
    def input_shape(self):
        shapes = [t.shape for t in self._input_list]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self):
        shapes = [t.shape for t in self._output_list]
        return shapes[0] if len(shapes) == 1 else shapes

    def _convert_inputs(self, inputs):
        """A functional model's inputs take their keras.Input's dtype (int32 ids stay int32); a dict
        of them is read by input name."""
        if isinstance(inputs, dict) and self._graph is not None:
            from ..data.arrays import by_name
            inputs = by_name(inputs, self.input_names, "inputs")
        several = isinstance(inputs, (list, tuple))
        flat = list(inputs) if several else [inputs]
        if self._graph is None or len(flat) != len(self._input_list):
            return Layer._convert_inputs(self, inputs)
        flat = [as_dtype(x, t.dtype) for x, t in zip(flat, self._input_list)]
        return flat if several else flat[0]

    def call(self, inputs):
        if self._graph is None:
            raise NotImplementedError(f"{type(self).__name__}: subclassed models must implement `call`")
        if isinstance(inputs, dict):
            from ..data.arrays import by_name
            inputs = by_name(inputs, self.input_names, "inputs")
        flat = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        if len(flat) != len(self._input_list):
            raise ValueError(f"Model '{self.name}' expects {len(self._input_list)} input(s) {self.input_names}, "
                             f"got {len(flat)}")
        values = {}
        for i, (kt, x) in enumerate(zip(self._input_list, flat)):
            check_input_shape(self.name, i, kt.shape, x.shape)
            values[id(kt)] = x
        for t in self._graph:
            values[id(t)] = t._replay(values)
        for t in self._symbolic_losses:
            Layer.add_loss(self, values[id(t)])
        for t, name in self._symbolic_metrics:
            Layer.add_metric(self, values[id(t)], name)
        outs = [values[id(t)] for t in self._output_list]
        if isinstance(self._nested_outputs, dict):
            return dict(zip(self.output_names, outs))
        return outs[0] if not isinstance(self._nested_outputs, (list, tuple)) else outs

    def compute_output_shape(self, input_shape):
        return self.output_shape if self._graph is not None else Layer.compute_output_shape(self, input_shape)

    def build(self, input_shape):
        self.built = True

    # -- layers and weights ----------------------------------------------------------------
    @property
    def layers(self):
        return list(self._layers) if self._graph is not None else list(self._sublayers)

    def get_layer(self, name=None, index=None):
        """A layer by name or by index in `layers`."""
        if index is not None:
            if not -len(self.layers) <= index < len(self.layers):
                raise ValueError(f"get_layer: index {index} is out of range for a model with {len(self.layers)} layers")
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No such layer: {name}. Existing layers are: {[l.name for l in self.layers]}.")

    @property
    def weights(self):
        return unique(self._weights + [w for l in self.layers for w in l.weights])

    def _inner_layers(self):
        return [layer for layer in self.layers if layer is not self]

    def _state_variables(self):
        added = [v for m in self._added_metrics.values() for v in m.variables]
        return unique(self.weights + added + [v for layer in self.layers for v in layer._state_variables()])

    def _clear_losses(self):
        self._losses = []
        for layer in self.layers:
            if layer is not self:
                layer._clear_losses()

    def _metrics_added(self):
        out = list(self._added_metrics.values())
        for layer in self.layers:
            if layer is not self:
                out += layer._metrics_added()
        return out

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False, show_trainable=False,
                layer_range=None):
        """Prints a table of the layers as Keras 3 does: name (type), output shape, parameter count,
        and for a functional model that is not a chain the layers each one is connected to; then the
        total, trainable and non-trainable parameter counts with their sizes (and the optimizer's,
        once it is built).

        Args:
            line_length: the table's width (default: 88 or 108 characters, at most the terminal's
                width less 4).
            positions: where each column ends, as fractions of the width.
            print_fn: called once with the whole text (default: print).
            expand_nested: also list the layers of nested models, indented.
            show_trainable: add a column saying whether each layer is trainable.
            layer_range: two regular expressions: the first and last layer (by name) to list.

        >>> model.summary(print_fn=lambda text: open("summary.txt", "w").write(text))
        """
        from ..utils.summary_utils import print_summary
        print_summary(self, line_length, positions, print_fn, expand_nested, show_trainable, layer_range)

    def to_dot(self, show_shapes=False, show_dtype=False, show_layer_names=True, rankdir="TB", expand_nested=False,
               dpi=200, show_layer_activations=False, show_trainable=False, splines="ortho"):
        """The model's graph as Graphviz DOT text (no dependency needed): one node per layer, an
        edge per connection; the arguments are plot_model's. Render it with `dot -Tpng`.

        >>> "->" in model.to_dot()
        True
        """
        from ..utils.model_visualization import dot_text
        return dot_text(self, show_shapes=show_shapes, show_dtype=show_dtype, show_layer_names=show_layer_names,
                        rankdir=rankdir, expand_nested=expand_nested, dpi=dpi,
                        show_layer_activations=show_layer_activations, show_trainable=show_trainable, splines=splines)


def _keras_layer_order(order, first_seen, inputs):
    """The layers as Keras 3's Functional lists them: by depth (the most layer calls between a call
    and an output, over the layer's calls) from the inputs down, then in the order a depth-first walk
    from the outputs meets them. `order`: the calls, inputs first; `first_seen`: id(layer) -> when
    the walk met it."""
    depth_of, layer_depth = {}, {}
    for t in reversed(order):
        depth = max(depth_of.setdefault(id(t), 0), layer_depth.get(id(t._layer), 0))
        layer_depth[id(t._layer)] = depth_of[id(t)] = depth
        for parent in t._inputs:
            depth_of[id(parent)] = max(depth + 1, depth_of.get(id(parent), 0))
    layers = {id(t._layer): t._layer for t in order}
    for t in inputs:  # an input no output depends on still belongs to the model
        if id(t._layer) not in layers:
            layers[id(t._layer)], layer_depth[id(t._layer)], first_seen[id(t._layer)] = t._layer, 0, -1
    return sorted(layers.values(), key=lambda layer: (-layer_depth[id(layer)], first_seen[id(layer)]))


def _flat(structure):
    return list(structure.values()) if isinstance(structure, dict) else (
        list(structure) if isinstance(structure, (list, tuple)) else [structure])
