"""`tf.config`: how many cores fastfit uses (matrix products and batch splitting)."""
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
