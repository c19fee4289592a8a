// Devices: where a tensor's memory lives and which kernels run on it; the one CPU/CUDA dispatch point.
#pragma once
#include <cstddef>
#include <cstdint>

namespace fastfit {

enum class Device : uint8_t { cpu, cuda };
inline const char* device_name(Device d) { return d == Device::cpu ? "CPU" : "GPU"; }

// The device this thread's eager ops run on (fastfit.device(...) in Python); CPU unless set.
Device current_device();
void set_current_device(Device d);

// Memory on the GPU. Defined by the CUDA build, or as stubs that throw (kernels/cuda/no_cuda.cpp).
namespace cuda {
bool is_available();  // built with CUDA and a GPU is present
void* alloc(size_t bytes);
void free(void* p);
void copy(void* dst, const void* src, size_t bytes);  // either direction (unified addressing)
}  // namespace cuda

// The kernel `name` for memory on `device`: cpu::name or cuda::name (kernels/kernels.h declares both).
// Ops call every kernel through this and never branch on the device themselves:
//   FF_DISPATCH(y.device, act_forward)(act, x.f(), n, y.f());
#define FF_DISPATCH(device, name) \
  ((device) == ::fastfit::Device::cuda ? &::fastfit::cuda::name : &::fastfit::cpu::name)

}  // namespace fastfit
