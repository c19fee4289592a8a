"""plot_model and model_to_dot: a model's graph drawn as Keras 3 draws it (a box per layer, an arrow per
connection). fastfit writes the DOT text itself; pydot and Graphviz' `dot` program only render it."""
import html
import os
import shutil

from . import model_graph
from .summary_utils import format_shape

_PYDOT_MISSING = "You must install pydot (`pip install pydot`, or `pip install fastfit[plot]`) for {} to work."
_DOT_MISSING = ("You must install graphviz for plot_model to work: its `dot` program was not found on PATH. "
                "Install it with `apt-get install graphviz` (Debian/Ubuntu), `brew install graphviz` (macOS) or "
                "`conda install graphviz`; see https://graphviz.gitlab.io/download/. "
                "model.to_dot() gives the DOT text without it.")


class _Graph:
    """A DOT graph: attributes, nodes (id, attributes), edges (source id, destination id) and nested
    clusters. `dot_text` writes it; `model_to_dot` and `plot_model` hand it to pydot as objects."""

    def __init__(self, name, attrs):
        self.name, self.attrs = name, attrs
        self.nodes, self.edges, self.clusters = [], [], []

    def text(self, indent="  "):
        head = f"digraph {self.name} {{" if indent == "  " else f"{indent[:-2]}subgraph {_quote(self.name)} {{"
        lines = [head, f"{indent}graph [{_attrs(self.attrs)}];"]
        if indent == "  ":
            lines.append(f"{indent}node [shape=record];")
        lines += [f"{indent}{_quote(node_id)} [{_attrs(attrs)}];" for node_id, attrs in self.nodes]
        for cluster in self.clusters:
            lines += cluster.text(indent + "  ")
        lines += [f"{indent}{_quote(src)} -> {_quote(dst)} [penwidth=2];" for src, dst in self.edges]
        return lines + [f"{indent[:-2]}}}"]

    def pydot(self, pydot, cluster=False):
        graph = pydot.Cluster(self.name[len("cluster_"):], **self.attrs) if cluster else pydot.Dot(
            self.name, graph_type="digraph", **self.attrs)
        if not cluster:
            graph.set_node_defaults(shape="record")
        for node_id, attrs in self.nodes:
            graph.add_node(pydot.Node(_quote(node_id), **attrs))
        for inner in self.clusters:
            graph.add_subgraph(inner.pydot(pydot, cluster=True))
        for src, dst in self.edges:
            graph.add_edge(pydot.Edge(_quote(src), _quote(dst), penwidth="2"))
        return graph


def _attrs(attrs):
    return ", ".join(f"{k}={v}" for k, v in attrs.items())


