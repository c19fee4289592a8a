"""Weights in Keras 3's HDF5 layout (`model.weights.h5` inside a `.keras` file, or a `.weights.h5`).

Each object with state has a group `<path>/vars` (attribute `name`) holding its own variables as
datasets "0", "1", ... (trainable ones first). Paths follow the model's attributes as Keras 3 walks
them: `layers/<class in snake_case, numbered>` for a Functional or Sequential model's layers, the
attribute names of a subclassed model (`dense1`, `blocks/dense_1`, ...), `optimizer` for the
optimizer's variables, and `vars` for the model's own. fastfit also keeps the random-generator state
of Dropout-like layers under `<layer path>/seed_generator/vars` (Keras does not save it, and ignores it
when loading), so a model loaded back continues its random stream.
"""
import numpy as np

from .. import backend
from ..layers.layer import Layer
from .errors import file_error

_INTERNAL = frozenset({"_sublayers", "_layers", "_stack"})  # base-class lists of layers: walked as "layers"


def h5py_module():
    try:
        import h5py
    except ImportError:
        raise ImportError("Saving and loading weights (.keras, .weights.h5, .h5) needs h5py: `pip install h5py` "
                          "(or `pip install fastfit[h5]`).") from None
    return h5py


def own_variables(layer):
    """The variables a layer saves under its own path: its weights, not its sublayers', trainable
    ones first (Keras' order)."""
    own = list(layer.__dict__.get("_weights", []))
    return [v for v in own if v.trainable] + [v for v in own if not v.trainable]


def _class_key(obj):
    from .serialization import keras_public_name
    public = keras_public_name(obj)
    return backend.snake_case(public[1] if public else type(obj).__name__)


def _name_key(name):
    return f"~{name}" if name.startswith("_") else name  # private attributes last, as Keras visits them


def _children(obj):
    """(attribute path, child) pairs as Keras 3 walks them: a model's `layers` first, then the other
    attributes in sorted order; a child is a layer, an optimizer, or a list/tuple/dict of them."""
    from ..models import Model, Sequential
    out = []
    if isinstance(obj, Sequential) or (isinstance(obj, Model) and obj._graph is not None):
        out.append(("layers", obj.layers))
    attrs = {k: v for k, v in vars(obj).items() if k not in _INTERNAL}
    if isinstance(obj, Model) and obj.optimizer is not None:
        attrs["optimizer"] = obj.optimizer
    for name in sorted(attrs, key=_name_key):
        value = attrs[name]
        if isinstance(value, Layer) or _is_optimizer(value) or (isinstance(value, (list, tuple, dict)) and value):
            out.append((name, value))
    return out


def _is_optimizer(value):
    from ..optimizers import Optimizer
    return isinstance(value, Optimizer)


def walk(model):
    """(path, object) for every layer and optimizer whose state a weights file holds, as Keras 3
    names them; each object once (at its first path)."""
    seen, out = set(), []

    def visit(obj, path):
        if id(obj) in seen:
            return
        seen.add(id(obj))
        out.append((path, obj))
        for name, child in _children(obj) if isinstance(obj, Layer) else ():
            join = f"{path}/{name}" if path else name
            if isinstance(child, (list, tuple, dict)):
                container(child, join, set())
            else:
                visit(child, join)

    def container(items, path, visited):
        if id(items) in visited:
            return
        visited.add(id(items))
        used = {}
        for item in items.values() if isinstance(items, dict) else items:
            if isinstance(item, Layer) or _is_optimizer(item):
                visit(item, f"{path}/{_unique(_class_key(item), used)}")
            elif isinstance(item, (list, tuple, dict)):
                container(item, f"{path}/{_unique('container', used)}", visited)

    visit(model, "")
    return out


def _unique(name, used):
    if name in used:
        used[name] += 1
        return f"{name}_{used[name]}"
    used[name] = 0
    return name


def _state(obj):
    """(variables, seed-generator states) an object saves."""
    if _is_optimizer(obj):
        return obj.variables, []
    return own_variables(obj), list(obj.__dict__.get("_seed_states", []))


def _vars_group(h5, path, name):
    group = h5.require_group(f"{path}/vars" if path else "vars")
    if name is not None:
        group.attrs["name"] = name
    return group


