// The device scope, per thread (as tf.device scopes are), and the installed CUDA backend.
#include "core/device.h"

#include <atomic>
#include <cstring>
#include <stdexcept>
#include <string>

#include "kernels/cuda/backend.h"

namespace fastfit {
namespace {
thread_local bool g_scoped = false;
thread_local Device g_scope = Device::cpu;
std::atomic<const CudaBackend*> g_backend{nullptr};
std::atomic<uint64_t> g_allocations{0};
}  // namespace

bool has_device_scope() { return g_scoped; }
Device current_device() { return g_scoped ? g_scope : Device::cpu; }
void set_device_scope(const Device* d) {
  g_scoped = d != nullptr;
  g_scope = d ? *d : Device::cpu;
}

namespace cuda {
const CudaBackend& stub_backend();  // kernels/cuda/no_cuda.cpp

const CudaBackend& backend() {
  const CudaBackend* b = g_backend.load(std::memory_order_acquire);
  return b ? *b : stub_backend();
}
const KernelTable& kernels() { return backend().kernels; }

void install(const CudaBackend* b) {
  if (b && (b->abi != FASTFIT_CUDA_ABI || b->size != sizeof(CudaBackend)))
    throw std::runtime_error("the CUDA module comes from another build of fastfit (interface " +
                             std::to_string(b->abi) + ", expected " + std::to_string(FASTFIT_CUDA_ABI) +
                             "): reinstall fastfit");
  g_backend.store(b, std::memory_order_release);
}

bool is_available() { return backend().device_count() > 0; }
thread_local bool g_forbidden = false;
void forbid_allocations(bool on) { g_forbidden = on; }

std::shared_ptr<void> alloc(size_t bytes) {
  if (g_forbidden) throw std::logic_error("a device allocation while a CUDA graph is captured");
  const CudaBackend& b = backend();
  ++g_allocations;
  return std::shared_ptr<void>(b.alloc(bytes), b.free);
}
std::shared_ptr<void> alloc_pinned(size_t bytes) {
  const CudaBackend& b = backend();
  return std::shared_ptr<void>(b.alloc_pinned(bytes), b.free_pinned);
}
void copy(void* dst, const void* src, size_t bytes) { backend().copy(dst, src, bytes); }
void copy_async(void* dst, const void* src, size_t bytes) { backend().copy_async(dst, src, bytes); }
uint64_t allocations() { return g_allocations.load(); }
}  // namespace cuda

void copy_on(Device device, void* dst, const void* src, size_t bytes) {
  if (!bytes || dst == src) return;
  if (device == Device::cuda) cuda::copy_async(dst, src, bytes);
  else std::memcpy(dst, src, bytes);
}

}  // namespace fastfit
