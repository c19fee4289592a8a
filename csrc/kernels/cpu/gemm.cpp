// Matrix products on OpenBLAS (scipy-openblas32: prefixed symbols, its own run-time CPU dispatch).
#include <cblas.h>

#include <atomic>
#include <stdexcept>
#include <string>

#include "kernels/cpu/kernels.h"

namespace fastfit::cpu {
namespace {

// Below this many multiply-adds a second thread costs more than it brings (and OpenBLAS's spinning
// workers collapse on a busy 2-core machine); at and above it every core is used.
constexpr double kParallelMacs = 1 << 21;
int g_max_threads = scipy_openblas_get_num_threads();  // OpenBLAS's default: the cores we may use
int g_threads = -1;               // what we last asked OpenBLAS for (it only changes with the shape mix)
std::atomic<bool> g_single{false};  // set while our own threads split the work

void use_threads(int n) {
  if (n != g_threads) {
    scipy_openblas_set_num_threads(n);
    g_threads = n;
  }
}

}  // namespace

void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
          const float* B, float beta, float* C) {
  if (M == 0 || N == 0) return;
  if (K == 0) {  // BLAS leaves C untouched when K == 0 only for beta == 1
    for (int64_t i = 0; i < M * N; ++i) C[i] = beta == 0.f ? 0.f : beta * C[i];
    return;
  }
  if (!g_single.load(std::memory_order_relaxed))
    use_threads(double(M) * double(N) * double(K) < kParallelMacs ? 1 : num_threads());
  const blasint lda = blasint(trans_a ? M : K), ldb = blasint(trans_b ? K : N);
  scipy_cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
                    blasint(M), blasint(N), blasint(K), alpha, A, lda, B, ldb, beta, C, blasint(N));
}

void set_num_threads(int n) {
  if (n < 1) throw std::invalid_argument("set_num_threads: expected a positive number of threads, got " + std::to_string(n));
  g_max_threads = n;
  g_threads = -1;
}
int num_threads() { return g_max_threads; }

void set_blas_single_threaded(bool on) {
  if (on) use_threads(1);  // before the other threads start calling gemm
  g_single.store(on, std::memory_order_relaxed);
}

}  // namespace fastfit::cpu
