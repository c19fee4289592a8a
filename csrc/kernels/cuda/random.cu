// Dropout and noise on Philox4x32-10, the CPU's stream number for number (cpu/random.cpp): number q of stream
// `counter` under key `seed` is word (q % 64) / 16 of block 16 (q / 64) + q % 16, whose counter is
// (block, stream, 0). Each thread computes the block of its own number.
#include "kernels/cuda/launch.cuh"

namespace fastfit::cuda {
namespace {

constexpr uint32_t kMul0 = 0xD2511F53, kMul1 = 0xCD9E8D57;   // round multipliers
constexpr uint32_t kBump0 = 0x9E3779B9, kBump1 = 0xBB67AE85;  // key schedule

// Uniform number q in [0, 1): the top 24 bits of its word, exact in float.
__device__ float uniform(uint32_t seed, uint32_t stream, uint64_t q) {
  const uint64_t block = 16 * (q / 64) + q % 16;
  uint32_t c[4] = {uint32_t(block), uint32_t(block >> 32), stream, 0u};
  uint32_t k0 = seed, k1 = 0;
  for (int round = 0; round < 10; ++round) {
    const uint32_t lo0 = kMul0 * c[0], hi0 = __umulhi(kMul0, c[0]);
    const uint32_t lo1 = kMul1 * c[2], hi1 = __umulhi(kMul1, c[2]);
    c[0] = hi1 ^ c[1] ^ k0;
    c[1] = lo1;
    c[2] = hi0 ^ c[3] ^ k1;
    c[3] = lo0;
    k0 += kBump0;
    k1 += kBump1;
  }
  const uint32_t word = c[(q % 64) / 16];
  return float(int32_t(word >> 8)) * 0x1p-24f;
}

}  // namespace

void dropout_forward(const float* x, int64_t n, const int32_t* state, uint64_t first, float keep_prob, float* y,
                     float* mask) {
  const float scale = keep_prob > 0.f ? 1.f / keep_prob : 0.f;
  each("dropout_forward", n, [=] __device__(int64_t i) {
    const bool kept = uniform(uint32_t(state[0]), uint32_t(state[1]), first + uint64_t(i)) < keep_prob;
    y[i] = kept ? x[i] / keep_prob : 0.f;
    mask[i] = kept ? scale : 0.f;
  });
}

void random_fill(const int32_t* state, uint64_t first, int64_t n, bool normal, float* out) {
  each("random_fill", n, [=] __device__(int64_t i) {
    const uint32_t seed = uint32_t(state[0]), counter = uint32_t(state[1]);
    const uint64_t q = first + uint64_t(i);
    if (!normal) {
      out[i] = uniform(seed, counter, q);
      return;
    }
    // Box-Muller on uniforms 2q and 2q + 1, in double as the CPU; 1 - u is in (0, 1]
    const double u0 = uniform(seed, counter, 2 * q), u1 = uniform(seed, counter, 2 * q + 1);
    out[i] = float(sqrt(-2.0 * log(1.0 - u0)) * cos(2.0 * 3.14159265358979323846 * u1));
  });
}

void dropout_backward(const float* mask, const float* dy, int64_t n, float* dx, bool acc) {
  store("dropout_backward", dx, n, acc, [=] __device__(int64_t i) { return dy[i] * mask[i]; });
}

void random_advance(int32_t* state) {
  each("random_advance", 1, [=] __device__(int64_t) { state[1] = int32_t(uint32_t(state[1]) + 1u); });
}

}  // namespace fastfit::cuda
