// Launching the kernels: every elementwise kernel is a grid-stride loop over a __device__ lambda,
// queued on this thread's current stream, its launch checked.
#pragma once
#include <algorithm>

#include "kernels/cuda/device/common.cuh"
#include "kernels/cuda/runtime.h"

namespace fastfit::cuda {

template <class F>
__global__ void each_kernel(int64_t n, F f) {
  for (int64_t i = dev::thread_index(); i < n; i += dev::grid_stride()) f(i);
}

// f(i) for i in [0, n), one thread per index (at most 2^16 blocks: larger n loop).
template <class F>
void each(const char* kernel, int64_t n, F f) {
  if (n <= 0) return;
  const unsigned blocks = std::min<unsigned>(blocks_for(n, dev::kBlock), 1u << 16);
  each_kernel<<<blocks, dev::kBlock, 0, stream()>>>(n, f);
  check_launch(kernel);
}

// y (+)= v(i) for i in [0, n).
template <class F>
void store(const char* kernel, float* y, int64_t n, bool acc, F v) {
  if (acc) each(kernel, n, [=] __device__(int64_t i) { y[i] += v(i); });
  else each(kernel, n, [=] __device__(int64_t i) { y[i] = v(i); });
}

}  // namespace fastfit::cuda
