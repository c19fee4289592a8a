// The skinny kernel for AVX-512: 14 x 32 blocks of C in registers (gemm_skinny.h).
#include <immintrin.h>

#include <algorithm>
#include <array>
#include <utility>

#include "kernels/cpu/gemm_skinny.h"

namespace fastfit::cpu {
namespace {

// Rows per block: 14 x 2 accumulators and 2 vectors of B fill 30 of the 32 registers (A's values are
// broadcast from memory by the multiply-adds themselves).
constexpr int kRows = 14;

// Lanes j + [0, 16) that lie inside a row of N columns.
inline __mmask16 lanes_below(int64_t j, int64_t N) {
  return __mmask16((1u << std::clamp<int64_t>(N - j, 0, 16)) - 1);
}

// C[R rows, j + [0, 16 V)] = epilogue(A[R rows, K] B[K, j + [0, 16 V)]): R x V accumulators in
// registers, B read straight from memory, lanes past column N masked off (never read or written).
template <int R, int V>
__attribute__((target("avx512f"), always_inline)) inline void tile(int64_t j, int64_t N, int64_t K, const float* A,
                                                                   int64_t rs, int64_t cs, const float* B, float* C,
                                                                   const Epilogue& e) {
  __mmask16 m[V];
  __m512 c[R][V];
  for (int v = 0; v < V; ++v) {
    m[v] = lanes_below(j + 16 * v, N);
    const __m512 init = e.bias ? _mm512_maskz_loadu_ps(m[v], e.bias + j + 16 * v) : _mm512_setzero_ps();
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) c[r][v] = e.acc ? _mm512_maskz_loadu_ps(m[v], C + r * N + j + 16 * v) : init;
  }
  const float* b = B + j;
  const float* a = A;
  for (int64_t k = 0; k < K; ++k, b += N, a += cs) {
    // Plain loads where the whole vector lies inside the row: masked ones made this loop 15-20% slower.
    __m512 bk[V];
    for (int v = 0; v < V; ++v)
      bk[v] = m[v] == 0xFFFF ? _mm512_loadu_ps(b + 16 * v) : _mm512_maskz_loadu_ps(m[v], b + 16 * v);
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      const __m512 x = _mm512_set1_ps(a[r * rs]);
      for (int v = 0; v < V; ++v) c[r][v] = _mm512_fmadd_ps(x, bk[v], c[r][v]);
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < V; ++v) {
      if (e.relu) c[r][v] = _mm512_maskz_max_ps(m[v], c[r][v], _mm512_setzero_ps());  // the stored lanes
      _mm512_mask_storeu_ps(C + r * N + j + 16 * v, m[v], c[r][v]);
    }
}

// R rows of C: tiles of 32 columns, and one of 16 when at most 16 are left (N = 10: no wasted vector).
template <int R>
__attribute__((target("avx512f"))) void rows(int64_t N, int64_t K, const float* A, int64_t rs, int64_t cs,
                                             const float* B, float* C, const Epilogue& e) {
  int64_t j = 0;
  for (; j + 16 < N; j += 32) tile<R, 2>(j, N, K, A, rs, cs, B, C, e);
  if (j < N) tile<R, 1>(j, N, K, A, rs, cs, B, C, e);
}

// kTail[r - 1] = rows<r>, for the last M % kRows rows.
template <int... R>
constexpr std::array<decltype(&rows<1>), sizeof...(R)> tails(std::integer_sequence<int, R...>) {
  return {&rows<R + 1>...};
}
constexpr auto kTail = tails(std::make_integer_sequence<int, kRows - 1>());

}  // namespace

__attribute__((target("avx512f"))) void skinny_avx512(int64_t M, int64_t N, int64_t K, const float* A, int64_t rs,
                                                      int64_t cs, const float* B, float* C, const Epilogue& e) {
  int64_t i = 0;
  for (; i + kRows <= M; i += kRows) rows<kRows>(N, K, A + i * rs, rs, cs, B, C + i * N, e);
  if (i < M) kTail[M - i - 1](N, K, A + i * rs, rs, cs, B, C + i * N, e);
}

}  // namespace fastfit::cpu
