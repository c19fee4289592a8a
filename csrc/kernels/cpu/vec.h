// Vectors of 16 floats for kernels written once for every ISA clone (FF_MULTIVERSION): GCC's vector
// extension lowers them to one AVX-512 register, two AVX2 ones or four SSE ones. Use them only in code
// inlined into the clones, and never pass them by value across calls (the ABI differs per ISA).
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

// A vector's lanes summed in a fixed order.
__attribute__((always_inline)) inline float lane_sum(const Vec& v) {
  float s[kLanes];
  std::memcpy(s, &v, sizeof v);
  for (int64_t n = kLanes / 2; n > 0; n /= 2)
    for (int64_t l = 0; l < n; ++l) s[l] += s[l + n];
  return s[0];
}

}  // namespace fastfit::cpu
