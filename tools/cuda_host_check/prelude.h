// Included before each kernel file: the CUDA keywords and intrinsics the kernels use, on the host.
// Threads run one after another, so atomics are plain updates and a block's barrier is a no-op (the
// two kernels that need a real block, reduce_forward and hinge_labels, are left out; see run.sh).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <utility>

#define __device__
#define __global__
#define __host__
#define __shared__
#define __restrict__

struct HostDim {
  unsigned x = 0;
};
inline HostDim threadIdx, blockIdx, blockDim{1}, gridDim{1};
inline void __syncthreads() {}
inline int __syncthreads_or(int v) { return v; }
inline unsigned __umulhi(unsigned a, unsigned b) { return unsigned((uint64_t(a) * b) >> 32); }
inline float atomicAdd(float* p, float v) { return std::exchange(*p, *p + v); }
inline double atomicAdd(double* p, double v) { return std::exchange(*p, *p + v); }
inline unsigned long long atomicMin(unsigned long long* p, unsigned long long v) {
  return std::exchange(*p, std::min(*p, v));
}
