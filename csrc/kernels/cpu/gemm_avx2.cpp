// The skinny kernel for AVX2/FMA: 6 x 16 blocks of C in registers (gemm_skinny.h).
#include <immintrin.h>

#include <algorithm>

#include "kernels/cpu/gemm_skinny.h"

namespace fastfit::cpu {
namespace {

// Lanes j + [0, 8) that lie inside a row of N columns.
__attribute__((target("avx2"))) inline __m256i lanes_below(int64_t j, int64_t N) {
  const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(int(std::min<int64_t>(N - j, 8))), idx);
}

// C[R rows, N] = epilogue(A[R rows, K] B[K, N]): R x 16 accumulators in registers, B read straight
// from memory (no packing: for N <= 128 its panel stays in cache), the last columns masked.
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

}  // namespace

__attribute__((target("avx2,fma"))) void skinny_avx2(int64_t M, int64_t N, int64_t K, const float* A, int64_t rs,
                                                     int64_t cs, const float* B, float* C, const Epilogue& e) {
  int64_t i = 0;
  for (; i + 6 <= M; i += 6) block_avx2<6>(N, K, A + i * rs, rs, cs, B, C + i * N, e);
  const float* a = A + i * rs;
  float* c = C + i * N;
  switch (M - i) {
    case 5: block_avx2<5>(N, K, a, rs, cs, B, c, e); break;
    case 4: block_avx2<4>(N, K, a, rs, cs, B, c, e); break;
    case 3: block_avx2<3>(N, K, a, rs, cs, B, c, e); break;
    case 2: block_avx2<2>(N, K, a, rs, cs, B, c, e); break;
    case 1: block_avx2<1>(N, K, a, rs, cs, B, c, e); break;
    default: break;
  }
}

}  // namespace fastfit::cpu
