// Devices: where a tensor's memory lives and which kernels run on it; the one CPU/CUDA dispatch point.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>

namespace fastfit {

enum class Device : uint8_t { cpu, cuda };
inline const char* device_name(Device d) { return d == Device::cpu ? "CPU" : "GPU"; }

// This thread's fastfit.device(...) scope (as tf.device scopes are): where eager ops run and new
// tensors go. Without a scope, new tensors go to the CPU and an op runs where its inputs are.
bool has_device_scope();
Device current_device();             // the scope's device, else the CPU
void set_device_scope(const Device* d);  // null: no scope

struct KernelTable;  // kernels/kernels.h
struct CudaBackend;  // kernels/cuda/backend.h

// The GPU as the core reaches it: through the backend that fastfit._cuda installs when it is loaded
// and a GPU is present (kernels/cuda/README.md); until then a stub backend with no device, whose
// kernels raise "<kernel> has no GPU implementation".
namespace cuda {
const CudaBackend& backend();
const KernelTable& kernels();
void install(const CudaBackend* b);  // null: back to the stubs
bool is_available();                 // a backend with a GPU is installed
// Memory freed by the backend that gave it, whichever is installed by then.
std::shared_ptr<void> alloc(size_t bytes);         // on the GPU
std::shared_ptr<void> alloc_pinned(size_t bytes);  // on the host, for copy_async
void copy(void* dst, const void* src, size_t bytes);  // waits for queued GPU work; either direction
void copy_async(void* dst, const void* src, size_t bytes);  // queued: on the GPU, or from pinned host memory
uint64_t allocations();  // device allocations so far: a captured CUDA graph is valid while this holds
// While set on this thread (capturing a CUDA graph), a device allocation raises std::logic_error.
void forbid_allocations(bool on);
}  // namespace cuda

// Bytes from src to dst, both on `device`: memcpy, or queued on the GPU.
void copy_on(Device device, void* dst, const void* src, size_t bytes);

// The kernel `name` for memory on `device`: cpu::name or the CUDA backend's (kernels/kernels.h declares
// both). Ops call every kernel through this and never branch on the device themselves:
//   FF_DISPATCH(y.device, act_forward)(act, x.f(), n, y.f());
#define FF_DISPATCH(device, name) \
  ((device) == ::fastfit::Device::cuda ? ::fastfit::cuda::kernels().name : &::fastfit::cpu::name)

}  // namespace fastfit