def write_weights(model, h5):
    """Writes the model's (and its optimizer's) state into the open h5py File `h5`."""
    for path, obj in walk(model):
        variables, seeds = _state(obj)
        group = _vars_group(h5, path, getattr(obj, "name", None))
        for i, v in enumerate(variables):
            group.create_dataset(str(i), data=np.asarray(v.numpy()))
        if seeds:
            seed_group = _vars_group(h5, f"{path}/seed_generator" if path else "seed_generator", None)
            for i, v in enumerate(seeds):
                seed_group.create_dataset(str(i), data=v.numpy())


def _datasets(group):
    """The datasets "0".."n-1" of a vars group, in order."""
    return [group[str(i)] for i in range(len(group))] if group is not None else []


def read_weights(model, h5, filepath, skip_mismatch=False):
    """Sets the model's (and its optimizer's) state from the open h5py File `h5` (Keras 3 layout).
    Raises ValueError naming `filepath`, the layer and what differs when the file does not fit."""
    import warnings
    problems, used = [], set()

    def group_at(path):
        key = f"{path}/vars" if path else "vars"
        return h5[key] if key in h5 else None

    used.add("optimizer/vars")  # an uncompiled model takes the weights without the optimizer state
    plan, notes = [], []  # (variable, value): nothing is assigned until the whole file has been checked
    for path, obj in walk(model):
        variables, seeds = _state(obj)
        group = group_at(path)
        used.add(f"{path}/vars" if path else "vars")
        where = f"'{getattr(obj, 'name', path)}' (path '{path or '/'}')"
        if _is_optimizer(obj):
            stored = _datasets(group)
            if not stored:
                continue  # saved before compile(): the optimizer keeps its state
            if len(stored) != len(variables) and not obj.built:  # saved after steps: the slots exist
                obj.build(model.trainable_weights)
                variables = obj.variables
            if len(stored) != len(variables):
                notes.append(f"{filepath}: the optimizer state holds {len(stored)} variables, the optimizer "
                             f"'{obj.name}' has {len(variables)}: its state is not loaded.")
                continue
        else:
            stored = _datasets(group)
            if len(stored) != len(variables):
                problems.append(f"layer {where} expects {len(variables)} variables, the file holds {len(stored)}")
                continue
        for v, d in zip(variables, stored):
            if tuple(d.shape) != tuple(v.shape):
                problems.append(f"{where}: variable {getattr(v, 'path', v.name)} has shape {tuple(v.shape)}, "
                                f"the file holds shape {tuple(d.shape)}")
            else:
                plan.append((v, d[()]))
        seed_path = f"{path}/seed_generator" if path else "seed_generator"
        used.add(f"{seed_path}/vars")
        stored_seeds = _datasets(group_at(seed_path))
        if len(stored_seeds) == len(seeds):  # a Keras file has none: the layer keeps its fresh state
            plan += [(v, d[()]) for v, d in zip(seeds, stored_seeds)]
    stored_groups = [k for k in _vars_groups(h5) if not k.startswith("optimizer/") and "seed_generator" not in k]
    own = [path for path, obj in walk(model) if not _is_optimizer(obj) and _state(obj)[0]]
    if len(own) != len(stored_groups):
        problems.insert(0, f"the model has {len(own)} layers with weights, the file holds {len(stored_groups)}")
    extra = sorted(k for k in _vars_groups(h5) if k not in used)
    if extra:
        problems.append(f"the file holds weights the model has no place for: {extra}")
    if problems and not skip_mismatch:
        raise file_error(filepath, "its weights do not fit this model (another architecture?): "
                         + "; ".join(problems[:5]) + ("; ..." if len(problems) > 5 else ""))
    if problems:
        notes.append(f"{filepath}: skipped weights that do not fit: " + "; ".join(problems))
    for note in notes:
        warnings.warn(note, stacklevel=3)
    for v, value in plan:
        v.assign(np.asarray(value))


def _vars_groups(h5):
    """Paths of the non-empty `vars` groups in the file."""
    h5py = h5py_module()
    found = []

    def visit(name, obj):
        if isinstance(obj, h5py.Group) and name.split("/")[-1] == "vars" and len(obj):
            found.append(name)
    h5.visititems(visit)
    return found
