"""Finding and reading the standard data files (IDX `*-ubyte.gz`, `mnist.npz`).

Lookup order: the path the caller gives, $FASTFIT_DATA, ~/.fastfit/datasets, ~/.keras/datasets, the
system locations (Debian's dataset-fashion-mnist puts files under /usr/share/datasets), then a
download checked against a SHA-256. With none possible, the error says where to put the files."""
import gzip
import hashlib
import os
import shutil
import urllib.request

import numpy as np

_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


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


def search_dirs(name, system_dirs=()):
    dirs = []
    if os.environ.get("FASTFIT_DATA"):
        dirs += [os.path.join(os.environ["FASTFIT_DATA"], name), os.environ["FASTFIT_DATA"]]
    home = os.path.expanduser("~")
    dirs += [os.path.join(home, ".fastfit", "datasets", name), os.path.join(home, ".keras", "datasets", name)]
    return dirs + list(system_dirs)


def cache_dir(name):
    return os.path.join(os.environ.get("FASTFIT_DATA") or os.path.join(os.path.expanduser("~"), ".fastfit", "datasets"), name)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def download(url, dest, expected_sha256):
    """Downloads url to dest (atomically) and checks its SHA-256; raises OSError on any failure."""
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    tmp = dest + ".part"
    try:
        with urllib.request.urlopen(url, timeout=30) as r, open(tmp, "wb") as f:
            shutil.copyfileobj(r, f)
        got = sha256(tmp)
        if got != expected_sha256:
            raise OSError(f"checksum mismatch for {url}: expected sha256 {expected_sha256}, got {got}")
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return dest


def locate(name, files, dirs, base_url, hashes):
    """The directory holding all `files`, downloading them into the cache when found nowhere."""
    for d in dirs:
        if all(os.path.isfile(os.path.join(d, f)) for f in files):
            return d
    target = cache_dir(name)
    url = os.environ.get("FASTFIT_DATASETS_URL", base_url)
    try:
        for f in files:
            if not os.path.isfile(os.path.join(target, f)):
                download(f"{url.rstrip('/')}/{f}", os.path.join(target, f), hashes[f])
        return target
    except OSError as e:
        raise FileNotFoundError(
            f"Could not find the {name} files {files}. Looked in: {dirs}; download failed ({e}). "
            f"Put the files in one of those folders (or set FASTFIT_DATA to a folder holding them)"
            + ("; on Debian/Ubuntu: apt-get install dataset-fashion-mnist" if name == "fashion-mnist" else "")
        ) from None
