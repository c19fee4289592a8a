"""The errors loading raises: each names the file and what is wrong with it."""
import errno
import os


def file_error(path, what):
    """A ValueError: `Cannot load '<path>': <what>`."""
    return ValueError(f"Cannot load '{os.fspath(path)}': {what}")


def check_exists(path):
    """FileNotFoundError naming `path` when there is no file there."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(errno.ENOENT, f"No file or directory found at {path}", path)
    if os.path.isdir(path):
        raise IsADirectoryError(errno.EISDIR, f"Expected a file, found a directory at {path}", path)
