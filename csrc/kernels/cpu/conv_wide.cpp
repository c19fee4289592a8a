// Direct convolution for many filters over few input channels, vectorised over filters (output
// channels). As a product of patches (rows, patch) by w (patch, N), a first layer's patch of a few
// floats costs more to copy (a float at a time for one channel) and its sums more to load and store
// than its multiply-adds; here x is read in place from ConvPlanes (kernels.h), each of its floats
// broadcast against a row of w, and the sums stay in registers: a tile of pixels' filters in the
// forward, the patch x filters sums of the kernel's gradient over a whole image. AVX-512 only, as
// conv_direct.cpp, whose entry points call these for the convolutions ConvPlanes::wide takes.
#include <immintrin.h>

#include <algorithm>
#include <type_traits>

#include "kernels/cpu/kernels.h"
#include "kernels/cpu/vec.h"

namespace fastfit::cpu {
namespace {

// Everything is inlined into the entry points, compiled for AVX-512.
#define FF_LAMBDA __attribute__((target("avx512f"), always_inline))
#define FF_INLINE FF_LAMBDA inline

// Filters run in groups of kGroup vectors (32 filters), the last of one when N % 32 == 16: a group's
// sums and operands fill the 32 registers.
constexpr int kGroup = 2;
// Forward: pixels per tile, 14 x 2 vectors of sums beside 2 of w and a broadcast.
constexpr int kPixels = 14;
// Kernel gradient: pixels per step, and patch entries per pass over the pixels: T x G sums, 4 x G
// vectors of dz, G bias sums and a broadcast in the registers.
constexpr int kGradPixels = 4;
template <int G>
constexpr int kGradEntries = G == 2 ? 10 : 20;

// Where each patch entry (tap i, j, channel c: w's row (i*kw + j)*C + c) reads, in floats from its
// pixel's float in channel 0's planes.
struct Entries {
  int64_t count;
  int64_t at[ConvPlanes::kMaxWidePatch];
  Entries(const ConvGeom& g, const ConvPlanes& p) : count(g.patch()) {
    for (int64_t i = 0; i < g.kh; ++i)
      for (int64_t j = 0; j < g.kw; ++j)
        for (int64_t c = 0; c < g.C; ++c) at[(i * g.kw + j) * g.C + c] = p.tap(g, i, j) + c * p.channel();
  }
};

// p, held in a register: loads from p + a constant address it by displacement (GCC otherwise adds
// each constant to an index register, and spills some).
template <class T>
FF_INLINE T* in_register(T* p) {
  asm("" : "+r"(p));
  return p;
}

// f(Int<G>, n0) for each group of filters [n0, n0 + G * kLanes).
template <int K>
using Int = std::integral_constant<int, K>;
template <class F>
FF_INLINE void for_groups(int64_t N, F&& f) {
  for (int64_t n0 = 0; n0 < N; n0 += kGroup * kLanes)
    N - n0 >= kGroup * kLanes ? f(Int<kGroup>(), n0) : f(Int<1>(), n0);
}

// A group's G vectors of filters of y = act(conv + bias) for P pixels of a row: x at their first
// pixel's float in channel 0's planes, w and y at the group's first filter (y's first pixel).
template <int G, int P>
FF_INLINE void forward_tile(const Entries& e, const float* x, const float* w, int64_t N, const Vec* bias, bool relu,
                            float* y) {
  Vec acc[P][G];
  for (int p = 0; p < P; ++p)
    for (int v = 0; v < G; ++v) acc[p][v] = bias[v];
  for (int64_t t = 0; t < e.count; ++t, w += N) {
    const float* xt = in_register(x + e.at[t]);
    Vec wt[G];
    for (int v = 0; v < G; ++v) wt[v] = load(w + v * kLanes);
    for (int p = 0; p < P; ++p)
      for (int v = 0; v < G; ++v) acc[p][v] += xt[p] * wt[v];
  }
  if (relu)  // max(acc, 0): NaN to 0, as the GEMM's epilogue (and one instruction, not a compare and a blend)
    for (int p = 0; p < P; ++p)
      for (int v = 0; v < G; ++v) acc[p][v] = _mm512_maskz_max_ps(0xffff, acc[p][v], _mm512_setzero_ps());
  for (int p = 0; p < P; ++p, y += N)
    for (int v = 0; v < G; ++v) store(in_register(y) + v * kLanes, acc[p][v]);
}

// Pixels [ow, OW) of a row: tiles of P while whole ones fit, then the r < P left by one tile of P
// ending at the row's end (its pixels already made are made again, the same) where r is more than
// the next size down, else by tiles of that size. A tile's multiply-adds take P/2 cycles per entry
// for G = 2 and no fewer than their latency, 4: P = 4 costs about as much as P = 1 or 2.
template <int G, int P>
FF_INLINE void forward_row(const Entries& e, int64_t ow, int64_t OW, const float* x, const float* w, int64_t N,
                           const Vec* bias, bool relu, float* y) {
  for (; ow + P <= OW; ow += P) forward_tile<G, P>(e, x + ow, w, N, bias, relu, y + ow * N);
  constexpr int next = P > 8 ? 8 : P > 4 ? 4 : 1;
  if constexpr (P > 1) {
    if (ow == OW) return;
    if (OW - ow > next && OW >= P) forward_tile<G, P>(e, x + OW - P, w, N, bias, relu, y + (OW - P) * N);
    else forward_row<G, next>(e, ow, OW, x, w, N, bias, relu, y);
  }
}

// sums[t][v] += x[entry t] dz[v] over Q pixels of a row (x at the first one's float in channel 0's
// planes, dz at its group's first filter), for the entries at[0, T); bias_sums[v] += dz[v] if kBias.
template <int G, int Q, bool kBias>
FF_INLINE void grad_step(const int64_t* at, int64_t T, const float* x, const float* dz, int64_t N,
                         Vec (&sums)[kGradEntries<G>][G], Vec* bias_sums) {
  Vec d[Q][G];
  for (int q = 0; q < Q; ++q)
    for (int v = 0; v < G; ++v) d[q][v] = load(dz + q * N + v * kLanes);
  if constexpr (kBias)
    for (int q = 0; q < Q; ++q)
      for (int v = 0; v < G; ++v) bias_sums[v] += d[q][v];
#pragma GCC unroll 32
  for (int t = 0; t < kGradEntries<G>; ++t)
    if (t < T) {  // unrolled, so that the sums stay in registers
      const float* xt = in_register(x + at[t]);
      for (int q = 0; q < Q; ++q)
        for (int v = 0; v < G; ++v) sums[t][v] += xt[q] * d[q][v];
    }
}

// One image's part of a group's gradient for the entries at[0, T): dw[t, v] (rows from the first
// entry's, at the group's first filter) += sum over pixels of x[entry t] dz[v], and db += dz's sums
// if kBias. x: the image's planes, dz: its rows at the group's first filter.
template <int G, bool kBias>
FF_INLINE void grad_pass(const ConvGeom& g, const ConvPlanes& p, const int64_t* at, int64_t T, const float* x,
                         const float* dz, int64_t N, float* dw, float* db) {
  Vec sums[kGradEntries<G>][G] = {}, bias_sums[G] = {};
  for (int64_t oh = 0; oh < g.OH; ++oh) {
    const float* xr = x + oh * g.sh * p.row;
    const float* dr = dz + oh * g.OW * N;
    int64_t ow = 0;
    for (; ow + kGradPixels <= g.OW; ow += kGradPixels)
      grad_step<G, kGradPixels, kBias>(at, T, xr + ow, dr + ow * N, N, sums, bias_sums);
    for (; ow < g.OW; ++ow) grad_step<G, 1, kBias>(at, T, xr + ow, dr + ow * N, N, sums, bias_sums);
  }
#pragma GCC unroll 32
  for (int t = 0; t < kGradEntries<G>; ++t)
    if (t < T)
      for (int v = 0; v < G; ++v) store(dw + t * N + v * kLanes, load(dw + t * N + v * kLanes) + sums[t][v]);
  if constexpr (kBias)
    for (int v = 0; v < G; ++v) store(db + v * kLanes, load(db + v * kLanes) + bias_sums[v]);
}

}  // namespace

#define FF_AVX512 __attribute__((target("avx512f")))

FF_AVX512 void conv_wide_forward(const ConvGeom& g, int64_t N, const float* planes, const float* w, const float* bias,
                                 bool relu, float* y) {
  const ConvPlanes p(g);
  const Entries e(g, p);
  for (int64_t b = 0; b < g.B; ++b)
    for (int64_t oh = 0; oh < g.OH; ++oh) {
      const float* x = planes + (b * g.C * p.Hp + oh * g.sh) * p.row;
      float* yr = y + (b * g.OH + oh) * g.OW * N;
      for_groups(N, [&](auto group, int64_t n0) FF_LAMBDA {
        constexpr int G = decltype(group)::value;
        Vec bv[G];
        for (int v = 0; v < G; ++v) bv[v] = bias ? Vec(load(bias + n0 + v * kLanes)) : Vec{};
        forward_row<G, kPixels>(e, 0, g.OW, x, w + n0, N, bv, relu, yr + n0);
      });
    }
}

// Sums image by image (each image's in registers, then added to dw): fewer roundings than one sum
// over the batch, and an image's dz stays in cache across the passes of several groups.
FF_AVX512 void conv_wide_kernel_grad(const ConvGeom& g, int64_t N, const float* planes, const float* dz, float* dw,
                                     bool acc_w, float* db, bool acc_b) {
  const ConvPlanes p(g);
  const Entries e(g, p);
  const int64_t K = g.patch();
  if (!acc_w) std::fill(dw, dw + K * N, 0.f);
  if (db && !acc_b) std::fill(db, db + N, 0.f);
  for (int64_t b = 0; b < g.B; ++b) {
    const float* x = planes + b * g.C * p.channel();
    const float* d = dz + b * g.OH * g.OW * N;
    for_groups(N, [&](auto group, int64_t n0) FF_LAMBDA {
      constexpr int G = decltype(group)::value;
      const int64_t passes = (K + kGradEntries<G> - 1) / kGradEntries<G>, T = (K + passes - 1) / passes;
      for (int64_t t0 = 0; t0 < K; t0 += T) {
        float* dwt = dw + t0 * N + n0;
        if (db && t0 == 0) grad_pass<G, true>(g, p, e.at, std::min(T, K), x, d + n0, N, dwt, db + n0);
        else grad_pass<G, false>(g, p, e.at + t0, std::min(T, K - t0), x, d + n0, N, dwt, nullptr);
      }
    });
  }
}

}  // namespace fastfit::cpu
