"""MNIST handwritten digits: 60,000 training and 10,000 test 28x28 grayscale images."""
import os

from . import _files

_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
_IDX = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz")


def load_data(path="mnist.npz"):
    """Returns `(x_train, y_train), (x_test, y_test)`: uint8 images (N, 28, 28) and uint8 labels (N,).

    `path`: as in Keras, the name of the `mnist.npz` file in the data folders (see
    `fastfit.datasets._files`), or a path to it; fastfit also takes a folder holding `mnist.npz`
    or the four IDX `*-ubyte.gz` files.

    Example::

        (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
        assert x_train.shape == (60000, 28, 28) and y_test.shape == (10000,)
    """
    folder, name = (path, "mnist.npz") if os.path.isdir(path) else os.path.split(path)
    folder, files = _files.find("mnist", [(name,), _IDX], [(_URL, _SHA256)], folder)
    if files == _IDX:
        x_train, y_train, x_test, y_test = (_files.read_idx(os.path.join(folder, f)) for f in _IDX)
        return (x_train, y_train), (x_test, y_test)
    f = _files.read_npz(os.path.join(folder, name))
    return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])
