"""Data set loaders: standard files found in the data folders, all-or-nothing downloads, errors that
say what to do, and Keras' semantics for CIFAR-10 and IMDB, on small files written here."""
import gzip
import io
import json
import os
import pickle
import tarfile
import urllib.error
import urllib.request

import numpy as np
import pytest

import fastfit as keras
from fastfit.datasets import _files, cifar10, imdb, mnist

KERAS_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An empty HOME and no FASTFIT_DATA or mirror: the data folders hold only what a test puts there."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("FASTFIT_DATA", raising=False)
    monkeypatch.delenv("FASTFIT_DATASETS_URL", raising=False)
    (tmp_path / "home").mkdir()
    return tmp_path / "home"


@pytest.fixture
def offline(monkeypatch):
    def unreachable(url, *args, **kwargs):
        raise urllib.error.URLError("network is unreachable")
    monkeypatch.setattr(urllib.request, "urlopen", unreachable)


def files_under(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


# --- MNIST and Fashion-MNIST --------------------------------------------------------------------

def write_idx(path, arr):
    header = bytes([0, 0, 0x08, arr.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
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


def make_mnist_npz(path, seed=1):
    rng = np.random.default_rng(seed)
    arrays = {k: rng.integers(0, 10, (4, 28, 28) if k.startswith("x") else 4, dtype=np.uint8)
              for k in ("x_train", "y_train", "x_test", "y_test")}
    os.makedirs(os.path.dirname(path), exist_ok=True)
    np.savez(path, **arrays)
    return arrays


def test_read_idx_roundtrip_and_rejects_other_files(tmp_path):
    data = make_idx_set(tmp_path)
    for name, arr in data.items():
        np.testing.assert_array_equal(_files.read_idx(tmp_path / name), arr)
    with gzip.open(tmp_path / "bad.gz", "wb") as f:
        f.write(b"PK\x03\x04 not idx")
    with pytest.raises(ValueError, match="not an IDX file"):
        _files.read_idx(tmp_path / "bad.gz")


def test_fashion_mnist_from_a_given_folder(tmp_path):
    data = make_idx_set(tmp_path)
    (x_train, y_train), (x_test, y_test) = keras.datasets.fashion_mnist.load_data(path=str(tmp_path))
    np.testing.assert_array_equal(x_train, data["train-images-idx3-ubyte.gz"])
    np.testing.assert_array_equal(y_test, data["t10k-labels-idx1-ubyte.gz"])


def test_fashion_mnist_real_files():
    (x_train, y_train), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()
    assert x_train.shape == (60000, 28, 28) and x_train.dtype == np.uint8
    assert y_train.shape == (60000,) and x_test.shape == (10000, 28, 28) and y_test.shape == (10000,)
    assert set(np.unique(y_train)) == set(range(10)) and np.bincount(y_test).tolist() == [1000] * 10


def test_mnist_from_npz_and_idx_folder(tmp_path, home):
    arrays = make_mnist_npz(str(tmp_path / "mnist.npz"))
    (x_train, _), (_, y_test) = keras.datasets.mnist.load_data(path=str(tmp_path / "mnist.npz"))
    np.testing.assert_array_equal(x_train, arrays["x_train"])
    np.testing.assert_array_equal(y_test, arrays["y_test"])
    data = make_idx_set(tmp_path / "idx")
    (x_train, _), _ = keras.datasets.mnist.load_data(path=str(tmp_path / "idx"))
    np.testing.assert_array_equal(x_train, data["train-images-idx3-ubyte.gz"])


def test_search_order(tmp_path, home, monkeypatch):
    in_keras = make_mnist_npz(str(home / ".keras" / "datasets" / "mnist.npz"), seed=2)  # Keras' own cache
    (x_train, _), _ = keras.datasets.mnist.load_data()
    np.testing.assert_array_equal(x_train, in_keras["x_train"])
    in_fastfit = make_mnist_npz(str(home / ".fastfit" / "datasets" / "mnist" / "mnist.npz"), seed=3)
    (x_train, _), _ = keras.datasets.mnist.load_data()
    np.testing.assert_array_equal(x_train, in_fastfit["x_train"])
    monkeypatch.setenv("FASTFIT_DATA", str(tmp_path / "data"))
    in_env = make_mnist_npz(str(tmp_path / "data" / "mnist.npz"), seed=4)
    (x_train, _), _ = keras.datasets.mnist.load_data()
    np.testing.assert_array_equal(x_train, in_env["x_train"])
    assert _files.search_dirs("mnist")[:3] == [str(tmp_path / "data" / "mnist"), str(tmp_path / "data"),
                                               str(home / ".fastfit" / "datasets" / "mnist")]


# --- Downloads and the offline error ------------------------------------------------------------

OFFLINE_CASES = {
    "mnist": (lambda: mnist.load_data(), "mnist", "mnist.npz", KERAS_URL + "mnist.npz"),
    "cifar10": (cifar10.load_data, "cifar10", "cifar-10-python.tar.gz",
                "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"),
    "imdb": (lambda: imdb.load_data(), "imdb", "imdb.npz", KERAS_URL + "imdb.npz"),
    "imdb word index": (lambda: imdb.get_word_index(), "imdb", "imdb_word_index.json",
                        KERAS_URL + "imdb_word_index.json"),
}


@pytest.mark.parametrize("with_env", [False, True], ids=["home", "FASTFIT_DATA"])
@pytest.mark.parametrize("case", list(OFFLINE_CASES))
def test_offline_error_says_what_to_do_and_leaves_nothing(case, with_env, tmp_path, home, offline, monkeypatch):
    load, name, filename, url = OFFLINE_CASES[case]
    if with_env:
        monkeypatch.setenv("FASTFIT_DATA", str(tmp_path / "data"))
    with pytest.raises(FileNotFoundError) as err:
        load()
    message = str(err.value)
    dirs = _files.search_dirs(name)
    assert len(dirs) >= 6 and all(d in message for d in dirs)
    assert f"Put {filename} in one of these folders (searched in this order): {', '.join(dirs)}" in message
    assert url in message and "network is unreachable" in message
    assert files_under(home) == [] and not (tmp_path / "data").exists()


def test_fashion_mnist_error_names_the_files_and_the_package(tmp_path, offline):
    with pytest.raises(FileNotFoundError) as err:
        keras.datasets.fashion_mnist.load_data(path=str(tmp_path))
    message = str(err.value)
    assert "train-labels-idx1-ubyte.gz + train-images-idx3-ubyte.gz" in message and str(tmp_path) in message
    assert "apt-get install dataset-fashion-mnist" in message
    assert files_under(tmp_path) == []


def test_interrupted_or_corrupt_download_leaves_nothing(tmp_path, home, monkeypatch):
    class Interrupted(io.BytesIO):
        def read(self, n=-1):
            if self.tell():
                raise KeyboardInterrupt  # ^C after the first block
            return super().read(1000)
    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout: Interrupted(b"x" * 5000))
    with pytest.raises(KeyboardInterrupt):
        mnist.load_data()
    assert files_under(home) == []
    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout: io.BytesIO(b"not the real file"))
    with pytest.raises(FileNotFoundError, match="checksum mismatch"):
        mnist.load_data()
    assert files_under(home) == []


def test_download_from_a_mirror_lands_all_files_or_none(tmp_path, home, monkeypatch):
    data = make_idx_set(tmp_path / "mirror")
    monkeypatch.setenv("FASTFIT_DATASETS_URL", (tmp_path / "mirror").as_uri())
    names = tuple(data)
    sources = [("https://example.invalid/" + f, _files.file_hash(tmp_path / "mirror" / f)) for f in names]
    folder, files = _files.find("toy", [names], sources)
    assert folder == str(home / ".fastfit" / "datasets" / "toy") and files == names
    assert files_under(home / ".fastfit" / "datasets" / "toy") == sorted(names)  # no temporary files left
    with pytest.raises(FileNotFoundError, match="missing.gz"):  # the second file fails: the first goes too
        _files.find("toy2", [(names[0], "missing.gz")],
                    [sources[0], ("https://example.invalid/missing.gz", "0" * 64)])
    assert not (home / ".fastfit" / "datasets" / "toy2").exists()


def test_a_loader_downloads_then_reads(tmp_path, home, monkeypatch):
    arrays = make_mnist_npz(str(tmp_path / "mirror" / "mnist.npz"))
    monkeypatch.setenv("FASTFIT_DATASETS_URL", (tmp_path / "mirror").as_uri())
    monkeypatch.setattr(mnist, "_SHA256", _files.file_hash(tmp_path / "mirror" / "mnist.npz"))
    (x_train, _), _ = mnist.load_data(path="digits.npz")  # Keras' `path`: the local name of mnist.npz
    np.testing.assert_array_equal(x_train, arrays["x_train"])
    assert files_under(home / ".fastfit") == ["datasets", "datasets/mnist", "datasets/mnist/digits.npz"]


# --- CIFAR-10 -----------------------------------------------------------------------------------

def cifar_batches(n=3):
    """Six batches (data_batch_1..5, test_batch) as the CIFAR site pickles them: bytes keys,
    `data` rows of 3072 bytes (the red, green then blue 32x32 planes), `labels` a list of ints."""
    rng = np.random.default_rng(5)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    return {name: {b"batch_label": name.encode(), b"labels": rng.integers(0, 10, n).tolist(),
                   b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                   b"filenames": [b"img%d.png" % i for i in range(n)]} for name in names}


def pickled(batch):
    # The real files were pickled by numpy 1, which named numpy.core where numpy 2 names numpy._core.
    return pickle.dumps(batch, protocol=3).replace(b"numpy._core.", b"numpy.core.")


def write_cifar_archive(path, batches):
    with tarfile.open(path, "w:gz") as tar:
        for name, batch in batches.items():
            raw = pickled(batch)
            info = tarfile.TarInfo("cifar-10-batches-py/" + name)
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))


