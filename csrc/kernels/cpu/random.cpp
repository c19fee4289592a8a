// Counter-based random numbers: Philox4x32-10 (Salmon et al., SC'11; Random123), and dropout and noise on it.
// A stream's numbers come in batches of 64 from 16 blocks: number 64 b + 16 w + l is word w of block
// 16 b + l, whose counter is (block, stream, 0). Any range of numbers is computed directly, so a
// batch split across threads draws exactly the numbers of the whole, on any CPU.
#include <algorithm>
#include <cmath>
#include <cstring>

// GCC 12 warns inside the AVX-512 intrinsics' own _mm512_undefined_epi32 (GCC bug 105593, fixed in 13).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include "kernels/cpu/kernels.h"

namespace fastfit::cpu {
namespace {

constexpr uint32_t kMul0 = 0xD2511F53, kMul1 = 0xCD9E8D57;   // round multipliers
constexpr uint32_t kBump0 = 0x9E3779B9, kBump1 = 0xBB67AE85;  // key schedule (golden ratio, sqrt(3) - 1)
constexpr int kBlocks = 16, kBatch = 4 * kBlocks;  // a batch: 16 blocks, 64 numbers
constexpr int kChunk = 8 * kBatch;                 // computed together: 8 AVX-512 chains in flight
constexpr uint32_t kLaneIndex[kBlocks] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

// Vectors of 4, 8 or 16 lanes (SSE2, AVX2, AVX-512), one block per lane.
typedef uint32_t u32x4 __attribute__((vector_size(16)));
typedef uint32_t u32x8 __attribute__((vector_size(32)));
typedef uint32_t u32x16 __attribute__((vector_size(64)));

// hi, lo = the two words of a * m per lane: even and odd lanes as 32x32->64 products (pmuludq).
inline void mulhilo(const u32x4& a, uint32_t m, u32x4& hi, u32x4& lo) {  // SSE2: every x86-64
  const __m128i x = (__m128i)a, mm = _mm_set1_epi32(int(m)), low = _mm_set1_epi64x(0xffffffff);
  const __m128i even = _mm_mul_epu32(x, mm), odd = _mm_mul_epu32(_mm_srli_epi64(x, 32), mm);
  lo = (u32x4)_mm_or_si128(_mm_and_si128(even, low), _mm_slli_epi64(odd, 32));
  hi = (u32x4)_mm_or_si128(_mm_srli_epi64(even, 32), _mm_andnot_si128(low, odd));
}
__attribute__((target("avx2"))) inline void mulhilo(const u32x8& a, uint32_t m, u32x8& hi, u32x8& lo) {
  const __m256i x = (__m256i)a, mm = _mm256_set1_epi32(int(m));
  const __m256i even = _mm256_mul_epu32(x, mm), odd = _mm256_mul_epu32(_mm256_srli_epi64(x, 32), mm);
  lo = (u32x8)_mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
  hi = (u32x8)_mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
}
__attribute__((target("avx512f"))) inline void mulhilo(const u32x16& a, uint32_t m, u32x16& hi, u32x16& lo) {
  const __m512i x = (__m512i)a, mm = _mm512_set1_epi32(int(m));
  const __m512i even = _mm512_mul_epu32(x, mm), odd = _mm512_mul_epu32(_mm512_srli_epi64(x, 32), mm);
  lo = (u32x16)_mm512_mask_blend_epi32(0xAAAA, even, _mm512_slli_epi64(odd, 32));
  hi = (u32x16)_mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(even, 32), odd);
}

// Ten rounds on N vectors of blocks (c[j] holds the four words of vector j's blocks). The N chains
// are independent, so their multiply latencies overlap. Inlined into each ISA's function below,
// where its mulhilo is inlined too.
template <class V, int N>
inline __attribute__((always_inline)) void philox(V (&c)[N][4], uint32_t k0, uint32_t k1) {
  for (int round = 0; round < 10; ++round) {
    for (int j = 0; j < N; ++j) {
      V hi0, lo0, hi1, lo1;
      mulhilo(c[j][0], kMul0, hi0, lo0);
      mulhilo(c[j][2], kMul1, hi1, lo1);
      c[j][0] = hi1 ^ c[j][1] ^ k0;
      c[j][1] = lo1;
      c[j][2] = hi0 ^ c[j][3] ^ k1;
      c[j][3] = lo0;
    }
    k0 += kBump0;
    k1 += kBump1;
  }
}

// Numbers [kChunk p, kChunk (p + 1)) as uniforms in [0, 1): the top 24 bits of each word, exact in float.
template <class V>
inline __attribute__((always_inline)) void uniform_chunk(uint32_t seed, uint32_t stream, uint64_t p, float* out) {
  constexpr int L = sizeof(V) / 4, N = kChunk / 4 / L;  // N vectors of L blocks
  V lane, c[N][4];
  std::memcpy(&lane, kLaneIndex, sizeof lane);
  for (int j = 0; j < N; ++j) {
    const uint64_t block = p * (kChunk / 4) + j * L;  // block .. block + L - 1: a multiple of L, no carry
    c[j][0] = uint32_t(block) + lane;
    c[j][1] = uint32_t(block >> 32) + V{};
    c[j][2] = stream + V{};
    c[j][3] = V{};
  }
  philox(c, seed, 0);
  uint32_t words[kChunk];
  for (int j = 0; j < N; ++j) {
    const int batch = j * L / kBlocks, l0 = j * L % kBlocks;
    for (int w = 0; w < 4; ++w) std::memcpy(words + batch * kBatch + w * kBlocks + l0, &c[j][w], sizeof(V));
  }
  for (int k = 0; k < kChunk; ++k) out[k] = float(int32_t(words[k] >> 8)) * 0x1p-24f;
}

// u[i] = number first + i, for i in [0, n).
template <class V>
inline __attribute__((always_inline)) void uniform_range(uint32_t seed, uint32_t stream, uint64_t first, int64_t n,
                                                         float* u) {
  uint64_t p = first / kChunk;
  for (int64_t i = -int64_t(first % kChunk); i < n; i += kChunk, ++p) {  // i: where chunk p starts in u
    if (i >= 0 && i + kChunk <= n) {
      uniform_chunk<V>(seed, stream, p, u + i);
      continue;
    }
    float part[kChunk];  // the first or last chunk: only part of it is wanted
    uniform_chunk<V>(seed, stream, p, part);
    for (int64_t k = i < 0 ? -i : 0; k < kChunk && i + k < n; ++k) u[i + k] = part[k];
  }
}

void uniform_sse2(uint32_t seed, uint32_t stream, uint64_t first, int64_t n, float* u) {
  uniform_range<u32x4>(seed, stream, first, n, u);
}
__attribute__((target("avx2"))) void uniform_avx2(uint32_t seed, uint32_t stream, uint64_t first, int64_t n,
                                                  float* u) {
  uniform_range<u32x8>(seed, stream, first, n, u);
}
__attribute__((target("avx512f"))) void uniform_avx512(uint32_t seed, uint32_t stream, uint64_t first, int64_t n,
                                                       float* u) {
  uniform_range<u32x16>(seed, stream, first, n, u);
}

const auto g_uniform = __builtin_cpu_supports("avx512f") ? &uniform_avx512
                       : __builtin_cpu_supports("avx2")  ? &uniform_avx2
                                                         : &uniform_sse2;

}  // namespace

