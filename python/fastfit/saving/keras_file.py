"""The `.keras` file: a zip holding `metadata.json`, `config.json` (the model, its layers and its
compile() arguments, as Keras 3 writes them) and `model.weights.h5` (weights and optimizer state, in
Keras 3's layout: weights_h5.py). Keras 3 loads fastfit's files and fastfit loads Keras 3's, for models
made of layers both have."""
import datetime
import io
import json
import zipfile
import zlib

from .atomic import atomic_path
from .errors import check_exists, file_error
from .serialization import deserialize_keras_object, serialize_keras_object
from .weights_h5 import h5py_module, read_weights, write_weights

KERAS_VERSION = "3.15.1"  # the Keras release whose config keys and file layout fastfit writes
CONFIG, METADATA, WEIGHTS = "config.json", "metadata.json", "model.weights.h5"


def save_keras_file(model, filepath, overwrite=True):
    """Writes `model` to the .keras file `filepath`, atomically."""
    h5py = h5py_module()
    config = json.dumps(serialize_keras_object(model))
    metadata = json.dumps({"keras_version": KERAS_VERSION, "fastfit_version": _fastfit_version(),
                           "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S")})
    with atomic_path(filepath, overwrite) as tmp:
        weights = io.BytesIO()
        with h5py.File(weights, "w") as h5:
            write_weights(model, h5)
        with zipfile.ZipFile(tmp, "w") as zf:
            zf.writestr(METADATA, metadata)
            zf.writestr(CONFIG, config)
            zf.writestr(WEIGHTS, weights.getvalue())


def _fastfit_version():
    import fastfit
    return fastfit.__version__


def open_archive(filepath):
    """The .keras file as an open ZipFile, or an error naming the file and what is wrong with it."""
    check_exists(filepath)
    try:
        zf = zipfile.ZipFile(filepath)
    except (zipfile.BadZipFile, EOFError) as e:
        raise file_error(filepath, f"it is not a .keras archive (a complete zip file): it is truncated, corrupt or "
                                   f"another kind of file ({e})") from None
    if CONFIG not in zf.namelist():
        names = zf.namelist()
        zf.close()
        raise file_error(filepath, f"it is a zip archive but not a Keras model: it has no {CONFIG} (it holds "
                                   f"{names[:5]}{'...' if len(names) > 5 else ''})")
    return zf


def read_member(zf, name, filepath):
    """The bytes of one member, with an error naming the file if it is missing or damaged."""
    if name not in zf.namelist():
        raise file_error(filepath, f"the archive has no {name}")
    try:
        return zf.read(name)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as e:
        raise file_error(filepath, f"its {name} is corrupt ({e})") from None


def load_keras_file(filepath, custom_objects=None, compile=True, safe_mode=True):
    """The model a .keras file holds, compiled as it was saved (unless compile=False), with its
    weights and optimizer state."""
    with open_archive(filepath) as zf:
        try:
            config = json.loads(read_member(zf, CONFIG, filepath))
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise file_error(filepath, f"its {CONFIG} is not valid JSON ({e})") from None
        if not isinstance(config, dict) or "class_name" not in config:
            raise file_error(filepath, f"its {CONFIG} does not describe a model")
        if not compile:
            config["compile_config"] = None
        model = deserialize_keras_object(config, custom_objects, safe_mode=safe_mode)
        load_weights_member(model, zf, filepath)
    return model


def load_weights_member(model, zf, filepath, skip_mismatch=False):
    """Sets the model's weights from the archive's model.weights.h5."""
    h5py = h5py_module()
    data = read_member(zf, WEIGHTS, filepath)
    try:
        h5 = h5py.File(io.BytesIO(data), "r")
    except OSError as e:
        raise file_error(filepath, f"its {WEIGHTS} is not a readable HDF5 file ({e})") from None
    with h5:
        try:
            read_weights(model, h5, filepath, skip_mismatch)
        except (OSError, KeyError) as e:  # h5py on damaged data
            raise file_error(filepath, f"its {WEIGHTS} is damaged ({e})") from None
