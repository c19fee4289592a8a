// What every kernel file shares on the device: thread indexing, float64 atomics, bad-entry records.
// Includes nothing outside device/.
#pragma once
#include <cstdint>

namespace fastfit::cuda::dev {

constexpr int kBlock = 256;  // threads per block of the elementwise kernels

// This thread's index in a 1-D grid, and the grid's stride, for grid-stride loops.
__device__ inline int64_t thread_index() { return int64_t(blockIdx.x) * blockDim.x + threadIdx.x; }
__device__ inline int64_t grid_stride() { return int64_t(gridDim.x) * blockDim.x; }

// A checking kernel's report: the record keeps the smallest (position, value) seen, so the first bad
// entry wins whatever order the threads run in.
__device__ inline void record_bad(unsigned long long* record, int64_t position, int32_t value) {
  atomicMin(record, (static_cast<unsigned long long>(position) << 32) | static_cast<uint32_t>(value));
}

// Classes or ids stored as int32 or float32 (kernels.h Labels), read on the device.
__device__ inline int32_t label_at(const void* data, bool is_int, int64_t i) {
  return is_int ? static_cast<const int32_t*>(data)[i] : static_cast<int32_t>(static_cast<const float*>(data)[i]);
}

}  // namespace fastfit::cuda::dev
