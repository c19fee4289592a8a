// Matrix products on OpenBLAS (scipy-openblas32: prefixed symbols, its own run-time CPU dispatch).
#include <cblas.h>

#include "kernels/cpu/kernels.h"

namespace fastfit::cpu {

void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
          const float* B, float beta, float* C) {
  if (M == 0 || N == 0) return;
  if (K == 0) {  // BLAS leaves C untouched when K == 0 only for beta == 1
    for (int64_t i = 0; i < M * N; ++i) C[i] = beta == 0.f ? 0.f : beta * C[i];
    return;
  }
  const blasint lda = blasint(trans_a ? M : K), ldb = blasint(trans_b ? K : N);
  scipy_cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
                    blasint(M), blasint(N), blasint(K), alpha, A, lda, B, ldb, beta, C, blasint(N));
}

void set_num_threads(int n) { scipy_openblas_set_num_threads(n); }
int num_threads() { return scipy_openblas_get_num_threads(); }

}  // namespace fastfit::cpu
