"""The one place where data sets are found, downloaded and read from their standard files.

Every loader calls `find`, which looks for a data set NAME's files in these folders, in order:
`$FASTFIT_DATA/NAME`, `$FASTFIT_DATA`, `~/.fastfit/datasets/NAME`, `~/.fastfit/datasets`,
`~/.keras/datasets/NAME`, `~/.keras/datasets` (where Keras keeps its downloads),
`/usr/share/datasets/NAME`, `/usr/local/share/datasets/NAME` (Debian's `dataset-fashion-mnist`
installs `/usr/share/datasets/fashion-mnist`); a folder the caller names replaces that list. Found
nowhere, the files are downloaded into the first folder of the list (made if need be), checked
against their published hashes; `$FASTFIT_DATASETS_URL` replaces the download folder's address (a
mirror). If that fails too, the error names every folder searched, the files expected, the URLs
tried and where to put the files.

Pickled data (CIFAR batches, IMDB's lists of word indexes) is read by an unpickler that builds only
numpy arrays and plain Python values, so a data file found in a shared folder cannot run code.
"""
import gzip
import hashlib
import os
import pickle
import shutil
import tempfile
import urllib.request
import zipfile

import numpy as np

_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def search_dirs(name, folder=""):
    """The folders searched for data set `name`, in order: `[folder]` when a folder is named."""
    if folder:
        return [folder]
    home = os.path.expanduser("~")
    roots = [os.environ.get("FASTFIT_DATA"), os.path.join(home, ".fastfit", "datasets"),
             os.path.join(home, ".keras", "datasets")]
    dirs = [d for root in roots if root for d in (os.path.join(root, name), root)]
    dirs += [os.path.join(share, "datasets", name) for share in ("/usr/share", "/usr/local/share")]
    return list(dict.fromkeys(dirs))


def find(name, expected, downloads, folder="", hint=""):
    """Locates data set `name`: returns `(folder, files)` for the first of the `expected`
    alternatives whose files are all in one search folder, else `expected[0]` downloaded.

    expected: alternatives, best first, each a tuple of file paths relative to one folder.
    downloads: `(url, hash)` for each file of `expected[0]`; the hash is a hex SHA-256, or an MD5
        where that is all Keras publishes.
    folder: a folder the caller names: the only one searched, and where a download goes.
    hint: a last line for the error, such as a package that installs the files.

    Example::

        folder, files = find("mnist", [("mnist.npz",), IDX_FILES],
                             [(BASE_URL + "mnist.npz", MNIST_SHA256)])
    """
    dirs = search_dirs(name, folder)
    for d in dirs:
        for files in expected:
            if all(os.path.isfile(os.path.join(d, f)) for f in files):
                return d, files
    mirror = os.environ.get("FASTFIT_DATASETS_URL")
    sources = [(mirror.rstrip("/") + "/" + url.rsplit("/", 1)[1] if mirror else url, h) for url, h in downloads]
    try:
        download(sources, dirs[0], expected[0])
    except OSError as e:
        raise FileNotFoundError(
            f"{name}: the data files are in none of the folders searched, and the download failed.\n"
            f"  expected: {'; or '.join(' + '.join(files) for files in expected)}\n"
            f"  download: {', '.join(url for url, _ in sources)} failed: {e}\n"
            f"Put {' + '.join(expected[0])} in one of these folders (searched in this order): {', '.join(dirs)}"
            + (f"\n{hint}" if hint else "")) from None
    return dirs[0], expected[0]


def download(sources, folder, names):
    """Fetches each `(url, hash)` of `sources` into `folder` under the matching name of `names`,
    all or nothing; raises OSError on failure.

    Each file goes to a temporary file in `folder`, and only once every hash matches are they
    renamed into place: a reader never sees a partial file. On any failure or interruption the
    temporary files and the folders this call made are removed.
    """
    made = []  # deepest first, so they can be removed in order
    d = os.path.abspath(folder)
    while not os.path.isdir(d):
        made.append(d)
        d = os.path.dirname(d)
    parts = []
    try:
        os.makedirs(folder, exist_ok=True)
        for (url, expected), name in zip(sources, names):
            fd, part = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".part")
            parts.append(part)
            with os.fdopen(fd, "wb") as f, urllib.request.urlopen(url, timeout=60) as r:
                shutil.copyfileobj(r, f)
            got = file_hash(part, "sha256" if len(expected) == 64 else "md5")
            if got != expected:
                raise OSError(f"checksum mismatch for {url}: expected {expected}, got {got}")
        for part, name in zip(parts, names):
            os.replace(part, os.path.join(folder, name))
    except BaseException:
        for part in parts:
            if os.path.exists(part):
                os.remove(part)
        for d in made:
            if os.path.isdir(d) and not os.listdir(d):
                os.rmdir(d)
        raise


def file_hash(path, algorithm="sha256"):
    """The hex digest of the file at `path`."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_idx(path):
    """Reads an IDX file (gzipped or not) into a numpy array."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_TYPES:
        raise ValueError(f"{path} is not an IDX file (bad magic number)")
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    offset = 4 + 4 * ndim
    arr = np.frombuffer(data, dtype=_IDX_TYPES[data[2]], offset=offset)
    if arr.size != int(np.prod(dims)):
        raise ValueError(f"{path}: header says shape {dims}, file holds {arr.size} values")
    return arr.reshape(dims).astype(np.dtype(_IDX_TYPES[data[2]]).newbyteorder("="))


class _ArrayUnpickler(pickle.Unpickler):
    # numpy moved its internals from numpy.core to numpy._core in 2.0; data files hold either name.
    _ALLOWED = {("numpy", "ndarray"), ("numpy", "dtype")} | {
        (m, f) for m in ("numpy.core.multiarray", "numpy._core.multiarray") for f in ("_reconstruct", "scalar")}

    def find_class(self, module, name):
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"a data file may hold only numpy arrays, not {module}.{name}")
        return super().find_class(module, name)


def unpickle(f, encoding="bytes"):
    """Reads one pickle of numpy arrays and plain values from the binary file `f`.

    `encoding` decodes Python 2 strings: "bytes" keeps them as bytes, as the CIFAR batches need.
    """
    return _ArrayUnpickler(f, encoding=encoding).load()


def read_npz(path):
    """The arrays of an `.npz` file by name, as `np.load` gives them.

    Object arrays (IMDB's lists of word indexes) go through `unpickle`, where
    `np.load(allow_pickle=True)` would run whatever code the file holds.
    """
    arrays = {}
    with zipfile.ZipFile(path) as z:
        for member in z.namelist():
            with z.open(member) as f:
                fmt = np.lib.format
                version = fmt.read_magic(f)
                _, _, dtype = (fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0)(f)
                if dtype.hasobject:
                    arr = unpickle(f, encoding="ASCII")  # np.load's default for Python 2 pickles
                else:
                    f.seek(0)
                    arr = fmt.read_array(f, allow_pickle=False)
            arrays[member.removesuffix(".npy")] = arr
    return arrays
