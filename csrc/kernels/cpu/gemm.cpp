// Matrix products: OpenBLAS (scipy-openblas32: prefixed symbols, its own run-time CPU dispatch), and
// our own kernels (AVX-512 or AVX2, gemm_skinny.h) for the skinny products that dominate small models.
#include <cblas.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <stdexcept>
#include <string>

#include "core/worker.h"

#include "kernels/cpu/gemm_skinny.h"
#include "kernels/cpu/kernels.h"

namespace fastfit::cpu {
namespace {

// Below this many multiply-adds a second thread costs more than it brings (and OpenBLAS's spinning
// workers collapse on a busy 2-core machine); at and above it every core the call may use is used.
constexpr double kParallelMacs = 1 << 21;
// Our kernel hands rows to its helper from here: on an idle 2-core machine that measured 1.2-1.4x at
// 2^19 multiply-adds (AVX-512) and break-even near 2^17.
constexpr double kSplitMacs = 1 << 19;
// A call's default thread count: at first OpenBLAS's default, the cores we may use.
std::atomic<int> g_default_threads{scipy_openblas_get_num_threads()};

// OpenBLAS's thread count is process-wide. Calls that want the current count run concurrently
// (shared lock); a call that wants another count sets it and runs alone (exclusive lock), so no
// call sees the count change under it.
std::shared_mutex g_blas_lock;
int g_blas_threads = scipy_openblas_get_num_threads();

template <class F>
void with_blas_threads(int n, F&& call) {
  std::shared_lock<std::shared_mutex> shared(g_blas_lock);
  if (g_blas_threads == n) return call();
  shared.unlock();
  std::unique_lock<std::shared_mutex> alone(g_blas_lock);
  if (g_blas_threads != n) {
    scipy_openblas_set_num_threads(n);
    g_blas_threads = n;
  }
  call();
}

// Our kernel for this CPU (gemm_skinny.h) and the products it takes: the shapes where it measured
// faster than OpenBLAS on one thread (OpenBLAS picks AVX-512 kernels of its own on an AVX-512 CPU).
struct Skinny {
  const char* isa;
  SkinnyKernel kernel;
  int64_t min_n, max_n, max_k;
  int64_t max_kn;  // B's elements: it stays in cache while every block of rows streams it
  int64_t deal;    // rows dealt to a thread at a time (a few register blocks)
};
constexpr int64_t kAny = INT64_MAX;
// AVX2 measured on an AMD EPYC. AVX-512: OpenBLAS has a fast path for N = 8, where half of each of our
// vectors would be idle; above 1 MB, B falls out of the 2 MB L2 while a block of rows streams it.
constexpr Skinny kAvx2{"avx2", &skinny_avx2, 8, 128, 4096, kAny, 24};
constexpr Skinny kAvx512{"avx512", &skinny_avx512, 9, kAny, kAny, 1 << 18, 28};
constexpr Skinny kNone{"none", nullptr, 0, 0, 0, 0, 0};  // OpenBLAS takes every product

// AVX-512 where the CPU has it, else AVX2/FMA, else none. FASTFIT_GEMM_ISA=avx2 or =none caps the
// choice (and keeps the AVX-512-only kernels off, avx512_kernels()), to run the other paths on one
// machine; it is read on the first product, and an unknown value raises there.
const Skinny& skinny_kernel() {
  static const Skinny& chosen = []() -> const Skinny& {
    const char* env = std::getenv("FASTFIT_GEMM_ISA");
    const std::string cap = env && *env ? env : "avx512";
    if (cap != "avx512" && cap != "avx2" && cap != "none")
      throw std::invalid_argument("FASTFIT_GEMM_ISA: expected avx512, avx2 or none, got '" + cap + "'");
    if (cap == "avx512" && __builtin_cpu_supports("avx512f")) return kAvx512;
    if (cap != "none" && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return kAvx2;
    return kNone;
  }();
  return chosen;
}

bool fits_skinny(bool trans_b, int64_t N, int64_t K) {
  const Skinny& s = skinny_kernel();
  return s.kernel && !trans_b && N >= s.min_n && N <= s.max_n && K <= s.max_k && K * N <= s.max_kn;
}
bool one_thread(int threads, int64_t M, int64_t N, int64_t K) {
  return threads <= 1 || double(M) * N * K < kParallelMacs;
}

// Large skinny products split their rows with a helper thread. The lock keeps concurrent callers
// (other Python threads) from sharing it: they run on one thread instead.
std::mutex g_pool_busy;
std::unique_ptr<Worker> g_pool;

// Rows are dealt out in blocks from a shared counter, so a helper that gets descheduled holds up
// at most one block (each block's result is the same whichever thread computes it).
struct SkinnyJob {
  SkinnyKernel kernel;
  int64_t rows;  // per block dealt out
  int64_t M, N, K;
  const float* A;
  int64_t rs, cs;
  const float* B;
  float* C;
  Epilogue e;
  std::atomic<int64_t> next{0};
};

void run_skinny(void* p) {
  SkinnyJob& j = *static_cast<SkinnyJob*>(p);
  for (int64_t b; (b = j.next.fetch_add(1)) * j.rows < j.M;) {
    const int64_t r0 = b * j.rows;
    j.kernel(std::min(j.rows, j.M - r0), j.N, j.K, j.A + r0 * j.rs, j.rs, j.cs, j.B, j.C + r0 * j.N, j.e);
  }
}

void skinny(int threads, int64_t M, int64_t N, int64_t K, const float* A, int64_t rs, int64_t cs, const float* B,
            float* C, const Epilogue& e) {
  const Skinny& s = skinny_kernel();
  std::unique_lock<std::mutex> lk(g_pool_busy, std::defer_lock);
  if (threads <= 1 || double(M) * N * K < kSplitMacs || M < 2 * s.deal || !lk.try_lock()) {
    s.kernel(M, N, K, A, rs, cs, B, C, e);
    return;
  }
  SkinnyJob job{s.kernel, s.deal, M, N, K, A, rs, cs, B, C, e};
  Worker::ensure(g_pool).run_alongside(&run_skinny, &job, [&] { run_skinny(&job); });
}

}  // namespace

void gemm(int threads, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
          const float* B, float beta, float* C) {
  if (M == 0 || N == 0) return;
  if (K == 0) {  // BLAS leaves C untouched when K == 0 only for beta == 1
    for (int64_t i = 0; i < M * N; ++i) C[i] = beta == 0.f ? 0.f : beta * C[i];
    return;
  }
  // A transposed (weight gradients x^T dz) reads A down columns. On an idle machine OpenBLAS's packed
  // kernel on two threads measured faster for large ones, but on a busy one its threads wait for each
  // other: 784x64x64 (the guide's first weight gradient) took 2.3-2.7 ms there against 40 us on one
  // thread, while our split degrades to ~70 us (the caller takes over the helper's rows).
  if (alpha == 1.f && (beta == 0.f || beta == 1.f) && fits_skinny(trans_b, N, K)) {
    Epilogue e;
    e.acc = beta == 1.f;
    skinny(threads, M, N, K, A, trans_a ? 1 : K, trans_a ? M : 1, B, C, e);
    return;
  }
  const blasint lda = blasint(trans_a ? M : K), ldb = blasint(trans_b ? K : N);
  with_blas_threads(one_thread(threads, M, N, K) ? 1 : threads, [&] {
    scipy_cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
                      blasint(M), blasint(N), blasint(K), alpha, A, lda, B, ldb, beta, C, blasint(N));
  });
}

void dense_forward(int threads, int64_t M, int64_t N, int64_t K, const float* x, const float* w, const float* bias,
                   Act act, float* y) {
  if (M > 0 && K > 0 && fits_skinny(false, N, K)) {
    Epilogue e;
    e.bias = bias;
    e.relu = act == Act::relu;
    skinny(threads, M, N, K, x, K, 1, w, y, e);
    if (act == Act::sigmoid || act == Act::tanh) act_forward(act, y, M * N, y);
    return;
  }
  if (bias)
    for (int64_t i = 0; i < M; ++i) std::copy(bias, bias + N, y + i * N);
  gemm(threads, false, false, M, N, K, 1.f, x, w, bias ? 1.f : 0.f, y);
  if (act != Act::linear) act_forward(act, y, M * N, y);
}

const char* gemm_isa() { return skinny_kernel().isa; }
bool avx512_kernels() { return &skinny_kernel() == &kAvx512; }

void set_num_threads(int n) {
  if (n < 1) throw std::invalid_argument("set_num_threads: expected a positive number of threads, got " + std::to_string(n));
  g_default_threads.store(n, std::memory_order_relaxed);
}
int num_threads() { return g_default_threads.load(std::memory_order_relaxed); }

}  // namespace fastfit::cpu
