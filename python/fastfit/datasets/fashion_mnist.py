"""Fashion-MNIST: 60,000 training and 10,000 test 28x28 grayscale images of 10 kinds of clothing."""
from . import _files

_FILES = ["train-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz",
          "t10k-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz"]
_SHA256 = {
    "train-labels-idx1-ubyte.gz": "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
    "train-images-idx3-ubyte.gz": "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
    "t10k-labels-idx1-ubyte.gz": "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
    "t10k-images-idx3-ubyte.gz": "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
}
_BASE_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
_SYSTEM_DIRS = ["/usr/share/datasets/fashion-mnist", "/usr/local/share/datasets/fashion-mnist"]


def load_data(path=None):
    """Returns `(x_train, y_train), (x_test, y_test)`: uint8 images (N, 28, 28) and uint8 labels (N,).

    `path`: a folder holding the four IDX files; by default the standard places are searched.
    """
    dirs = [path] if path else _files.search_dirs("fashion-mnist", _SYSTEM_DIRS)
    d = _files.locate("fashion-mnist", _FILES, dirs, _BASE_URL, _SHA256)
    y_train, x_train, y_test, x_test = (_files.read_idx(f"{d}/{f}") for f in _FILES)
    return (x_train, y_train), (x_test, y_test)
