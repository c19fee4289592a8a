// Vectors of 16 floats, GCC's vector extension, for kernels compiled for AVX-512 only (one register
// each; GCC 12 lowers them through memory on AVX2, many times slower, so callers check
// avx512_kernels() and run other loops there). Use them only in code inlined into such functions.
#pragma once
#include <cstdint>
#include <cstring>

namespace fastfit::cpu {

constexpr int64_t kLanes = 16;
typedef float Vec __attribute__((vector_size(kLanes * sizeof(float))));
typedef int32_t Lanes __attribute__((vector_size(kLanes * sizeof(int32_t))));  // masks and indices
// A Vec at any float's address, as immintrin.h's __m512_u.
typedef float UnalignedVec __attribute__((vector_size(kLanes * sizeof(float)), aligned(4), may_alias));

__attribute__((always_inline)) inline const UnalignedVec& load(const float* p) {
  return *reinterpret_cast<const UnalignedVec*>(p);
}

constexpr Lanes kLaneIndex = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

__attribute__((always_inline)) inline void store(float* p, const Vec& v) { std::memcpy(p, &v, sizeof v); }

// Transposes kLanes pixels of n channels between pixel-major order (n vectors: pixel 0's channels,
// then pixel 1's...) and channel-major order (a vector of the pixels per channel), 2 <= n <= kMax,
// with n - 1 two-vector shuffles (vpermt2ps) per vector made.
struct Interleave {
  static constexpr int kMax = 8;
  int n;
  // split_[c][s]: the lanes of step s towards channel c's vector; join_[u][s]: towards vector u
  Lanes split_[kMax][kMax], join_[kMax][kMax];
  __attribute__((always_inline)) explicit Interleave(int channels) : n(channels) {
    for (int v = 0; v < n; ++v)
      for (int l = 0; l < kLanes; ++l) {
        // channel v's lane l is element l*n + v of the pixel-major vectors, in vector (l*n + v) / kLanes
        const int at = l * n + v, from = at / kLanes;
        for (int s = 1; s < n; ++s)  // step 1 picks from vectors 0 and 1, step s > 1 from vector s
          split_[v][s][l] = s == 1 ? (from <= 1 ? at : 0) : (from == s ? kLanes + at % kLanes : l);
        // pixel-major vector v's lane l is pixel (v*kLanes + l) / n's channel (v*kLanes + l) % n
        const int pixel = (v * kLanes + l) / n, channel = (v * kLanes + l) % n;
        for (int s = 1; s < n; ++s)
          join_[v][s][l] = s == 1 ? (channel <= 1 ? channel * kLanes + pixel : 0)
                                  : (channel == s ? kLanes + pixel : l);
      }
  }
  // out[c] = channel c's pixels, from in (pixel-major)
  __attribute__((always_inline)) void split(const Vec* in, Vec* out) const {
    for (int c = 0; c < n; ++c) {
      Vec r = __builtin_shuffle(in[0], in[1], split_[c][1]);
      for (int s = 2; s < n; ++s) r = __builtin_shuffle(r, in[s], split_[c][s]);
      out[c] = r;
    }
  }
  // out = the pixels' channels, pixel-major, from in[c] = channel c's pixels
  __attribute__((always_inline)) void join(const Vec* in, Vec* out) const {
    for (int v = 0; v < n; ++v) {
      Vec r = __builtin_shuffle(in[0], in[1], join_[v][1]);
      for (int s = 2; s < n; ++s) r = __builtin_shuffle(r, in[s], join_[v][s]);
      out[v] = r;
    }
  }
};

// A vector's lanes summed in a fixed order.
__attribute__((always_inline)) inline float lane_sum(const Vec& v) {
  float s[kLanes];
  std::memcpy(s, &v, sizeof v);
  for (int64_t n = kLanes / 2; n > 0; n /= 2)
    for (int64_t l = 0; l < n; ++l) s[l] += s[l + n];
  return s[0];
}

}  // namespace fastfit::cpu
