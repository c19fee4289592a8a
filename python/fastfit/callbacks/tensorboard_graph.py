"""The model's layer graph as a GraphDef, the graph TensorBoard's Graphs tab draws: a node per layer
(its class as the op, its output shape) and an edge per connection."""
from ..utils import model_graph


def write_graph(writer, model):
    """Adds the graph of `model` to the run of `writer` (a tensorboardX SummaryWriter)."""
    from tensorboardX.proto import event_pb2
    event = event_pb2.Event(graph_def=graph_def(model).SerializeToString())
    writer._get_file_writer().add_event(event)  # tensorboardX's public add_graph takes PyTorch models only


def graph_def(model):
    from tensorboardX.proto import graph_pb2, versions_pb2
    entries = model_graph.model_layers(model)
    inputs = {}
    for source, destination in model_graph.edges(model, entries):
        inputs.setdefault(id(destination), []).append(source.name)
    graph = graph_pb2.GraphDef(versions=versions_pb2.VersionDef(producer=22))
    for entry in entries:
        node = graph.node.add(name=entry.layer.name, op=type(entry.layer).__name__)
        node.input.extend(inputs.get(id(entry.layer), []))
        if entry.output_shape is not None:
            shape = node.attr["_output_shapes"].list.shape.add()
            for d in entry.output_shape:
                shape.dim.add(size=-1 if d is None else int(d))
    return graph
