"""save_model / load_model / save_weights / load_weights: the file kind chosen by the extension, with
Keras 3's rules and errors; model_from_json and clone_model."""
import contextlib
import os
import warnings
import zipfile

from .. import backend
from . import keras_file, legacy_h5
from .errors import check_exists, file_error
from .serialization import deserialize_keras_object
from .weights_h5 import h5py_module, read_weights, write_weights
from .atomic import atomic_path


@contextlib.contextmanager
def random_state_kept():
    """Building a model to load weights into draws from the global generator (initializers, Dropout
    seeds); loading is not meant to move it, so that a run that saves and loads draws what an
    uninterrupted one draws (fit's shuffle order)."""
    generator = backend.rng()
    state = generator.bit_generator.state
    try:
        yield
    finally:
        generator.bit_generator.state = state


def save_model(model, filepath, overwrite=True, zipped=None, **kwargs):
    """Saves `model` to `filepath`: `.keras` (Keras 3's format) or `.h5`/`.hdf5` (Keras 2's), atomically.
    `include_optimizer=False` (for .h5) leaves the optimizer state out."""
    include_optimizer = kwargs.pop("include_optimizer", True)
    save_format = kwargs.pop("save_format", None)
    matching = {"keras": (".keras",), "h5": (".h5", ".hdf5")}.get(save_format, ())
    if save_format is not None and not str(filepath).endswith(matching):
        raise ValueError("The `save_format` argument is deprecated in Keras 3. Please remove this argument and pass "
                         f"a file path with either `.keras` or `.h5` extension. Received: save_format={save_format}")
    if kwargs:
        raise ValueError(f"The following argument(s) are not supported: {list(kwargs)}")
    if zipped is False:
        raise NotImplementedError("save: `zipped=False` (an unzipped model folder) is not supported yet")
    filepath = os.fspath(filepath)
    if not model.built:
        warnings.warn("You are saving a model that has not yet been built. It might not contain any weights yet. "
                      "Consider building the model first by calling it on some data.", stacklevel=3)
    if filepath.endswith(".keras"):
        if not include_optimizer:
            raise NotImplementedError("save: `include_optimizer=False` applies to .h5 files only (as in Keras)")
        keras_file.save_keras_file(model, filepath, overwrite)
    elif filepath.endswith((".h5", ".hdf5")):
        legacy_h5.save_h5_model(model, filepath, overwrite, include_optimizer)
    else:
        raise ValueError("Invalid filepath extension for saving. Please add either a `.keras` extension for the "
                         "native Keras format (recommended) or a `.h5` extension. Received: filepath="
                         f"{filepath}.")


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """The model saved at `filepath` (`.keras`, or a Keras 2 `.h5`), compiled as it was saved unless
    `compile=False`, with its weights and optimizer state.

    >>> model = keras.models.load_model("model.keras", custom_objects={"MyLayer": MyLayer})

    Args:
        custom_objects: {name: class or function} for the objects of your own the file names.
        compile: whether to compile the model with the saved compile() arguments.
        safe_mode: False allows loading Lambda layers' lambdas (which runs their code).
    """
    filepath = os.fspath(filepath)
    check_exists(filepath)
    with random_state_kept():
        if filepath.endswith((".h5", ".hdf5")):
            return legacy_h5.load_h5_model(filepath, custom_objects, compile, safe_mode)
        if filepath.endswith(".keras") or zipfile.is_zipfile(filepath):
            return keras_file.load_keras_file(filepath, custom_objects, compile, safe_mode)
    raise file_error(filepath, "the file extension is not .keras or .h5 (and it is not a .keras archive)")


def save_weights(model, filepath, overwrite=True, max_shard_size=None):
    """Saves the model's weights and optimizer state to a `.weights.h5` file (Keras 3's layout)."""
    if max_shard_size is not None:
        raise NotImplementedError("save_weights: `max_shard_size` (sharded weights) is not supported yet")
    filepath = os.fspath(filepath)
    if not filepath.endswith(".weights.h5"):
        raise ValueError(f"The filename must end in `.weights.h5`. Received: filepath={filepath}")
    if not model.built:
        raise ValueError("You are saving a model that has not yet been built. Try building the model first by "
                         "calling it on some data or by using `build()`.")
    h5py = h5py_module()
    with atomic_path(filepath, overwrite) as tmp:
        with h5py.File(tmp, "w") as h5:
            write_weights(model, h5)


