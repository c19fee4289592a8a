"""Fashion-MNIST: 60,000 training and 10,000 test 28x28 grayscale images of 10 kinds of clothing."""
import os

from . import _files

_FILES = ("train-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz",
          "t10k-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz")
_SHA256 = ("0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
           "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
           "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
           "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa")
_BASE_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"


def load_data(path=None):
    """Returns `(x_train, y_train), (x_test, y_test)`: uint8 images (N, 28, 28) and uint8 labels (N,).

    `path` (a fastfit extension): a folder holding the four IDX files; by default the data folders
    are searched (see `fastfit.datasets._files`), Debian's `/usr/share/datasets/fashion-mnist`
    among them.

    Example::

        (x_train, y_train), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()
        assert x_train.shape == (60000, 28, 28) and y_test.shape == (10000,)
    """
    folder, _ = _files.find("fashion-mnist", [_FILES], [(_BASE_URL + f, h) for f, h in zip(_FILES, _SHA256)],
                            path or "", hint="On Debian or Ubuntu, apt-get install dataset-fashion-mnist")
    y_train, x_train, y_test, x_test = (_files.read_idx(os.path.join(folder, f)) for f in _FILES)
    return (x_train, y_train), (x_test, y_test)