def expected_cifar(batches, names):
    """Images built pixel by pixel from the documented layout: row[channel * 1024 + r * 32 + c]."""
    rows = np.concatenate([batches[n][b"data"] for n in names])
    r, c, channel = np.indices((32, 32, 3))
    labels = [label for n in names for label in batches[n][b"labels"]]
    return rows[:, channel * 1024 + r * 32 + c], np.array(labels, np.uint8).reshape(-1, 1)


@pytest.mark.parametrize("form", ["archive", "extracted"])
def test_cifar10_reads_the_standard_files(form, tmp_path, home, monkeypatch):
    batches = cifar_batches()
    monkeypatch.setenv("FASTFIT_DATA", str(tmp_path / "data"))
    if form == "archive":
        (tmp_path / "data" / "cifar10").mkdir(parents=True)
        write_cifar_archive(tmp_path / "data" / "cifar10" / "cifar-10-python.tar.gz", batches)
    else:  # where Keras 2 extracts it: ~/.keras/datasets/cifar-10-batches-py/
        folder = home / ".keras" / "datasets" / "cifar-10-batches-py"
        folder.mkdir(parents=True)
        for name, batch in batches.items():
            (folder / name).write_bytes(pickled(batch))
    (x_train, y_train), (x_test, y_test) = keras.datasets.cifar10.load_data()
    assert x_train.shape == (15, 32, 32, 3) and y_train.shape == (15, 1) and x_test.shape == (3, 32, 32, 3)
    assert x_train.dtype == y_train.dtype == x_test.dtype == y_test.dtype == np.uint8
    x, y = expected_cifar(batches, [f"data_batch_{i}" for i in range(1, 6)])
    np.testing.assert_array_equal(x_train, x)
    np.testing.assert_array_equal(y_train, y)
    x, y = expected_cifar(batches, ["test_batch"])
    np.testing.assert_array_equal(x_test, x)
    np.testing.assert_array_equal(y_test, y)


