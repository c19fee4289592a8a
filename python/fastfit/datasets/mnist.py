"""MNIST handwritten digits: 60,000 training and 10,000 test 28x28 grayscale images."""
import os

import numpy as np

from . import _files

_SHA256 = {"mnist.npz": "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"}
_BASE_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
_IDX = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz"]
_SYSTEM_DIRS = ["/usr/share/datasets/mnist", "/usr/local/share/datasets/mnist"]


def load_data(path="mnist.npz"):
    """Returns `(x_train, y_train), (x_test, y_test)` as uint8 arrays.

    `path`: an `mnist.npz` file (absolute, or a name looked up in the standard folders), or a folder
    holding the four IDX files.
    """
    if os.path.isdir(path):
        return _from_idx(path)
    if os.path.isfile(path):
        return _from_npz(path)
    name = os.path.basename(path)
    dirs = _files.search_dirs("mnist", _SYSTEM_DIRS)
    for d in dirs:
        if os.path.isfile(os.path.join(d, name)):
            return _from_npz(os.path.join(d, name))
        if all(os.path.isfile(os.path.join(d, f)) for f in _IDX):
            return _from_idx(d)
    d = _files.locate("mnist", [name], [], _BASE_URL, {name: _SHA256.get(name, "")})
    return _from_npz(os.path.join(d, name))


def _from_npz(path):
    with np.load(path, allow_pickle=False) as f:
        return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])


def _from_idx(d):
    x_train, y_train, x_test, y_test = (_files.read_idx(os.path.join(d, f)) for f in _IDX)
    return (x_train, y_train), (x_test, y_test)
