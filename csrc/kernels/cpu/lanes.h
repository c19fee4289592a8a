// Kernels written once as templates over a vector type and compiled once per ISA (FF_PER_ISA), with
// vectors as wide as its registers: GCC's vector extension, 16 floats on AVX-512, 8 on AVX2, 4 else,
// and single floats for what is left over (in_vectors). Unlike vec.h's (AVX-512 only), these suit
// every ISA, as each clone gets its own width.
#pragma once
#include <cstdint>
#include <cstring>

#include "kernels/cpu/kernels.h"

// The helpers are always inlined into callers compiled for their width: no call passes a vector,
// whatever the ABI warning says of their out-of-line form.
#pragma GCC diagnostic ignored "-Wpsabi"

namespace fastfit::cpu::lanes {

typedef float F16 __attribute__((vector_size(64)));
typedef float F8 __attribute__((vector_size(32)));
typedef float F4 __attribute__((vector_size(16)));

template <class V>
constexpr int64_t kWidth = sizeof(V) / sizeof(float);

// The int32 vector of a float vector's width (int32_t for a float): indices, compare results.
template <class V>
struct IntOf {
  typedef int32_t type __attribute__((vector_size(sizeof(V))));
};
template <>
struct IntOf<float> {
  typedef int32_t type;
};
template <class V>
using Int = typename IntOf<V>::type;

template <class V, class T>
__attribute__((always_inline)) inline V ld(const T* p) {
  V v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <class V, class T>
__attribute__((always_inline)) inline void st(T* p, V v) {
  std::memcpy(p, &v, sizeof v);
}
// start, start + 1, ... in the lanes of I: a constant vector plus a broadcast (lanes written one by one
// and read back as a vector stall on the store forwarding).
alignas(64) constexpr int32_t kLaneIndex[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
template <class I>
__attribute__((always_inline)) inline I iota(int32_t start) {
  return ld<I>(kLaneIndex) + start;
}

// f(i, V{}) for i in [0, n) by vectors of V's width, then f(i, 0.f) for the floats left over.
template <class V, class F>
__attribute__((always_inline)) inline void in_vectors(int64_t n, F&& f) {
  int64_t i = 0;
  for (; i + kWidth<V> <= n; i += kWidth<V>) f(i, V{});
  for (; i < n; ++i) f(i, 0.f);
}

}  // namespace fastfit::cpu::lanes

// `void kernel params` running impl<F16>, impl<F8> or impl<F4> args: the widest the CPU (and
// FASTFIT_GEMM_ISA, which caps our kernels' ISA) allows, chosen once.
#define FF_PER_ISA(kernel, impl, params, args)                                                       \
  __attribute__((target("avx512f"))) static void kernel##_avx512 params { impl<lanes::F16> args; } \
  __attribute__((target("avx2,fma"))) static void kernel##_avx2 params { impl<lanes::F8> args; }   \
  static void kernel##_base params { impl<lanes::F4> args; }                                        \
  void kernel params {                                                                               \
    static const auto chosen = avx512_kernels()                       ? &kernel##_avx512            \
                               : std::strcmp(gemm_isa(), "avx2") == 0 ? &kernel##_avx2              \
                                                                      : &kernel##_base;             \
    chosen args;                                                                                     \
  }