class RunsCode:
    def __reduce__(self):
        return os.getcwd, ()


def test_data_files_cannot_run_code(tmp_path):
    with pytest.raises(pickle.UnpicklingError, match="posix.getcwd"):
        _files.unpickle(io.BytesIO(pickle.dumps({b"data": RunsCode()})))
    np.savez(tmp_path / "evil.npz", x_train=np.array([RunsCode()], dtype=object))
    with pytest.raises(pickle.UnpicklingError, match="posix.getcwd"):
        _files.read_npz(tmp_path / "evil.npz")


# --- IMDB ---------------------------------------------------------------------------------------

def objects(lists):
    return np.fromiter(lists, dtype=object, count=len(lists))


def make_imdb(path, n_train=30, n_test=20):
    """An imdb.npz as Keras ships it: object arrays of lists of word ranks (from 1), int64 labels."""
    rng = np.random.default_rng(6)
    reviews = lambda n: objects([rng.integers(1, 26, rng.integers(1, 11)).tolist() for _ in range(n)])
    arrays = {"x_train": reviews(n_train), "y_train": rng.integers(0, 2, n_train),
              "x_test": reviews(n_test), "y_test": rng.integers(0, 2, n_test)}
    os.makedirs(os.path.dirname(path), exist_ok=True)
    np.savez(path, **arrays)
    return arrays


