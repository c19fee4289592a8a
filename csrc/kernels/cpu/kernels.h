// CPU-side helpers beside the kernel interface (kernels/kernels.h): ISA dispatch, the thread count
// setting, and routines the CPU kernels share.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "kernels/kernels.h"

// Run-time ISA dispatch for the elementwise loops: GCC emits AVX-512, AVX2 and baseline clones
// and picks one at load time, so a portable build still uses the CPU it runs on.
// FF_MULTIVERSION_NOFMA also keeps every product rounded before it is added (no fused multiply-add in
// the AVX-512 clone): loops that ran unversioned before keep their numbers on every CPU.
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
#define FF_MULTIVERSION __attribute__((target_clones("avx512f", "avx2", "default")))
#define FF_MULTIVERSION_NOFMA \
  __attribute__((target_clones("avx512f", "avx2", "default"), optimize("fp-contract=off")))
#else
#define FF_MULTIVERSION
#define FF_MULTIVERSION_NOFMA
#endif

namespace fastfit::cpu {

// The default thread count of a call (tf.config.threading): the cores we may use.
void set_num_threads(int n);
int num_threads();

// Our matrix-product kernel in use: "avx512", "avx2" or "none" (OpenBLAS only); see gemm.cpp.
const char* gemm_isa();
// Whether kernels written for AVX-512 only (on vec.h's vectors) may run: gemm_isa() is "avx512".
bool avx512_kernels();

// The direct convolution vectorised over filters (conv_wide.cpp), AVX-512 only: what
// conv_direct_forward (relu fused, no other activation) and conv_direct_kernel_grad run for the
// convolutions ConvPlanes::wide takes.
void conv_wide_forward(const ConvGeom& g, int64_t N, const float* planes, const float* w, const float* bias,
                       bool relu, float* y);
void conv_wide_kernel_grad(const ConvGeom& g, int64_t N, const float* planes, const float* dz, float* dw, bool acc_w,
                           float* db, bool acc_b);

float softmax_row(const float* x, int64_t N, float* p);  // p = softmax(x) for one row; returns logsumexp(x)

// Keras 3's binary crossentropy of one element (see binary_crossentropy_forward) and its derivative
// w.r.t. x: shared by the binary and focal losses.
inline float binary_crossentropy(float y, float x, bool from_logits) {
  if (from_logits) return std::max(x, 0.f) - x * y + std::log1p(std::exp(-std::fabs(x)));
  const float p = std::min(std::max(x, 1e-7f), 1.f - 1e-7f);
  return -(y * std::log(p) + (1.f - y) * std::log(1.f - p));
}
inline float binary_crossentropy_grad(float y, float x, bool from_logits) {
  if (from_logits) return 1.f / (1.f + std::exp(-x)) - y;
  if (x < 1e-7f || x > 1.f - 1e-7f) return 0.f;
  return -(y / x - (1.f - y) / (1.f - x));
}

// One Philox4x32-10 block: out = philox(counter, key) (Random123's reference function).
void philox4x32_10(const uint32_t counter[4], const uint32_t key[2], uint32_t out[4]);
// u[i] = uniform [0, 1) number first + i of stream `counter` under key `seed`.
void random_uniform(uint32_t seed, uint32_t counter, uint64_t first, int64_t n, float* u);

}  // namespace fastfit::cpu
