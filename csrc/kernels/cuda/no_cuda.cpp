// The stub backend, installed until fastfit._cuda installs its own: no GPU, and every kernel and
// memory function raises "<what> has no GPU implementation" (one stub per kernel of kernels.def).
#include <stdexcept>
#include <string>

#include "kernels/cuda/backend.h"

namespace fastfit::cuda {
namespace {

[[noreturn]] void unavailable(const char* what) {
  throw std::runtime_error(std::string(what) + " has no GPU implementation: no CUDA backend is loaded "
                           "(fastfit was built without CUDA, or no GPU is present)");
}

namespace stub {
#pragma GCC diagnostic ignored "-Wunused-parameter"  // the stubs name their parameters but ignore them
#define FF_KERNEL(ret, name, params) \
  ret name params { unavailable("kernel " #name); }
#include "kernels/kernels.def"
#undef FF_KERNEL
}  // namespace stub

CudaBackend make_stubs() {
  CudaBackend b{};
  b.abi = FASTFIT_CUDA_ABI;
  b.size = sizeof(CudaBackend);
  b.name = "none";
  b.graphs = false;
  b.device_count = [] { return 0; };
  b.device_name = [] { return ""; };
  b.stream_create = []() -> void* { unavailable("GPU stream"); };
  b.stream_destroy = [](void*) {};
  b.set_stream = [](void*) {};
  b.alloc = [](size_t) -> void* { unavailable("GPU memory"); };
  b.free = [](void*) { unavailable("GPU memory"); };
  b.copy = [](void*, const void*, size_t) { unavailable("GPU memory"); };
  b.copy_async = [](void*, const void*, size_t) { unavailable("GPU memory"); };
  b.alloc_pinned = [](size_t) -> void* { unavailable("GPU memory"); };
  b.free_pinned = [](void*) { unavailable("GPU memory"); };
  b.synchronize = [] {};
  b.capture_begin = [] {};
  b.capture_end = []() -> void* { return nullptr; };
  b.graph_launch = [](void*) { unavailable("CUDA graph"); };
  b.graph_free = [](void*) {};
  b.set_deferred = [](bool) {};
  b.take_error = [] { return KernelError{}; };
#define FF_KERNEL(ret, name, params) b.kernels.name = &stub::name;
#include "kernels/kernels.def"
#undef FF_KERNEL
  return b;
}

}  // namespace

const CudaBackend& stub_backend() {
  static const CudaBackend stubs = make_stubs();
  return stubs;
}

}  // namespace fastfit::cuda
