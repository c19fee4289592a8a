// Devices: this thread's device scope, the CUDA backend (installed from fastfit._cuda's capsule, or the
// emulated one for tests), and what the GPU is.
#include "bindings/bindings.h"
#include "kernels/cuda/backend.h"

namespace fastfit {
namespace cuda {
const CudaBackend& emulated_backend();  // kernels/cuda/emulated.cpp
}

namespace bind {

void init_device(py::module_& m) {
  m.def(
      "set_device",
      [](const std::string& type) {
        if (type != "CPU" && type != "GPU" && !type.empty())
          throw py::value_error("device_type must be 'CPU', 'GPU' or '' (no scope), got '" + type + "'");
        const Device d = type == "GPU" ? Device::cuda : Device::cpu;
        set_device_scope(type.empty() ? nullptr : &d);
      },
      py::arg("device_type"), "This thread's device scope: 'CPU', 'GPU', or '' for none.");
  m.def("get_device", [] { return has_device_scope() ? std::string(device_name(current_device())) : std::string(); },
        "This thread's device scope: 'CPU', 'GPU', or '' when there is none.");
  m.def("cuda_is_available", &cuda::is_available, "A CUDA backend with a GPU is installed.");
  m.def("cuda_backend", [] { return std::string(cuda::backend().name); }, "'cuda', 'emulated' or 'none'.");
  m.def("cuda_device_name", [] { return std::string(cuda::backend().device_name()); });
  m.def(
      "install_cuda",
      [](const py::capsule& capsule) {
        if (std::string(capsule.name() ? capsule.name() : "") != "fastfit.CudaBackend")
          throw py::type_error("install_cuda: expected the capsule of fastfit._cuda.backend()");
        cuda::install(capsule.get_pointer<CudaBackend>());
      },
      py::arg("backend"), "Installs fastfit._cuda's backend (fastfit does this at import when a GPU is present).");
  m.def(
      "_emulate_gpu", [](bool on) { cuda::install(on ? &cuda::emulated_backend() : nullptr); }, py::arg("on"),
      "Tests only: a GPU emulated with host memory and the CPU kernels (on), or the stubs again (off).");
}

}  // namespace bind
}  // namespace fastfit