def keras_imdb(arrays, num_words=None, skip_top=0, maxlen=None, seed=113, start_char=1, oov_char=2,
               index_from=3):
    """Keras' documented algorithm, step by step in plain Python."""
    rng = np.random.RandomState(seed)
    parts = []
    for part in ("train", "test"):  # one generator: train is shuffled first, then test
        order = np.arange(len(arrays["x_" + part]))
        rng.shuffle(order)
        pairs = [(list(arrays["x_" + part][i]), arrays["y_" + part][i]) for i in order]
        marked = []
        for seq, label in pairs:
            seq = [w + index_from for w in seq]
            if start_char is not None:
                seq = [start_char] + seq
            if not maxlen or len(seq) < maxlen:  # sequences of maxlen or more are dropped
                marked.append((seq, label))
        parts.append(marked)
    if not num_words:
        num_words = max(w for part in parts for seq, _ in part for w in seq)
    result = []
    for part in parts:
        xs = []
        for seq, _ in part:
            kept = []
            for w in seq:
                if skip_top <= w < num_words:
                    kept.append(w)
                elif oov_char is not None:
                    kept.append(oov_char)
            xs.append(kept)
        result.append((xs, [label for _, label in part]))
    return result


IMDB_CASES = [{}, {"num_words": 10}, {"num_words": 12, "skip_top": 5}, {"maxlen": 7}, {"seed": 7},
              {"start_char": None}, {"start_char": None, "index_from": 0}, {"oov_char": None, "num_words": 10},
              {"start_char": 9, "oov_char": 7, "index_from": 10, "num_words": 30, "skip_top": 12, "maxlen": 9}]


@pytest.mark.parametrize("kwargs", IMDB_CASES, ids=lambda k: ",".join(f"{a}={v}" for a, v in k.items()) or "-")
def test_imdb_matches_keras_semantics(kwargs, tmp_path, home, monkeypatch):
    monkeypatch.setenv("FASTFIT_DATA", str(tmp_path / "data"))
    arrays = make_imdb(str(tmp_path / "data" / "imdb" / "imdb.npz"))
    (x_train, y_train), (x_test, y_test) = keras.datasets.imdb.load_data(**kwargs)
    for (x, y), (ref_x, ref_y) in zip([(x_train, y_train), (x_test, y_test)], keras_imdb(arrays, **kwargs)):
        assert x.dtype == object and x.shape == (len(ref_x),) and all(isinstance(seq, list) for seq in x)
        assert [list(map(int, seq)) for seq in x] == ref_x
        assert y.dtype == np.int64 and y.tolist() == [int(label) for label in ref_y]
    if kwargs.get("maxlen"):
        assert len(x_train) < 30 and max(map(len, x_train)) < kwargs["maxlen"]


def test_imdb_by_hand(tmp_path):
    # One review of ranks [5, 1, 2]: shifted by 3 and marked with 1 -> [1, 8, 4, 5]; with
    # num_words=None the largest index (8) is the bound, so Keras makes that word out of vocabulary.
    np.savez(tmp_path / "imdb.npz", x_train=objects([[5, 1, 2]]), y_train=np.array([1]),
             x_test=objects([[3]]), y_test=np.array([0]))
    (x_train, y_train), (x_test, _) = imdb.load_data(path=str(tmp_path / "imdb.npz"))
    assert x_train.tolist() == [[1, 2, 4, 5]] and x_test.tolist() == [[1, 6]] and y_train.tolist() == [1]
    (x_train, _), _ = imdb.load_data(path=str(tmp_path / "imdb.npz"), num_words=5, skip_top=2, oov_char=None)
    assert x_train.tolist() == [[4]]
    with pytest.raises(ValueError, match="Increase maxlen"):
        imdb.load_data(path=str(tmp_path / "imdb.npz"), maxlen=2)


def test_imdb_word_index(tmp_path, home, monkeypatch):
    monkeypatch.setenv("FASTFIT_DATA", str(tmp_path / "data"))
    (tmp_path / "data" / "imdb").mkdir(parents=True)
    index = {"the": 1, "and": 2, "café": 3}
    (tmp_path / "data" / "imdb" / "imdb_word_index.json").write_text(json.dumps(index))
    assert imdb.get_word_index() == index
