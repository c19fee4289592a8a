"""`fastfit.cuda`: whether this build of fastfit can run on a GPU."""
from . import _core


def is_available():
    """True when fastfit was built with CUDA and a GPU is present; always False in a CPU-only build."""
    return _core.cuda_is_available()
