// The emulated backend, for tests on machines without a GPU: a "GPU" whose memory is host memory and
// whose kernels are the CPU's. It runs every host-side path of the GPU code (placement, implicit
// copies, a Program's mirrors and device steps, the device kernels' callers) and must give the CPU's
// numbers. It cannot capture CUDA graphs; its checks are never deferred (kernels return what they find).
#include <cstdlib>
#include <cstring>
#include <new>

#include "kernels/cuda/backend.h"

namespace fastfit::cuda {
namespace {

void* host_alloc(size_t bytes) {
  void* p = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
  if (!p) throw std::bad_alloc();
  return p;
}

CudaBackend make_emulated() {
  CudaBackend b{};
  b.abi = FASTFIT_CUDA_ABI;
  b.size = sizeof(CudaBackend);
  b.name = "emulated";
  b.graphs = false;
  b.device_count = [] { return 1; };
  b.device_name = [] { return "emulated GPU (host memory, CPU kernels)"; };
  b.stream_create = []() -> void* { return nullptr; };
  b.stream_destroy = [](void*) {};
  b.set_stream = [](void*) {};
  b.alloc = host_alloc;
  b.free = std::free;
  b.copy = [](void* dst, const void* src, size_t bytes) { std::memmove(dst, src, bytes); };
  b.copy_async = b.copy;
  b.alloc_pinned = host_alloc;
  b.free_pinned = std::free;
  b.synchronize = [] {};
  b.capture_begin = [] {};
  b.capture_end = []() -> void* { return nullptr; };
  b.graph_launch = [](void*) {};
  b.graph_free = [](void*) {};
  b.set_deferred = [](bool) {};
  b.take_error = [] { return KernelError{}; };
#define FF_KERNEL(ret, name, params) b.kernels.name = &cpu::name;
#include "kernels/kernels.def"
#undef FF_KERNEL
  return b;
}

}  // namespace

const CudaBackend& emulated_backend() {
  static const CudaBackend emulated = make_emulated();
  return emulated;
}

}  // namespace fastfit::cuda
