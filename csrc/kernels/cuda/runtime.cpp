// The CUDA run time behind CudaBackend: device and pinned memory (stream-ordered pool), this thread's
// current stream, graph capture, and the records of checking kernels.
#include "kernels/cuda/runtime.h"

#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace fastfit::cuda {
namespace {

constexpr int kRecords = 8;  // 7 for deferred checks (told apart by kernel and bound), 1 for eager ones
constexpr unsigned long long kClear = ~0ull;

struct Check {
  const char* kernel;
  int64_t bound;
};

struct Context {  // per thread
  cudaStream_t stream = nullptr;  // null: the legacy default stream
  unsigned long long* records = nullptr;
  bool deferred = false;
  // What deferred record k holds: one record per (kernel, bound), kept for good, since a captured
  // graph writes the record it was captured with every time it runs.
  std::vector<Check> checks;
};
thread_local Context g;

int device_count() {
  static const int n = [] {
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess) {
      cudaGetLastError();
      return 0;
    }
    return count;
  }();
  return n;
}

const char* device_name() {
  static const std::string name = [] {
    cudaDeviceProp p{};
    return device_count() > 0 && cudaGetDeviceProperties(&p, 0) == cudaSuccess ? std::string(p.name) : std::string();
  }();
  return name.c_str();
}

// Freed blocks stay in the pool for the next allocation instead of going back to the driver at every
// synchronisation (the default), which would make each step's first allocations slow.
void keep_pool() {
  static std::once_flag once;
  std::call_once(once, [] {
    cudaMemPool_t pool;
    check(cudaDeviceGetDefaultMemPool(&pool, 0), "cudaDeviceGetDefaultMemPool");
    uint64_t keep = ~0ull;
    check(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep), "cudaMemPoolSetAttribute");
  });
}

void* alloc(size_t bytes) {
  keep_pool();
  void* p = nullptr;
  const cudaError_t e = cudaMallocAsync(&p, bytes ? bytes : 1, stream());
  if (e == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    throw std::runtime_error("out of GPU memory allocating " + std::to_string(bytes) + " bytes");
  }
  check(e, "cudaMallocAsync");
  return p;
}

void free_memory(void* p) {  // called from destructors: never raises (the context may be gone at exit)
  if (p && cudaFreeAsync(p, stream()) != cudaSuccess) cudaGetLastError();
}

void copy_now(void* dst, const void* src, size_t bytes) {
  if (!bytes) return;
  check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault, stream()), "cudaMemcpyAsync");
  check(cudaStreamSynchronize(stream()), "cudaStreamSynchronize");
}

void copy_queued(void* dst, const void* src, size_t bytes) {
  if (bytes) check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault, stream()), "cudaMemcpyAsync");
}

void* alloc_pinned(size_t bytes) {
  void* p = nullptr;
  check(cudaMallocHost(&p, bytes ? bytes : 1), "cudaMallocHost");
  return p;
}

void free_pinned(void* p) {
  if (p && cudaFreeHost(p) != cudaSuccess) cudaGetLastError();
}

void* stream_create() {
  cudaStream_t s = nullptr;
  check(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), "cudaStreamCreateWithFlags");
  return s;
}

void stream_destroy(void* s) {
  if (s && cudaStreamDestroy(static_cast<cudaStream_t>(s)) != cudaSuccess) cudaGetLastError();
}

void capture_begin() {
  check(cudaStreamBeginCapture(stream(), cudaStreamCaptureModeThreadLocal), "cudaStreamBeginCapture");
}

void* capture_end() {
  cudaGraph_t graph = nullptr;
  if (cudaStreamEndCapture(stream(), &graph) != cudaSuccess || !graph) {
    cudaGetLastError();
    return nullptr;
  }
  cudaGraphExec_t exec = nullptr;
  const cudaError_t e = cudaGraphInstantiate(&exec, graph, 0);
  cudaGraphDestroy(graph);
  if (e != cudaSuccess) {
    cudaGetLastError();
    return nullptr;
  }
  return exec;
}

void graph_launch(void* graph) {
  check(cudaGraphLaunch(static_cast<cudaGraphExec_t>(graph), stream()), "cudaGraphLaunch");
}

void graph_free(void* graph) {
  if (graph && cudaGraphExecDestroy(static_cast<cudaGraphExec_t>(graph)) != cudaSuccess) cudaGetLastError();
}

unsigned long long* records() {
  if (!g.records) {  // plain allocation: it lives as long as the thread may launch checking kernels
    check(cudaMalloc(&g.records, kRecords * sizeof(unsigned long long)), "cudaMalloc");
    check(cudaMemsetAsync(g.records, 0xff, kRecords * sizeof(unsigned long long), stream()), "cudaMemsetAsync");
  }
  return g.records;
}

void set_deferred(bool on) { g.deferred = on; }

KernelError take_error() {
  KernelError err;
  if (!g.records) return err;
  unsigned long long found[kRecords];
  copy_now(found, g.records, sizeof found);
  for (size_t k = 0; k < g.checks.size() && k < kRecords; ++k) {
    if (found[k] == kClear) continue;
    err.position = int64_t(found[k] >> 32);
    err.value = int32_t(uint32_t(found[k]));
    err.bound = g.checks[k].bound;
    err.kernel = g.checks[k].kernel;
    break;
  }
  check(cudaMemsetAsync(g.records, 0xff, sizeof found, stream()), "cudaMemsetAsync");
  return err;
}

}  // namespace

cudaStream_t stream() { return g.stream; }

void check(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return;
  cudaGetLastError();  // clear it, so the next call does not report it again
  throw std::runtime_error(std::string("CUDA error in ") + what + ": " + cudaGetErrorString(e));
}

void check_launch(const char* kernel) { check(cudaGetLastError(), kernel); }

unsigned long long* check_record(const char* kernel, int64_t bound) {
  unsigned long long* r = records();
  if (!g.deferred) return r + kRecords - 1;  // the eager record: read and cleared right after the launch
  size_t k = 0;
  while (k < g.checks.size() && (g.checks[k].kernel != kernel || g.checks[k].bound != bound)) ++k;
  if (k == g.checks.size() && k < kRecords - 1) g.checks.push_back({kernel, bound});
  return r + std::min(k, size_t(kRecords - 2));  // more kinds than records: the last deferred one is shared
}

int64_t first_bad(unsigned long long* record) {
  if (g.deferred) return -1;
  unsigned long long found = kClear;
  copy_now(&found, record, sizeof found);
  if (found == kClear) return -1;
  copy_now(record, &kClear, sizeof kClear);
  return int64_t(found >> 32);
}

void fill_runtime(CudaBackend& b) {
  b.device_count = device_count;
  b.device_name = device_name;
  b.stream_create = stream_create;
  b.stream_destroy = stream_destroy;
  b.set_stream = [](void* s) { g.stream = static_cast<cudaStream_t>(s); };
  b.alloc = alloc;
  b.free = free_memory;
  b.copy = copy_now;
  b.copy_async = copy_queued;
  b.alloc_pinned = alloc_pinned;
  b.free_pinned = free_pinned;
  b.synchronize = [] { check(cudaStreamSynchronize(stream()), "cudaStreamSynchronize"); };
  b.capture_begin = capture_begin;
  b.capture_end = capture_end;
  b.graph_launch = graph_launch;
  b.graph_free = graph_free;
  b.set_deferred = set_deferred;
  b.take_error = take_error;
}

}  // namespace fastfit::cuda