void philox4x32_10(const uint32_t counter[4], const uint32_t key[2], uint32_t out[4]) {
  u32x4 c[1][4];
  for (int w = 0; w < 4; ++w) c[0][w] = counter[w] + u32x4{};
  philox(c, key[0], key[1]);
  for (int w = 0; w < 4; ++w) out[w] = c[0][w][0];
}

void random_uniform(uint32_t seed, uint32_t counter, uint64_t first, int64_t n, float* u) {
  g_uniform(seed, counter, first, n, u);
}

void random_fill(const int32_t* state, uint64_t first, int64_t n, bool normal, float* out) {
  const uint32_t seed = uint32_t(state[0]), counter = uint32_t(state[1]);
  if (!normal) return random_uniform(seed, counter, first, n, out);
  constexpr int64_t kBlock = 256;  // normals per draw of uniforms, on the stack
  float u[2 * kBlock];
  for (int64_t i = 0; i < n; i += kBlock) {
    const int64_t m = std::min(kBlock, n - i);
    random_uniform(seed, counter, 2 * (first + uint64_t(i)), 2 * m, u);
    for (int64_t k = 0; k < m; ++k) {  // 1 - u is in (0, 1]: the logarithm is finite
      const double radius = std::sqrt(-2.0 * std::log(1.0 - double(u[2 * k])));
      out[i + k] = float(radius * std::cos(2.0 * M_PI * double(u[2 * k + 1])));
    }
  }
}

// Keras 3: y = x / keep_prob where u < keep_prob, else 0. The uniforms are drawn into mask first.
FF_MULTIVERSION_NOFMA void dropout_forward(const float* __restrict x, int64_t n, const int32_t* state, uint64_t first,
                                           float keep_prob, float* __restrict y, float* __restrict mask) {
  random_uniform(uint32_t(state[0]), uint32_t(state[1]), first, n, mask);
  const float scale = keep_prob > 0.f ? 1.f / keep_prob : 0.f;
  for (int64_t i = 0; i < n; ++i) {
    const bool kept = mask[i] < keep_prob;
    y[i] = kept ? x[i] / keep_prob : 0.f;
    mask[i] = kept ? scale : 0.f;
  }
}

FF_MULTIVERSION_NOFMA void dropout_backward(const float* __restrict mask, const float* __restrict dy, int64_t n,
                                            float* __restrict dx, bool acc) {
  if (acc) for (int64_t i = 0; i < n; ++i) dx[i] += dy[i] * mask[i];
  else for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * mask[i];
}

void random_advance(int32_t* state) { state[1] = int32_t(uint32_t(state[1]) + 1u); }

}  // namespace fastfit::cpu
