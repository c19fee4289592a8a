"""Keras 2's whole-model HDF5 file (`model.save("model.h5")`), written and read.

Layout: root attributes `model_config` (the model's config as JSON), `training_config` (compile()'s
arguments and `optimizer_config`), `keras_version` and `backend`; group `model_weights` (attribute
`layer_names`) with a group per layer (attribute `weight_names`, e.g. `dense/kernel:0`) holding the
datasets under those names (`model_weights/dense/dense/kernel:0`); group `optimizer_weights` likewise.
Weights load by position among the layers that have weights, as Keras does.
"""
import json
import warnings

import numpy as np

from .atomic import atomic_path
from .errors import file_error
from .keras_file import KERAS_VERSION
from .serialization import deserialize_keras_object, serialize_keras_object
from .weights_h5 import h5py_module

_BACKEND = "tensorflow"  # the weight layouts (kernels HWIO, ...) are TensorFlow's, which is what readers check


def _layer_weights(layer):
    """A layer's weights in the order Keras 2 saves them: trainable, then non-trainable."""
    return layer.trainable_weights + layer.non_trainable_weights


def _strings(values):
    return np.array([v.encode("utf8") for v in values], dtype="S") if values else np.array([], dtype="S1")


def _decoded(values):
    return [v.decode("utf8") if isinstance(v, bytes) else str(v) for v in values]


def _without_module(entry):
    """A layer entry as Keras' legacy config writes it (no module, registered name or build config)."""
    return {k: v for k, v in entry.items() if k not in ("module", "registered_name", "build_config")}


def legacy_model_config(model):
    """{"class_name", "config"} of the model, its layers' entries without modules."""
    full = serialize_keras_object(model)
    config = dict(full["config"])
    if isinstance(config.get("layers"), list):
        config["layers"] = [_without_module(e) for e in config["layers"]]
    return {"class_name": full["class_name"], "config": config}


def save_h5_model(model, filepath, overwrite=True, include_optimizer=True):
    """Writes the whole model in Keras 2's HDF5 layout, atomically."""
    h5py = h5py_module()
    with atomic_path(filepath, overwrite) as tmp:
        with h5py.File(tmp, "w") as f:
            f.attrs["keras_version"] = KERAS_VERSION.encode("utf8")
            f.attrs["backend"] = _BACKEND.encode("utf8")
            f.attrs["model_config"] = json.dumps(legacy_model_config(model)).encode("utf8")
            compile_config = model.get_compile_config()
            if compile_config is not None and include_optimizer:
                compile_config["loss"] = _loss_names(compile_config["loss"])
                training = serialize_keras_object({k: v for k, v in compile_config.items() if k != "optimizer"})
                optimizer = serialize_keras_object(compile_config["optimizer"])
                training["optimizer_config"] = {"class_name": optimizer["class_name"], "config": optimizer["config"]}
                f.attrs["training_config"] = json.dumps(training).encode("utf8")
            write_legacy_weights(model, f.create_group("model_weights"))
            if include_optimizer and model.optimizer is not None and model.optimizer.built:
                variables = model.optimizer.variables
                group = f.create_group("optimizer_weights")
                names = [f"{v.path}:0" for v in variables]
                group.attrs["weight_names"] = _strings(names)
                for name, v in zip(names, variables):
                    group.create_dataset(name, data=np.asarray(v.numpy()))


def _loss_names(spec):
    """Loss aliases ("mse") as their functions' names: Keras 3 reads only those from an .h5 file."""
    from .. import losses
    if isinstance(spec, str):
        fn = losses.ALL_OBJECTS_DICT.get(spec)
        return getattr(fn, "__name__", spec) if callable(fn) and not isinstance(fn, type) else spec
    if isinstance(spec, dict):
        return {k: _loss_names(v) for k, v in spec.items()}
    return [_loss_names(v) for v in spec] if isinstance(spec, (list, tuple)) else spec


def write_legacy_weights(model, group):
    """Each layer's weights under `<layer name>/<weight path>:0`, as Keras 2 writes them."""
    group.attrs["layer_names"] = _strings([layer.name for layer in model.layers])
    group.attrs["backend"] = _BACKEND.encode("utf8")
    group.attrs["keras_version"] = KERAS_VERSION.encode("utf8")
    for layer in sorted(model.layers, key=lambda layer: layer.name):
        weights = _layer_weights(layer)
        layer_group = group.create_group(layer.name)
        names = [f"{getattr(w, 'path', w.name)}:0" for w in weights]
        layer_group.attrs["weight_names"] = _strings(names)
        for name, w in zip(names, weights):
            layer_group.create_dataset(name, data=np.asarray(w.numpy()))


