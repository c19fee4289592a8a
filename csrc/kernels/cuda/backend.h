// CudaBackend: everything fastfit._cuda gives fastfit._core, as one table of functions (README.md
// beside this file). Plain C++: both modules include it, neither through the other's headers.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/kernels.h"

namespace fastfit {

// The first bad entry a checking kernel met while checks were deferred (position < 0: none).
struct KernelError {
  int64_t position = -1;    // in the kernel's input: a batch row, an id's index
  int64_t value = 0;        // the label or id found there
  int64_t bound = 0;        // values must lie in [0, bound)
  const char* kernel = "";  // which kernel checked: "sparse_crossentropy_forward"
};

// FASTFIT_CUDA_ABI: a hash of this file and of the kernel interface, set by CMake for both modules,
// so _core refuses a _cuda from another build.
#ifndef FASTFIT_CUDA_ABI
#define FASTFIT_CUDA_ABI 0u
#endif

struct CudaBackend {
  uint32_t abi;   // FASTFIT_CUDA_ABI of the module that filled it
  uint32_t size;  // sizeof(CudaBackend) there
  const char* name;  // "cuda", "emulated" or "none"
  bool graphs;       // can capture CUDA graphs

  int (*device_count)();  // GPUs visible (0: none, or no driver)
  const char* (*device_name)();
  // Work is queued on this thread's current stream: the legacy default stream (ordered with every
  // thread's work) unless set_stream chose another (a GPU Program's own, for the length of a call).
  void* (*stream_create)();
  void (*stream_destroy)(void* stream);
  void (*set_stream)(void* stream);  // null: the default stream
  void* (*alloc)(size_t bytes);      // ordered on the current stream
  void (*free)(void* p);
  void (*copy)(void* dst, const void* src, size_t bytes);        // after the queued work; either direction
  void (*copy_async)(void* dst, const void* src, size_t bytes);  // queued: on the GPU, or from pinned memory
  void* (*alloc_pinned)(size_t bytes);                           // host memory copy_async can read
  void (*free_pinned)(void* p);
  void (*synchronize)();  // waits for the current stream's queued work

  // CUDA graphs of the current stream (not the default one): begin, then end gives the graph ready to
  // launch, or null when the backend cannot capture or the capture failed (the work queued meanwhile
  // did not run).
  void (*capture_begin)();
  void* (*capture_end)();
  void (*graph_launch)(void* graph);
  void (*graph_free)(void* graph);

  // Deferred checks: while on, checking kernels (labels, ids) record the first bad entry and return -1;
  // take_error waits for the queued work and returns (and clears) what was recorded.
  void (*set_deferred)(bool on);
  KernelError (*take_error)();

  KernelTable kernels;
};

}  // namespace fastfit
