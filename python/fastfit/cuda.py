"""`fastfit.cuda`: whether fastfit runs on a GPU here, and why not when it does not."""
from . import _core, _cuda_loader


def is_available():
    """True when fastfit's CUDA kernels are loaded and a GPU is present; always False in a CPU-only build.

    >>> fastfit.cuda.is_available()  # on a machine without a GPU
    False
    """
    return _core.cuda_is_available()


def device_name():
    """The GPU's name ('NVIDIA H200'), or '' without one."""
    return _core.cuda_device_name() if is_available() else ""


def status():
    """One line on what `import fastfit` found: the GPU, or why the CUDA kernels are not in use."""
    return _cuda_loader.status
