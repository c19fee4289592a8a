"""Data set loaders: IDX and npz files found by path, environment and system folders; no fake data."""
import gzip
import os

import numpy as np
import pytest

import fastfit as keras
from fastfit.datasets import _files


def write_idx(path, arr):
    codes = {np.dtype("uint8"): 0x08}
    header = bytes([0, 0, codes[arr.dtype], arr.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + arr.tobytes())


def make_idx_set(folder, n_train=5, n_test=3):
    rng = np.random.default_rng(0)
    data = {"train-images-idx3-ubyte.gz": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
            "train-labels-idx1-ubyte.gz": rng.integers(0, 10, n_train, dtype=np.uint8),
            "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
            "t10k-labels-idx1-ubyte.gz": rng.integers(0, 10, n_test, dtype=np.uint8)}
    os.makedirs(folder, exist_ok=True)
    for name, arr in data.items():
        write_idx(os.path.join(folder, name), arr)
    return data


def test_read_idx_roundtrip(tmp_path):
    data = make_idx_set(tmp_path)
    for name, arr in data.items():
        np.testing.assert_array_equal(_files.read_idx(tmp_path / name), arr)


def test_read_idx_rejects_other_files(tmp_path):
    p = tmp_path / "bad.gz"
    with gzip.open(p, "wb") as f:
        f.write(b"PK\x03\x04 not idx")
    with pytest.raises(ValueError, match="not an IDX file"):
        _files.read_idx(p)


def test_fashion_mnist_from_a_given_path(tmp_path):
    data = make_idx_set(tmp_path)
    (x_train, y_train), (x_test, y_test) = keras.datasets.fashion_mnist.load_data(path=str(tmp_path))
    np.testing.assert_array_equal(x_train, data["train-images-idx3-ubyte.gz"])
    np.testing.assert_array_equal(y_test, data["t10k-labels-idx1-ubyte.gz"])


def test_fashion_mnist_real_files():
    (x_train, y_train), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()
    assert x_train.shape == (60000, 28, 28) and x_train.dtype == np.uint8
    assert y_train.shape == (60000,) and x_test.shape == (10000, 28, 28) and y_test.shape == (10000,)
    assert set(np.unique(y_train)) == set(range(10)) and np.bincount(y_test).tolist() == [1000] * 10


def test_mnist_from_npz_and_idx_folder(tmp_path, monkeypatch):
    rng = np.random.default_rng(1)
    arrays = {k: rng.integers(0, 10, (4, 28, 28) if k.startswith("x") else 4, dtype=np.uint8)
              for k in ("x_train", "y_train", "x_test", "y_test")}
    np.savez(tmp_path / "mnist.npz", **arrays)
    (x_train, _), (_, y_test) = keras.datasets.mnist.load_data(path=str(tmp_path / "mnist.npz"))
    np.testing.assert_array_equal(x_train, arrays["x_train"])
    np.testing.assert_array_equal(y_test, arrays["y_test"])
    monkeypatch.setenv("FASTFIT_DATA", str(tmp_path))  # found by name in $FASTFIT_DATA
    (x_train, _), _ = keras.datasets.mnist.load_data()
    np.testing.assert_array_equal(x_train, arrays["x_train"])
    data = make_idx_set(tmp_path / "idx")
    (x_train, _), _ = keras.datasets.mnist.load_data(path=str(tmp_path / "idx"))
    np.testing.assert_array_equal(x_train, data["train-images-idx3-ubyte.gz"])


def test_download_checks_the_checksum(tmp_path, monkeypatch):
    src = tmp_path / "mirror"
    data = make_idx_set(src)
    monkeypatch.setenv("FASTFIT_DATA", str(tmp_path / "cache"))
    monkeypatch.setenv("FASTFIT_DATASETS_URL", src.as_uri())
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    files = list(data)
    hashes = {f: _files.sha256(src / f) for f in files}
    d = _files.locate("toy", files, [], "unused", hashes)
    assert d == str(tmp_path / "cache" / "toy") and all((tmp_path / "cache" / "toy" / f).is_file() for f in files)
    bad = dict(hashes, **{files[0]: "0" * 64})
    with pytest.raises(FileNotFoundError, match="checksum mismatch"):
        _files.locate("toy2", files, [], "unused", bad)
    assert not (tmp_path / "cache" / "toy2" / files[0]).exists()


def test_missing_files_say_where_to_put_them(tmp_path, monkeypatch):
    monkeypatch.setenv("FASTFIT_DATA", str(tmp_path))
    monkeypatch.setenv("FASTFIT_DATASETS_URL", (tmp_path / "nowhere").as_uri())
    with pytest.raises(FileNotFoundError, match="Put the files in one of those folders"):
        keras.datasets.mnist.load_data()
