"""Loading what is not a good file raises a clear error naming the file and what is wrong: missing,
truncated, corrupt, foreign, or the weights of another architecture; bad arguments to the savers."""
import builtins
import json
import zipfile

import numpy as np
import pytest

import fastfit as keras
from fastfit import layers

pytest.importorskip("h5py")


def _model(units=3, hidden=4, seed=0):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input(shape=(5,)), layers.Dense(hidden, activation="relu"), layers.Dense(units)])
    model.compile("adam", "mse")
    return model


@pytest.fixture
def saved(tmp_path):
    model = _model()
    for name in ("m.keras", "m.h5", "m.weights.h5"):
        (model.save_weights if name.endswith("weights.h5") else model.save)(tmp_path / name)
    return tmp_path


@pytest.mark.parametrize("name", ["nope.keras", "nope.h5"])
def test_missing_file(tmp_path, name):
    with pytest.raises(FileNotFoundError, match=f"No file or directory found at .*{name}"):
        keras.models.load_model(tmp_path / name)
    with pytest.raises(FileNotFoundError, match=name):
        _model().load_weights(tmp_path / name)


@pytest.mark.parametrize("name", ["m.keras", "m.h5", "m.weights.h5"])
@pytest.mark.parametrize("keep", [0.5, 0.95])
def test_truncated_file(saved, name, keep):
    path = saved / name
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * keep)])
    with pytest.raises(ValueError, match=f"Cannot load '.*{name}': .*(truncated|corrupt|damaged)"):
        if name.endswith("weights.h5"):
            _model().load_weights(path)
        else:
            keras.models.load_model(path)


def test_corrupt_member_of_a_keras_file(saved):
    path = saved / "m.keras"
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("model.weights.h5")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    data[start + info.compress_size // 2] ^= 0xFF  # one flipped byte inside the weights member: CRC fails
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"Cannot load '.*m.keras': its model.weights.h5 is corrupt"):
        keras.models.load_model(path)


def test_foreign_files(tmp_path):
    foreign = tmp_path / "foreign.keras"
    with zipfile.ZipFile(foreign, "w") as zf:
        zf.writestr("readme.txt", "hello")
    with pytest.raises(ValueError, match=r"foreign.keras': it is a zip archive but not a Keras model: it has no "
                                         r"config.json \(it holds \['readme.txt'\]\)"):
        keras.models.load_model(foreign)
    text = tmp_path / "text.keras"
    text.write_text("not a zip")
    with pytest.raises(ValueError, match=r"text.keras': it is not a .keras archive"):
        keras.models.load_model(text)
    bad_json = tmp_path / "bad.keras"
    with zipfile.ZipFile(bad_json, "w") as zf:
        zf.writestr("config.json", "{not json")
    with pytest.raises(ValueError, match=r"bad.keras': its config.json is not valid JSON"):
        keras.models.load_model(bad_json)
    with pytest.raises(ValueError, match=r"text.h5': it is not a readable HDF5 file"):
        (tmp_path / "text.h5").write_text("not hdf5")
        keras.models.load_model(tmp_path / "text.h5")
    with pytest.raises(ValueError, match=r"other.bin': the file extension is not .keras or .h5"):
        (tmp_path / "other.bin").write_text("x")
        keras.models.load_model(tmp_path / "other.bin")


def test_weights_only_h5_is_not_a_model(saved):
    import h5py
    with h5py.File(saved / "w.h5", "w") as f:
        f.create_group("model_weights")
    with pytest.raises(ValueError, match=r"w.h5': it holds no model config .*load_weights"):
        keras.models.load_model(saved / "w.h5")


