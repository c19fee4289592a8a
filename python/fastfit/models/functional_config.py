"""A functional model's graph as Keras 3's config, and back.

The config lists the layers (each with `inbound_nodes`: the arguments of each call of it in this
model, tensors written as `__keras_tensor__` references `[layer name, node index, tensor index]`),
then `input_layers` and `output_layers` as such references. A tf op called on symbolic tensors (an
OpLayer) is a layer `TFOpLambda` named "tf.<op>" whose node holds the op's arguments. Keras 2's
list-style nodes (`[[name, node, tensor, kwargs]]`) load too.
"""
from ..keras_tensor import fill
from ..layers.input_layer import InputLayer
from ..layers.layer import Layer
from ..layers.op_layer import OpLayer
from ..saving.serialization import deserialize_keras_object, serialize_keras_object


def _node_offset(layer):
    """Keras counts a functional model's own graph as its node 0: its calls start at 1."""
    return 1 if getattr(layer, "_graph", None) is not None else 0


def get_functional_config(model):
    """{"name", "trainable", "layers", "input_layers", "output_layers"} of a functional model."""
    node_of = {id(t): 0 for t in model._input_list}
    calls = {}
    for t in model._graph:
        made = calls.setdefault(id(t._layer), [])
        node_of[id(t)] = len(made) + _node_offset(t._layer)
        made.append(t)

    def ref(t):
        return {"class_name": "__keras_tensor__",
                "config": {"shape": list(t.shape), "dtype": t.dtype, "keras_history": [t._layer.name, node_of[id(t)], 0]}}

    def node(t):
        if isinstance(t._layer, OpLayer):  # a tf op's arguments: tuples stay tuples (an index, a shape)
            args, kwargs = fill(t._layer._template, lambda slot: ref(t._inputs[slot.index]))
            args, kwargs = [_tuples_marked(a) for a in args], _tuples_marked(kwargs)
        elif t._call is not None:
            inputs, args, kwargs = fill(t._call, lambda slot: ref(t._inputs[slot.index]))
            args = [inputs, *args]
        else:
            refs = [ref(i) for i in t._inputs]
            args, kwargs = [refs if t._listed else refs[0]], {}
        return {"args": serialize_keras_object(args), "kwargs": serialize_keras_object(kwargs)}

    names = [layer.name for layer in model.layers]
    for name in dict.fromkeys(n for n in names if names.count(n) > 1):
        raise ValueError(f"The name '{name}' is used {names.count(name)} times in model '{model.name}'. All layer "
                         "names should be unique (the config refers to layers by name).")
    layers = []
    for layer in model.layers:
        entry = serialize_keras_object(layer)
        entry["name"] = layer.name
        entry["inbound_nodes"] = [node(t) for t in calls.get(id(layer), [])]
        layers.append(entry)

    def refs(structure, tensors):
        if isinstance(structure, dict):
            return {k: [t._layer.name, node_of[id(t)], 0] for k, t in zip(structure, tensors)}
        listed = [[t._layer.name, node_of[id(t)], 0] for t in tensors]
        return listed if isinstance(structure, (list, tuple)) else listed[0]
    config = {"name": model.name, "trainable": model.trainable, "layers": layers,
              "input_layers": refs(model._nested_inputs, model._input_list),
              "output_layers": refs(model._nested_outputs, model._output_list)}
    # model.add_loss/add_metric of graph tensors (Keras 3 has no such config: only written when used)
    if model._symbolic_losses:
        config["added_losses"] = [refs(t, [t]) for t in model._symbolic_losses]
    if model._symbolic_metrics:
        config["added_metrics"] = [[refs(t, [t]), name] for t, name in model._symbolic_metrics]
    return config


