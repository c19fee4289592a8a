// fastfit._cuda: the CUDA backend as a capsule that fastfit._core installs (README.md beside this file).
#include <pybind11/pybind11.h>

#include "kernels/cuda/runtime.h"

namespace fastfit::cuda {
namespace {

CudaBackend make_backend() {
  CudaBackend b{};
  b.abi = FASTFIT_CUDA_ABI;
  b.size = sizeof(CudaBackend);
  b.name = "cuda";
  b.graphs = true;
  fill_runtime(b);
#define FF_KERNEL(ret, name, params) b.kernels.name = &cuda::name;
#include "kernels/kernels.def"
#undef FF_KERNEL
  return b;
}

}  // namespace
}  // namespace fastfit::cuda

PYBIND11_MODULE(_cuda, m) {
  namespace py = pybind11;
  static const fastfit::CudaBackend backend = fastfit::cuda::make_backend();
  m.doc() = "fastfit's CUDA kernels; imported by fastfit when a GPU is present";
  m.def("device_count", [] { return backend.device_count(); }, "GPUs visible (0 without a GPU or driver).");
  m.def("device_name", [] { return std::string(backend.device_name()); });
  m.def(
      "backend", [] { return py::capsule(const_cast<fastfit::CudaBackend*>(&backend), "fastfit.CudaBackend"); },
      "The backend table, for fastfit._core.install_cuda.");
}