def _weight_values(group):
    return [np.asarray(group[name]) for name in _decoded(group.attrs.get("weight_names", []))]


def read_legacy_weights(model, f, filepath, skip_mismatch=False):
    """Sets the model's weights from a Keras 2 style file: the saved layers that have weights, in
    order, go to the model's layers that have weights, in order."""
    group = f["model_weights"] if "model_weights" in f else f
    if "layer_names" not in group.attrs:
        raise file_error(filepath, "it is an HDF5 file but holds no Keras weights (no `layer_names`)")
    try:
        saved = [(name, _weight_values(group[name])) for name in _decoded(group.attrs["layer_names"])]
    except KeyError as e:
        raise file_error(filepath, f"it is damaged: a layer listed in `layer_names` is missing ({e})") from None
    saved = [(name, values) for name, values in saved if values]
    layers = [layer for layer in model.layers if _layer_weights(layer)]
    if len(saved) != len(layers):
        raise file_error(filepath, f"layer count mismatch: the model has {len(layers)} layers with weights, the file "
                                   f"holds {len(saved)} ({[n for n, _ in saved]})")
    plan, problems = [], []
    for (name, values), layer in zip(saved, layers):
        weights = _layer_weights(layer)
        if len(values) != len(weights):
            problems.append(f"layer '{layer.name}' (saved as '{name}') expects {len(weights)} weights, the file holds "
                            f"{len(values)}")
            continue
        for w, value in zip(weights, values):
            if tuple(value.shape) != tuple(w.shape):
                problems.append(f"layer '{layer.name}' (saved as '{name}'): weight {w.name} has shape {tuple(w.shape)}, "
                                f"the file holds {tuple(value.shape)}")
            else:
                plan.append((w, value))
    if problems and not skip_mismatch:
        raise file_error(filepath, "its weights do not fit this model: " + "; ".join(problems[:5]))
    if problems:
        warnings.warn(f"{filepath}: skipped weights that do not fit: " + "; ".join(problems), stacklevel=3)
    for w, value in plan:
        w.assign(value)


def _attr_json(f, key):
    value = f.attrs.get(key)
    if value is None:
        return None
    return json.loads(value.decode("utf8") if isinstance(value, bytes) else value)


def load_h5_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """The model a Keras 2 (or Keras 3 legacy) `.h5` file holds, compiled unless compile=False."""
    from .saving_api import open_h5
    with open_h5(filepath) as f:
        try:
            config = _attr_json(f, "model_config")
        except json.JSONDecodeError as e:
            raise file_error(filepath, f"its model_config is not valid JSON ({e})") from None
        if not isinstance(config, dict) or "class_name" not in config:
            raise file_error(filepath, "it holds no model config (`model_config`): a weights-only file? Build the "
                                       "model and call `model.load_weights()`")
        model = deserialize_keras_object({"module": "keras", **config}, custom_objects, safe_mode=safe_mode)
        read_legacy_weights(model, f, filepath)
        training = _attr_json(f, "training_config") if compile else None
        if training is not None:
            _compile(model, training, custom_objects)
            if "optimizer_weights" in f:
                _load_optimizer(model, f["optimizer_weights"], filepath)
    return model


def _compile(model, training, custom_objects):
    """compile() with a training_config's arguments (Keras 2 wrote objects without their module)."""
    from .serialization import builtin_tables
    optimizer = dict(training.get("optimizer_config") or {"class_name": "RMSprop", "config": {}})
    optimizer.setdefault("module", "keras.optimizers")
    args = {"optimizer": deserialize_keras_object(optimizer, custom_objects)}
    families = {"loss": "losses", "metrics": "metrics", "weighted_metrics": "metrics", "loss_weights": None}
    for key, family in families.items():
        value = training.get(key)
        args[key] = value if value is None or isinstance(value, str) else deserialize_keras_object(
            value, custom_objects, module_objects=builtin_tables()[family] if family else None)
    for key in ("run_eagerly", "steps_per_execution", "jit_compile"):
        if key in training:
            args[key] = training[key]
    model.compile(**args)


def _load_optimizer(model, group, filepath):
    values = _weight_values(group)
    optimizer = model.optimizer
    optimizer.build(model.trainable_weights)
    variables = optimizer.variables
    if len(values) != len(variables) or any(tuple(a.shape) != tuple(v.shape) for a, v in zip(values, variables)):
        warnings.warn(f"{filepath}: the saved optimizer state ({len(values)} variables) does not fit optimizer "
                      f"'{optimizer.name}' ({len(variables)} variables); it starts afresh.", stacklevel=3)
        return
    for v, value in zip(variables, values):
        v.assign(value)
