// Host-side helpers of the CUDA kernels: the current stream, launch checks, the records that checking
// kernels (labels, ids) write their first bad entry into. Part of fastfit._cuda only.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/cuda/backend.h"

namespace fastfit::cuda {

cudaStream_t stream();                        // this thread's current stream
void check(cudaError_t e, const char* what);  // raises std::runtime_error naming `what`
void check_launch(const char* kernel);        // after a launch: a bad launch raises here

inline unsigned blocks_for(int64_t n, int block) {
  return unsigned(n > 0 ? (n + block - 1) / block : 1);
}

// A checking kernel's record (device memory, one word: see device/common.cuh record_bad), registered
// with what it checks; after the launch, `first_bad` gives the first bad position found (-1: none)
// and clears the record, or -1 at once while checks are deferred (take_error reports it later).
unsigned long long* check_record(const char* kernel, int64_t bound);
int64_t first_bad(unsigned long long* record);

// The backend's run-time functions (runtime.cpp).
void fill_runtime(CudaBackend& b);

}  // namespace fastfit::cuda
