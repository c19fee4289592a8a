"""Loads fastfit._cuda, the CUDA kernels, when this build has them and a GPU is present.

`import fastfit` calls `load()`. It never fails: without the module (a CPU-only build), the CUDA
driver (no GPU on this machine) or a GPU, fastfit runs on the CPU. A GPU build whose cuBLAS cannot be
loaded warns once and runs on the CPU. cuBLAS comes from the `nvidia-cublas` wheel (CUDA 13:
site-packages/nvidia/cu13/lib; CUDA 12: nvidia/cublas/lib) or from the CUDA toolkit; it is preloaded by
path, as PyTorch does, because the module's RUNPATH is not searched for cuBLAS's own dependency and
LD_LIBRARY_PATH can shadow it.
"""
import ctypes
import importlib.util
import os
import sys
import warnings

from . import _core

_CUBLAS_DIRS = (("nvidia", "cu13", "lib"), ("nvidia", "cublas", "lib"))
_CUBLAS_LIBS = ("libcublasLt.so.13", "libcublasLt.so.12")

status = "not loaded"  # what load() found: for fastfit.cuda.status()


def _preload_cublas():
    """Loads cuBLASLt from an nvidia wheel on sys.path, if there is one (else the loader's search)."""
    for base in sys.path:
        for parts in _CUBLAS_DIRS:
            folder = os.path.join(base, *parts)
            for lib in _CUBLAS_LIBS:
                path = os.path.join(folder, lib)
                if os.path.exists(path):
                    ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
                    return path
    return None


def load():
    """Installs the CUDA backend into fastfit._core when it can; returns a line saying what happened."""
    global status
    if os.environ.get("FASTFIT_DISABLE_CUDA"):
        status = "disabled by FASTFIT_DISABLE_CUDA"
    elif importlib.util.find_spec(f"{__package__}._cuda") is None:
        status = "this build of fastfit has no CUDA kernels (built with FASTFIT_CUDA=OFF, or no CUDA toolkit found)"
    else:
        try:
            ctypes.CDLL("libcuda.so.1")
        except OSError:
            status = "no CUDA driver (libcuda.so.1) on this machine"
            return status
        try:
            _preload_cublas()
            from . import _cuda
        except (ImportError, OSError) as e:
            status = f"fastfit._cuda could not be loaded: {e}"
            warnings.warn(f"{status}; fastfit runs on the CPU. Install cuBLAS: pip install 'fastfit[cuda13]'",
                          RuntimeWarning, stacklevel=3)
            return status
        if _cuda.device_count() < 1:
            status = "the CUDA driver sees no GPU"
        else:
            _core.install_cuda(_cuda.backend())
            status = f"GPU:0 is {_cuda.device_name()}"
    return status
