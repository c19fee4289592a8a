"""CIFAR-10: 50,000 training and 10,000 test 32x32 color images of 10 classes.

Labels: 0 airplane, 1 automobile, 2 bird, 3 cat, 4 deer, 5 dog, 6 frog, 7 horse, 8 ship, 9 truck.
"""
import os
import tarfile

import numpy as np

from . import _files

_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
_SHA256 = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"
_ARCHIVE = ("cifar-10-python.tar.gz",)
# Inside the archive as in its extracted folder; the five training batches come first, in order.
_BATCHES = tuple(f"cifar-10-batches-py/{b}" for b in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"])


def load_data():
    """Returns `(x_train, y_train), (x_test, y_test)`: uint8 images (N, 32, 32, 3), channels last
    as Keras gives them by default, and uint8 labels (N, 1).

    Reads `cifar-10-python.tar.gz`, or its extracted folder `cifar-10-batches-py/`, from the data
    folders (see `fastfit.datasets._files`), downloading the archive when neither is there.

    Example::

        (x_train, y_train), (x_test, y_test) = keras.datasets.cifar10.load_data()
        assert x_train.shape == (50000, 32, 32, 3) and y_train.shape == (50000, 1)
    """
    folder, files = _files.find("cifar10", [_ARCHIVE, _BATCHES], [(_URL, _SHA256)])
    if files == _BATCHES:
        batches = []
        for name in _BATCHES:
            with open(os.path.join(folder, name), "rb") as f:
                batches.append(_files.unpickle(f))
    else:
        with tarfile.open(os.path.join(folder, files[0]), "r:gz") as tar:
            batches = [_files.unpickle(tar.extractfile(name)) for name in _BATCHES]
    # Each batch holds rows of 3072 bytes: the red, green and blue 32x32 planes of one image.
    x = [np.asarray(b[b"data"], np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1) for b in batches]
    y = [np.asarray(b[b"labels"], np.uint8).reshape(-1, 1) for b in batches]
    return (np.concatenate(x[:5]), np.concatenate(y[:5])), (np.ascontiguousarray(x[5]), y[5])
