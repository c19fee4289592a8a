// Host stand-in for kernels/cuda/launch.cuh: each(n, f) calls f(i) for i in order.
#pragma once
#include "kernels/cuda/device/common.cuh"
#include "kernels/cuda/runtime.h"

namespace fastfit::cuda {

template <class F>
void each(const char*, int64_t n, F f) {
  for (int64_t i = 0; i < n; ++i) f(i);
}

template <class F>
void store(const char* kernel, float* y, int64_t n, bool acc, F v) {
  if (acc) each(kernel, n, [=](int64_t i) { y[i] += v(i); });
  else each(kernel, n, [=](int64_t i) { y[i] = v(i); });
}

}  // namespace fastfit::cuda
