"""Crash-safe file writes: every file fastfit saves goes through `atomic_path`.

The new content is written to a temporary file in the destination's folder, flushed and fsynced, then
renamed over the destination with `os.replace` (atomic on POSIX and Windows), and the folder is fsynced
so the rename itself survives a power cut. A process killed at any moment leaves either the old file or
the new one in place, never a half-written one (at worst a stray `.<name>.tmp-*` file beside it).
"""
import contextlib
import os
import shutil
import uuid


def _fsync_dir(folder):
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # a platform that cannot open folders (Windows): the rename is still atomic
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path, overwrite=True):
    """Yields a temporary path to write the whole of `path` into; when the block ends without an
    error, the temporary file replaces `path` atomically and durably. On an error it is removed and
    `path` is untouched.

    >>> with atomic_path("model.keras") as tmp:
    ...     with open(tmp, "wb") as f:
    ...         f.write(data)

    Args:
        path: the destination file.
        overwrite: False raises FileExistsError if `path` exists.
    """
    path = os.fspath(path)
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"{path} exists and overwrite=False")
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, f".{os.path.basename(path)}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        open(tmp, "xb").close()  # the name is ours from here on (the writer truncates it)
        yield tmp
        with open(tmp, "rb+") as f:  # the writer may have written through another handle (h5py)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise
    _fsync_dir(folder)


def atomic_copy(src, dst):
    """Copies `src` over `dst` with the same guarantee as `atomic_path`."""
    with atomic_path(dst) as tmp:
        shutil.copyfile(src, tmp)
