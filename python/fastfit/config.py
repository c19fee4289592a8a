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


_DEVICE_NAME = re.compile(r"(?:/job:\w+)?(?:/replica:\d+)?(?:/task:\d+)?/?(?:device:)?(CPU|GPU|cuda)(?::(\d+))?", re.I)


def _device_type(device_name):
    """'CPU' or 'GPU' for a TensorFlow or PyTorch device name ('/GPU:0', 'cuda', 'cpu:0', ...)."""
    match = _DEVICE_NAME.fullmatch(device_name) if isinstance(device_name, str) else None
    if match is None:
        raise ValueError(f"device_name must name a device such as '/CPU:0', '/GPU:0', 'cuda' or 'cpu', "
                         f"got {device_name!r}")
    kind = "GPU" if match.group(1).upper() in ("GPU", "CUDA") else "CPU"
    if int(match.group(2) or 0) != 0:
        raise ValueError(f"device_name {device_name!r}: fastfit uses one device of each kind, {kind}:0")
    return kind


@contextlib.contextmanager
def device(device_name):
    """Runs the block on `device_name` ('/GPU:0', 'GPU', 'cuda', '/CPU:0', 'cpu', ...), as `tf.device`,
    for this thread only: eager ops run there (inputs that live elsewhere are copied, and gradients
    flow back), new tensors and variables are created there, and `fit`/`evaluate`/`predict` compile
    their programs for it. Without a scope, an op runs where its inputs are and programs run on the GPU
    when one is present. With no GPU, an op run in a GPU scope raises RuntimeError
    '<Op> has no GPU implementation'.

    >>> with device("/CPU:0"):
    ...     y = matmul(a, b)
    """
    kind = _device_type(device_name)
    previous = _core.get_device()
    _core.set_device(kind)
    try:
        yield
    finally:
        _core.set_device(previous)


@contextlib.contextmanager
def no_scope():
    """Runs the block with no device scope (ops where their inputs are, new tensors on the CPU): how
    fit traces a model, so the trace holds the model's own ops, not copies between devices."""
    previous = _core.get_device()
    _core.set_device("")
    try:
        yield
    finally:
        _core.set_device(previous)


def program_device():
    """Where `fit`, `evaluate` and `predict` run their compiled programs: the scope's device, else the
    GPU when one is present, as TensorFlow places them."""
    return _core.get_device() or ("GPU" if _core.cuda_is_available() else "CPU")