def load_weights(model, filepath, skip_mismatch=False, **kwargs):
    """Loads weights (and optimizer state) into `model` from a `.weights.h5`, `.keras` or `.h5` file."""
    if kwargs.pop("by_name", False):
        raise NotImplementedError("load_weights: `by_name=True` is not supported (Keras 3 dropped it)")
    if kwargs:
        raise ValueError(f"Invalid keyword arguments: {kwargs}")
    filepath = os.fspath(filepath)
    check_exists(filepath)
    if not model.built:
        raise ValueError("You are loading weights into a model that has not yet been built. Try building the model "
                         "first by calling it on some data or by using `build()`.")
    if filepath.endswith(".keras"):
        with keras_file.open_archive(filepath) as zf:
            keras_file.load_weights_member(model, zf, filepath, skip_mismatch)
    elif filepath.endswith(".weights.h5"):
        with open_h5(filepath) as h5:
            if "model_weights" in h5 or "layer_names" in h5.attrs:  # a Keras 2 file named .weights.h5
                legacy_h5.read_legacy_weights(model, h5, filepath, skip_mismatch)
            else:
                read_weights(model, h5, filepath, skip_mismatch)
    elif filepath.endswith((".h5", ".hdf5")):
        with open_h5(filepath) as h5:
            legacy_h5.read_legacy_weights(model, h5, filepath, skip_mismatch)
    else:
        raise ValueError("File format not supported: filepath="
                         f"{filepath}. Keras 3 only supports V3 `.keras` and `.weights.h5` files, or legacy "
                         "V1/V2 `.h5` files.")


def open_h5(filepath):
    """The HDF5 file, opened for reading, or an error naming it."""
    h5py = h5py_module()
    try:
        return h5py.File(filepath, "r")
    except OSError as e:
        raise file_error(filepath, f"it is not a readable HDF5 file: truncated, corrupt or another kind of file "
                                   f"({e})") from None


def model_from_json(json_string, custom_objects=None):
    """The (uncompiled, freshly initialised) model `model.to_json()` described."""
    import json
    config = json.loads(json_string)
    config.pop("compile_config", None)
    return model_from_config(config, custom_objects)


def model_from_config(config, custom_objects=None):
    """The model a config dict (`serialize_keras_object(model)`, or Keras 2's `{"class_name", "config"}`)
    describes."""
    with random_state_kept():
        return deserialize_keras_object({"module": "keras", **config}, custom_objects)


def clone_model(model, input_tensors=None, clone_function=None, call_function=None, recursive=False, **kwargs):
    """A new model of the same architecture with freshly initialised weights, as
    `keras.models.clone_model`: each layer of a functional or Sequential model is rebuilt from its
    config (or by `clone_function(layer)`); a subclassed model from its own config.

    >>> copy = keras.models.clone_model(model)
    >>> copy.set_weights(model.get_weights())
    """
    for name, value in (("input_tensors", input_tensors), ("call_function", call_function)):
        if value is not None:
            raise NotImplementedError(f"clone_model: `{name}` is not supported yet")
    if recursive or kwargs:
        raise NotImplementedError(f"clone_model: {'`recursive`' if recursive else sorted(kwargs)} is not supported yet")
    from ..layers.input_layer import Input
    from ..models import Sequential
    from ..models.functional_config import functional_from_config
    clone_function = clone_function or (lambda layer: type(layer).from_config(layer.get_config()))
    with random_state_kept():
        if isinstance(model, Sequential):
            clone = Sequential(name=model.name)
            if model._input_shape is not None:
                clone.add(Input(shape=model._input_shape[1:], dtype=model._input_spec[1]))
            for layer in model.layers:
                clone.add(clone_function(layer))
            return clone
        if model._graph is None:
            return type(model).from_config(model.get_config())
        return functional_from_config(type(model), model.get_config(),
                                      layer_factory=lambda data: clone_function(model.get_layer(data["name"])))
