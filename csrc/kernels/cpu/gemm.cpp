// Matrix products: OpenBLAS (scipy-openblas32: prefixed symbols, its own run-time CPU dispatch), and
// our own AVX2 kernel for the skinny single-threaded products that dominate small-model training.
#include <cblas.h>
#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <stdexcept>
#include <string>

#include "core/worker.h"

#include "kernels/cpu/kernels.h"

namespace fastfit::cpu {
namespace {

// Below this many multiply-adds a second thread costs more than it brings (and OpenBLAS's spinning
// workers collapse on a busy 2-core machine); at and above it every core the call may use is used.
constexpr double kParallelMacs = 1 << 21;
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

// How a product starts and ends: C (+)= A B, optionally + bias row, then relu, all in registers.
struct Epilogue {
  bool acc = false;             // start from C
  const float* bias = nullptr;  // start from the bias row
  bool relu = false;
};

// Lanes j + [0, 8) that lie inside a row of N columns.
__attribute__((target("avx2"))) inline __m256i lanes_below(int64_t j, int64_t N) {
  const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(int(std::min<int64_t>(N - j, 8))), idx);
}

// C[R rows, N] = epilogue(A[R rows, K] B[K, N]): R x 16 accumulators in registers, B read straight
// from memory (no packing: for N <= 128 its panel stays in cache), the last columns masked.
// A(r, k) = A[r*rs + k*cs].
template <int R>
__attribute__((target("avx2,fma"))) void block_avx2(int64_t N, int64_t K, const float* A, int64_t rs, int64_t cs,
                                                    const float* B, float* C, const Epilogue& e) {
  const __m256i all = _mm256_set1_epi32(-1);
  for (int64_t j = 0; j < N; j += 16) {
    const bool full = j + 16 <= N;
    const __m256i m0 = full ? all : lanes_below(j, N), m1 = full ? all : lanes_below(j + 8, N);
    __m256 c[R][2];
    const __m256 init0 = e.bias ? _mm256_maskload_ps(e.bias + j, m0) : _mm256_setzero_ps();
    const __m256 init1 = e.bias ? _mm256_maskload_ps(e.bias + j + 8, m1) : _mm256_setzero_ps();
    for (int r = 0; r < R; ++r) {
      c[r][0] = e.acc ? _mm256_maskload_ps(C + r * N + j, m0) : init0;
      c[r][1] = e.acc ? _mm256_maskload_ps(C + r * N + j + 8, m1) : init1;
    }
    const float* b = B + j;
    const float* a = A;
    for (int64_t k = 0; k < K; ++k, b += N, a += cs) {
      const __m256 b0 = full ? _mm256_loadu_ps(b) : _mm256_maskload_ps(b, m0);
      const __m256 b1 = full ? _mm256_loadu_ps(b + 8) : _mm256_maskload_ps(b + 8, m1);
      for (int r = 0; r < R; ++r) {
        const __m256 x = _mm256_broadcast_ss(a + r * rs);
        c[r][0] = _mm256_fmadd_ps(x, b0, c[r][0]);
        c[r][1] = _mm256_fmadd_ps(x, b1, c[r][1]);
      }
    }
    const __m256 zero = _mm256_setzero_ps();
    for (int r = 0; r < R; ++r) {
      if (e.relu) {
        c[r][0] = _mm256_max_ps(c[r][0], zero);
        c[r][1] = _mm256_max_ps(c[r][1], zero);
      }
      _mm256_maskstore_ps(C + r * N + j, m0, c[r][0]);
      _mm256_maskstore_ps(C + r * N + j + 8, m1, c[r][1]);
    }
  }
}

__attribute__((target("avx2,fma"))) void skinny_avx2(int64_t M, int64_t N, int64_t K, const float* A, int64_t rs,
                                                     int64_t cs, const float* B, float* C, const Epilogue& acc) {
  int64_t i = 0;
  for (; i + 6 <= M; i += 6) block_avx2<6>(N, K, A + i * rs, rs, cs, B, C + i * N, acc);
  const float* a = A + i * rs;
  float* c = C + i * N;
  switch (M - i) {
    case 5: block_avx2<5>(N, K, a, rs, cs, B, c, acc); break;
    case 4: block_avx2<4>(N, K, a, rs, cs, B, c, acc); break;
    case 3: block_avx2<3>(N, K, a, rs, cs, B, c, acc); break;
    case 2: block_avx2<2>(N, K, a, rs, cs, B, c, acc); break;
    case 1: block_avx2<1>(N, K, a, rs, cs, B, c, acc); break;
    default: break;
  }
}

const bool g_has_avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");

// Our kernel takes the products that fit its register blocking and whose B panel stays in cache:
// there it is 1.3-1.4x OpenBLAS (bench/gemm.py); OpenBLAS's packing wins for wide N.
bool fits_skinny(bool trans_b, int64_t N, int64_t K) {
  return g_has_avx2 && !trans_b && N >= 8 && N <= 128 && K <= 4096;
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
  int64_t M, N, K;
  const float* A;
  int64_t rs, cs;
  const float* B;
  float* C;
  Epilogue e;
  std::atomic<int64_t> next{0};
  static constexpr int64_t kRows = 24;
};

void run_skinny(void* p) {
  SkinnyJob& j = *static_cast<SkinnyJob*>(p);
  for (int64_t b; (b = j.next.fetch_add(1)) * SkinnyJob::kRows < j.M;) {
    const int64_t r0 = b * SkinnyJob::kRows, rows = std::min(SkinnyJob::kRows, j.M - r0);
    skinny_avx2(rows, j.N, j.K, j.A + r0 * j.rs, j.rs, j.cs, j.B, j.C + r0 * j.N, j.e);
  }
}

void skinny(int threads, int64_t M, int64_t N, int64_t K, const float* A, int64_t rs, int64_t cs, const float* B,
            float* C, const Epilogue& e) {
  std::unique_lock<std::mutex> lk(g_pool_busy, std::defer_lock);
  if (one_thread(threads, M, N, K) || M < 2 * SkinnyJob::kRows || !lk.try_lock()) {
    skinny_avx2(M, N, K, A, rs, cs, B, C, e);
    return;
  }
  SkinnyJob job;
  job.M = M, job.N = N, job.K = K, job.A = A, job.rs = rs, job.cs = cs, job.B = B, job.C = C, job.e = e;
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
  // A transposed (weight gradients x^T dz) reads A down columns: fine on one thread, but on two
  // OpenBLAS's packed kernel measured faster, so large ones go there.
  if (alpha == 1.f && (beta == 0.f || beta == 1.f) && fits_skinny(trans_b, N, K) &&
      (!trans_a || one_thread(threads, M, N, K))) {
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

void set_num_threads(int n) {
  if (n < 1) throw std::invalid_argument("set_num_threads: expected a positive number of threads, got " + std::to_string(n));
  g_default_threads.store(n, std::memory_order_relaxed);
}
int num_threads() { return g_default_threads.load(std::memory_order_relaxed); }

}  // namespace fastfit::cpu