@pytest.mark.parametrize("name", ["m.keras", "m.weights.h5", "m.h5"])
def test_weights_of_another_architecture(saved, name):
    wider = _model(hidden=6)  # same layers, other shapes
    before = wider.get_weights()
    with pytest.raises(ValueError, match=rf"Cannot load '.*{name}': .*has shape \(5, 6\), the file holds (shape )?"
                                         rf"\(5, 4\)"):
        wider.load_weights(saved / name)
    for a, b in zip(before, wider.get_weights()):  # nothing was half loaded
        np.testing.assert_array_equal(a, b)
    deeper = keras.Sequential([keras.Input(shape=(5,)), layers.Dense(4), layers.Dense(4), layers.Dense(3)])
    with pytest.raises(ValueError, match=rf"Cannot load '.*{name}': .*(the model has 3 layers with weights, the "
                                         rf"file holds 2|layer count mismatch: the model has 3 layers with weights, "
                                         rf"the file holds 2)"):
        deeper.load_weights(saved / name)
    shallower = keras.Sequential([keras.Input(shape=(5,)), layers.Dense(3)])
    with pytest.raises(ValueError, match=rf"Cannot load '.*{name}'"):
        shallower.load_weights(saved / name)


def test_skip_mismatch_warns_and_loads_what_fits(saved):
    other = keras.Sequential([keras.Input(shape=(5,)), layers.Dense(4, activation="relu"), layers.Dense(2)])
    with pytest.warns(UserWarning, match="skipped weights that do not fit"):
        other.load_weights(saved / "m.weights.h5", skip_mismatch=True)
    np.testing.assert_array_equal(other.layers[0].get_weights()[0], _model().layers[0].get_weights()[0])


def test_saver_arguments(tmp_path):
    model = _model()
    with pytest.raises(ValueError, match="Invalid filepath extension for saving"):
        model.save(tmp_path / "m.tf")
    with pytest.raises(ValueError, match=r"The filename must end in `.weights.h5`"):
        model.save_weights(tmp_path / "m.h5")
    with pytest.raises(ValueError, match="`save_format` argument is deprecated"):
        model.save(tmp_path / "m.keras", save_format="tf")
    with pytest.raises(ValueError, match=r"not supported: \['options'\]"):
        model.save(tmp_path / "m.keras", options=1)
    with pytest.raises(NotImplementedError, match="zipped=False"):
        model.save(tmp_path / "m.keras", zipped=False)
    with pytest.raises(NotImplementedError, match="max_shard_size"):
        model.save_weights(tmp_path / "m.weights.h5", max_shard_size=1)
    model.save(tmp_path / "m.keras")
    with pytest.raises(FileExistsError, match="overwrite=False"):
        model.save(tmp_path / "m.keras", overwrite=False)
    with pytest.raises(ValueError, match="not yet been built"):
        keras.Sequential([layers.Dense(2)]).save_weights(tmp_path / "u.weights.h5")
    (tmp_path / "m.txt").write_text("x")
    with pytest.raises(ValueError, match="File format not supported"):
        model.load_weights(tmp_path / "m.txt")
    with pytest.raises(NotImplementedError, match="by_name"):
        model.load_weights(tmp_path / "m.keras", by_name=True)


def test_missing_h5py_is_named(monkeypatch, tmp_path):
    real_import = builtins.__import__

    def no_h5py(name, *args, **kwargs):
        if name == "h5py":
            raise ImportError("No module named 'h5py'")
        return real_import(name, *args, **kwargs)
    monkeypatch.setattr(builtins, "__import__", no_h5py)
    with pytest.raises(ImportError, match=r"needs h5py: `pip install h5py` \(or `pip install fastfit\[h5\]`\)"):
        _model().save(tmp_path / "m.keras")


def test_unknown_classes_are_named(tmp_path):
    model = _model()
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as zf:
        config = json.loads(zf.read("config.json"))
        members = {n: zf.read(n) for n in zf.namelist()}
    config["config"]["layers"][1]["class_name"] = "GRU"
    members["config.json"] = json.dumps(config)
    with zipfile.ZipFile(tmp_path / "gru.keras", "w") as zf:
        for n, data in members.items():
            zf.writestr(n, data)
    with pytest.raises(ValueError, match="Could not deserialize class 'GRU' of module 'keras.layers': fastfit has no "
                                         "such layer"):
        keras.models.load_model(tmp_path / "gru.keras")