def functional_from_config(cls, config, custom_objects=None, layer_factory=None):
    """The model `get_functional_config` (or Keras 3, or Keras 2) described, as an instance of `cls`.
    `layer_factory(layer entry)`, if given, makes each layer but the inputs (clone_model)."""
    config = dict(config)
    created, outputs, pending = {}, {}, []
    legacy = any("module" not in data for data in config["layers"])
    for data in config.pop("layers"):
        if layer_factory is not None and data.get("class_name") != "InputLayer":
            layer = layer_factory(data)
        else:
            layer = _layer_from(data, custom_objects)
        if not isinstance(layer, Layer):
            raise ValueError(f"Unexpected object in a functional config, expected a layer, got {type(layer).__name__}")
        created[data["name"]] = layer
        outputs[data["name"]] = [layer.output] if isinstance(layer, InputLayer) else [None] * _node_offset(layer)
        pending += [(data["name"], node) for node in data.get("inbound_nodes", [])]

    def tensor(name, index, _tensor_index=0):
        made = outputs.get(name)
        if made is None:
            raise ValueError(f"Invalid functional config: a node refers to layer '{name}', which is not in `layers`")
        if index >= len(made):
            raise _NotYet()
        return made[index]

    # Nodes run in the order of the layers, each layer's in order; a node whose inputs do not exist
    # yet waits (a layer shared at different depths), until a pass makes no progress.
    while pending:
        waiting = []
        for name, node in pending:
            if waiting and waiting[-1][0] == name:  # keep each layer's calls in their order
                waiting.append((name, node))
                continue
            try:
                args, kwargs = _node_arguments(node, tensor, custom_objects)
            except _NotYet:
                waiting.append((name, node))
                continue
            layer = created[name]
            out = layer.bind(args, kwargs) if isinstance(layer, OpLayer) else layer(*args, **kwargs)
            outputs[name].append(out)
        if len(waiting) == len(pending):
            raise ValueError("Invalid functional config: the graph has loops or nodes whose inputs are missing: "
                             f"{sorted({n for n, _ in waiting})}")
        pending = waiting

    def resolve(structure):
        if _is_ref(structure):
            return tensor(*structure)
        if isinstance(structure, dict):
            return {k: resolve(v) for k, v in structure.items()}
        return [resolve(s) for s in structure]
    inputs, outs = resolve(config.pop("input_layers")), resolve(config.pop("output_layers"))
    if legacy:  # Keras 2 lists every input and output: one of them is the tensor itself, as Keras 2 had it
        inputs, outs = (v[0] if isinstance(v, list) and len(v) == 1 else v for v in (inputs, outs))
    added_losses, added_metrics = config.pop("added_losses", []), config.pop("added_metrics", [])
    model = cls(inputs=inputs, outputs=outs, name=config.pop("name", None), trainable=config.pop("trainable", True),
                **{k: v for k, v in config.items() if k != "dtype"})
    for ref in added_losses:
        model.add_loss(resolve(ref))
    for ref, name in added_metrics:
        model.add_metric(resolve(ref), name=name)
    return model


def _tuples_marked(value):
    """`value` with each tuple inside it as {"class_name": "__tuple__", ...}: JSON has lists only."""
    if isinstance(value, tuple):
        return {"class_name": "__tuple__", "config": {"value": [_tuples_marked(v) for v in value]}}
    if isinstance(value, list):
        return [_tuples_marked(v) for v in value]
    if isinstance(value, dict):
        return {k: _tuples_marked(v) for k, v in value.items()}
    return value


class _NotYet(Exception):
    """A node's input is made by a node not processed yet."""


def _is_ref(value):
    return (isinstance(value, (list, tuple)) and len(value) == 3 and isinstance(value[0], str)
            and isinstance(value[1], int))


def _layer_from(data, custom_objects):
    """A layer entry of the config (Keras 2 entries have no "module": they name layers)."""
    if "module" not in data:
        data = {**data, "module": "keras.layers"}
    return deserialize_keras_object(data, custom_objects)


def _node_arguments(node, tensor, custom_objects):
    """(args, kwargs) of a layer call, its tensors looked up with tensor(name, node, index)."""
    if isinstance(node, list):  # Keras 2: [[name, node, tensor, kwargs], ...]
        if not all(isinstance(entry, list) and len(entry) in (3, 4) and _is_ref(entry[:3]) for entry in node):
            raise ValueError(f"Invalid functional config: a Keras 2 node must be a list of [layer name, node index, "
                             f"tensor index(, kwargs)] entries, got {node}")
        tensors = [tensor(*entry[:3]) for entry in node]
        kwargs = dict(node[0][3]) if node and len(node[0]) > 3 else {}
        kwargs.pop("name", None)
        return [tensors[0] if len(tensors) == 1 else tensors], kwargs

    def revive(value):
        if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
            return tensor(*value["config"]["keras_history"])
        if isinstance(value, dict) and value.get("class_name") == "__tuple__":
            return tuple(revive(v) for v in value["config"]["value"])
        if isinstance(value, dict) and "class_name" in value and "config" in value:
            return deserialize_keras_object(value, custom_objects)
        if isinstance(value, dict):
            return {k: revive(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [revive(v) for v in value]
        return value
    args = revive(node.get("args", []))
    # Keras 3 records the call context (`training=False`, `mask=None`); the model's own call decides
    # them, as in Keras. A `training=True` written by a user stays.
    kwargs = {k: v for k, v in revive(node.get("kwargs", {})).items()
              if v is not None and not (k == "training" and v is False)}
    return args, kwargs