def _quote(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def dot_text(model, **options):
    """The model's graph as DOT text (see `plot_model` for the options)."""
    return "\n".join(_graph(model, **options).text()) + "\n"


def _graph(model, show_shapes=False, show_dtype=False, show_layer_names=True, rankdir="TB", expand_nested=False,
           dpi=200, show_layer_activations=False, show_trainable=False, splines="ortho"):
    if not model.built:
        raise ValueError("This model has not yet been built. Build the model first by calling `build()` or by "
                         "calling the model on a batch of data.")
    if rankdir not in ("TB", "LR", "BT", "RL"):
        raise ValueError(f"`rankdir` must be 'TB', 'LR', 'BT' or 'RL', got {rankdir!r}")
    label = {"show_shapes": show_shapes, "show_dtype": show_dtype, "show_layer_names": show_layer_names,
             "show_layer_activations": show_layer_activations, "show_trainable": show_trainable}
    graph = _Graph("G", {"rankdir": rankdir, "concentrate": "true", "dpi": dpi, "splines": splines})
    _add_layers(graph, model, label, expand_nested, "")
    return graph


def _add_layers(graph, model, label, expand_nested, prefix):
    """Adds the model's layers and connections; node ids start with `prefix` (nested models')."""
    from ..models import Model, Sequential
    if not model_graph.is_functional(model) and not isinstance(model, Sequential):
        graph.nodes.append(_node(prefix + model.name, model_graph.LayerCalls(model), label))  # a subclassed model
        return
    entries = model_graph.model_layers(model)
    for entry in entries:
        layer = entry.layer
        if expand_nested and isinstance(layer, Model) and layer.layers:
            inner = prefix + layer.name + "/"
            cluster = _Graph("cluster_" + inner, {"label": _quote(layer.name), "labeljust": "l", "style": "dashed"})
            _add_layers(cluster, layer, label, expand_nested, inner)
            graph.clusters.append(cluster)
        else:
            graph.nodes.append(_node(prefix + layer.name, entry, label))
    for source, destination in model_graph.edges(model, entries):
        graph.edges.append((_endpoint(source, prefix, expand_nested, last=True),
                            _endpoint(destination, prefix, expand_nested, last=False)))


def _endpoint(layer, prefix, expand_nested, last):
    """The node an edge meets for `layer`: inside an expanded nested model, its output layer (`last`)
    or its input layer."""
    from ..models import Model
    while expand_nested and isinstance(layer, Model) and layer.layers:
        prefix += layer.name + "/"
        if model_graph.is_functional(layer):
            layer = (layer.outputs if last else layer.inputs)[0]._layer
        else:
            layer = layer.layers[-1 if last else 0]
    return prefix + layer.name


def _node(node_id, entry, options):
    return node_id, {"label": f"<{_label(entry, **options)}>", "fontname": "Helvetica", "border": 0, "margin": 0}


def _label(entry, show_shapes, show_dtype, show_layer_names, show_layer_activations, show_trainable):
    """An HTML-like label as Keras 3's make_layer_label: name and class on black, then rows for the
    activation, shapes, dtype and trainability."""
    layer = entry.layer
    class_name = html.escape(type(layer).__name__)
    colspan = max(1, int(show_dtype) + int(show_trainable) + (2 if show_shapes else 0))
    title = f"<b>{html.escape(layer.name)}</b> ({class_name})" if show_layer_names else f"<b>{class_name}</b>"
    table = ('<table border="0" cellborder="1" bgcolor="black" cellpadding="10">'
             f'<tr><td colspan="{colspan}" bgcolor="black">'
             f'<font point-size="16" color="white">{title}</font></td></tr>')
    if show_layer_activations and getattr(layer, "activation", None) is not None:
        table += (f'<tr><td bgcolor="white" colspan="{colspan}"><font point-size="14">Activation: '
                  f'<b>{html.escape(_activation_name(layer))}</b></font></td></tr>')
    cols = []
    if show_shapes:
        if class_name != "InputLayer":
            cols.append(_cell("Input shape", _shapes(entry.input_shapes)))
        cols.append(_cell("Output shape", format_shape(entry.output_shape)))
    if show_dtype:
        cols.append(_cell("Output dtype", entry.output_dtype or "?"))
    if show_trainable and layer.weights:
        color, text = ("forestgreen", "Trainable") if layer.trainable else ("firebrick", "Non-trainable")
        cols.append(f'<td bgcolor="{color}"><font point-size="14" color="white"><b>{text}</b></font></td>')
    if cols:
        table += f"<tr>{''.join(cols)}</tr>"
    return table + "</table>"


def _cell(name, value):
    return f'<td bgcolor="white"><font point-size="14">{name}: <b>{html.escape(str(value))}</b></font></td>'


def _shapes(shapes):
    if shapes is None:
        return "?"
    return format_shape(shapes[0]) if len(shapes) == 1 else f"[{', '.join(format_shape(s) for s in shapes)}]"


def _activation_name(layer):
    name = getattr(layer, "activation_name", None)
    return name or getattr(layer.activation, "__name__", str(layer.activation))


def _pydot(what):
    try:
        import pydot
    except ImportError:
        raise ImportError(_PYDOT_MISSING.format(what)) from None
    return pydot


def model_to_dot(model, show_shapes=False, show_dtype=False, show_layer_names=True, rankdir="TB", expand_nested=False,
                 dpi=200, show_layer_activations=False, show_trainable=False, splines="ortho"):
    """The model's graph as a `pydot.Dot` (needs pydot); `model.to_dot()` gives the same as DOT text
    without it. The arguments are plot_model's.

    >>> dot = keras.utils.model_to_dot(model, show_shapes=True)
    >>> png_bytes = dot.create(format="png")   # needs Graphviz
    """
    pydot = _pydot("model_to_dot")
    return _graph(model, show_shapes=show_shapes, show_dtype=show_dtype, show_layer_names=show_layer_names,
                  rankdir=rankdir, expand_nested=expand_nested, dpi=dpi, show_layer_activations=show_layer_activations,
                  show_trainable=show_trainable, splines=splines).pydot(pydot)


def plot_model(model, to_file="model.png", show_shapes=False, show_dtype=False, show_layer_names=True, rankdir="TB",
               expand_nested=False, dpi=200, show_layer_activations=False, show_trainable=False, splines="ortho"):
    """Draws the model's graph into an image file (the format from its extension: png, svg, pdf, ...;
    png without one), through pydot and Graphviz' `dot` program.

    Args:
        model: a built model (a functional model shows every input, output and branch).
        to_file: the image's path.
        show_shapes: show each layer's input and output shapes.
        show_dtype: show each layer's output dtype.
        show_layer_names: show the layers' names beside their classes.
        rankdir: "TB" (top to bottom), "LR", "BT" or "RL".
        expand_nested: draw nested models' layers in a dashed box.
        dpi: the image's resolution.
        show_layer_activations: show the activation of layers that have one.
        show_trainable: mark each layer with weights trainable or not.
        splines: Graphviz' edge style ("ortho", "spline", "line", ...).

    Returns an IPython Image of the file when IPython is installed and the format is one it shows
    (png, jpg, gif); otherwise None.

    >>> keras.utils.plot_model(model, "multi_input_and_output_model.png", show_shapes=True)
    """
    pydot = _pydot("plot_model")
    if shutil.which("dot") is None:
        raise ImportError(_DOT_MISSING)
    graph = _graph(model, show_shapes=show_shapes, show_dtype=show_dtype, show_layer_names=show_layer_names,
                   rankdir=rankdir, expand_nested=expand_nested, dpi=dpi, show_layer_activations=show_layer_activations,
                   show_trainable=show_trainable, splines=splines)
    to_file = os.fspath(to_file)
    extension = os.path.splitext(to_file)[1][1:] or "png"
    graph.pydot(pydot).write(to_file, format=extension)
    if extension not in ("png", "jpg", "jpeg", "gif"):  # what IPython's Image shows
        return None
    try:
        from IPython import display
    except ImportError:
        return None
    return display.Image(filename=to_file)
