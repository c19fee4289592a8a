"""`tf.config` and `tf.device`: how many cores fastfit uses, which devices exist, where eager ops run."""
import collections
import contextlib
import re
import types

from . import _core


def set_intra_op_parallelism_threads(num_threads):
    """Use at most `num_threads` cores (1: everything on the calling thread). 0 keeps the default."""
    if not isinstance(num_threads, int) or num_threads < 0:
        raise ValueError(f"num_threads must be a non-negative integer, got {num_threads!r}")
    if num_threads:
        _core.set_num_threads(num_threads)


def get_intra_op_parallelism_threads():
    return _core.get_num_threads()


threading = types.SimpleNamespace(set_intra_op_parallelism_threads=set_intra_op_parallelism_threads,
                                  get_intra_op_parallelism_threads=get_intra_op_parallelism_threads)

PhysicalDevice = collections.namedtuple("PhysicalDevice", ["name", "device_type"])  # as tf.config's


def list_physical_devices(device_type=None):
    """The devices fastfit can run on, of `device_type` ('CPU', 'GPU') or all.

    >>> list_physical_devices("GPU")  # a build without CUDA, or no GPU
    []
    """
    if device_type is not None and not isinstance(device_type, str):
        raise TypeError(f"device_type must be a string such as 'GPU', got {type(device_type).__name__}")
    devices = [PhysicalDevice("/physical_device:CPU:0", "CPU")]
    if _core.cuda_is_available():
        devices.append(PhysicalDevice("/physical_device:GPU:0", "GPU"))
    return [d for d in devices if device_type is None or d.device_type == device_type.upper()]


_DEVICE_NAME = re.compile(r"(?:/job:\w+)?(?:/replica:\d+)?(?:/task:\d+)?/?(?:device:)?(CPU|GPU)(?::\d+)?", re.I)


@contextlib.contextmanager
def device(device_name):
    """Runs the eager ops of the block on `device_name` ('/CPU:0', '/GPU:0', 'GPU', '/device:GPU:0'),
    as `tf.device`; for this thread only. In a build without CUDA, an op run in a GPU scope raises
    RuntimeError '<Op> has no GPU implementation'.

    >>> with device("/CPU:0"):
    ...     y = matmul(a, b)
    """
    match = _DEVICE_NAME.fullmatch(device_name) if isinstance(device_name, str) else None
    if match is None:
        raise ValueError(f"device_name must name a device such as '/CPU:0' or '/GPU:0', got {device_name!r}")
    previous = _core.get_device()
    _core.set_device(match.group(1).upper())
    try:
        yield
    finally:
        _core.set_device(previous)
