// Direct convolution for few filters, vectorised over output pixels. As a product of patches (B*OH*OW,
// patch) by w (patch, N), the few filters leave most lanes of each vector idle and the patches cost
// more to copy than to multiply; here each lane holds an output pixel, and the input is copied once,
// into ConvPlanes (kernels.h), where every tap of a run of pixels is a run of floats.
#include <algorithm>
#include <type_traits>

#include "kernels/cpu/kernels.h"
#include "kernels/cpu/vec.h"

namespace fastfit::cpu {
namespace {

static_assert(kLanes == ConvPlanes::kLanes, "planes leave room for whole vectors");
constexpr int kMaxTaps = int(ConvPlanes::kMaxSums);  // kh * kw <= patch * N <= kMaxSums

// Where each tap (i, j) reads, from the float of output pixel (oh, ow) in channel 0's padded row oh*sh.
struct Taps {
  int64_t count, channel;  // taps; floats from one channel's planes to the next
  int64_t at[kMaxTaps];
  Taps(const ConvGeom& g, const ConvPlanes& p) : count(g.kh * g.kw), channel(p.Hp * p.row) {
    for (int64_t i = 0; i < g.kh; ++i)
      for (int64_t j = 0; j < g.kw; ++j)
        at[i * g.kw + j] = i * g.dh * p.row + j * g.dw % g.sw * p.Wq + j * g.dw / g.sw;
  }
};

// Output pixels [ow, ow + count) of one image row, V vectors of them: `top` is their float in channel
// 0's planes, y their first output. Sums over the taps in w's order (i, j, c), from the bias.
template <int N, int V>
__attribute__((always_inline)) inline void forward_pixels(const Taps& taps, int64_t C, const float* top,
                                                          int64_t count, const float* w, const float* bias, bool relu,
                                                          float* y) {
  Vec acc[N][V];
  for (int o = 0; o < N; ++o)
    for (int v = 0; v < V; ++v) acc[o][v] = Vec{} + (bias ? bias[o] : 0.f);
  const float* wk = w;
  for (int64_t t = 0; t < taps.count; ++t) {
    const float* at = top + taps.at[t];
    for (int64_t c = 0; c < C; ++c, at += taps.channel, wk += N) {
      Vec x[V];
      for (int v = 0; v < V; ++v) x[v] = load(at + v * kLanes);
      for (int o = 0; o < N; ++o)
        for (int v = 0; v < V; ++v) acc[o][v] += x[v] * wk[o];
    }
  }
  float out[N][V * kLanes];  // pixels along, channels across: y is the transpose
  for (int o = 0; o < N; ++o)
    for (int v = 0; v < V; ++v) {
      if (relu) acc[o][v] = acc[o][v] > 0.f ? acc[o][v] : 0.f;
      std::memcpy(&out[o][v * kLanes], &acc[o][v], sizeof(Vec));
    }
  for (int64_t l = 0; l < count; ++l)
    for (int o = 0; o < N; ++o) y[l * N + o] = out[o][l];
}

template <int N>
__attribute__((always_inline)) inline void forward(const ConvGeom& g, const float* planes, const float* w,
                                                   const float* bias, bool relu, float* y) {
  const ConvPlanes p(g);
  const Taps taps(g, p);
  for (int64_t b = 0; b < g.B; ++b)
    for (int64_t oh = 0; oh < g.OH; ++oh) {
      const float* top = planes + (b * g.C * p.Hp + oh * g.sh) * p.row;
      float* yr = y + (b * g.OH + oh) * g.OW * N;
      int64_t ow = 0;
      for (; ow + kLanes < g.OW; ow += 2 * kLanes)
        forward_pixels<N, 2>(taps, g.C, top + ow, std::min(2 * kLanes, g.OW - ow), w, bias, relu, yr + ow * N);
      if (ow < g.OW) forward_pixels<N, 1>(taps, g.C, top + ow, g.OW - ow, w, bias, relu, yr + ow * N);
    }
}

// dw[(t*C + c)*N + o] (+)= sum over output pixels of dz[pixel, o] x[pixel's tap t, c], and db[o] (+)=
// sum of dz[pixel, o] when db: one vector of sums per weight, in the L1 cache, summed across lanes at
// the end.
template <int N>
__attribute__((always_inline)) inline void kernel_grad(const ConvGeom& g, const float* planes, const float* dz,
                                                       float* dw, bool acc_w, float* db, bool acc_b) {
  const ConvPlanes p(g);
  const Taps taps(g, p);
  const int64_t K = g.patch() * N;
  Vec sums[ConvPlanes::kMaxSums], bias_sums[N] = {};
  std::fill(sums, sums + K, Vec{});
  for (int64_t b = 0; b < g.B; ++b)
    for (int64_t oh = 0; oh < g.OH; ++oh) {
      const float* top = planes + (b * g.C * p.Hp + oh * g.sh) * p.row;
      const float* dzr = dz + (b * g.OH + oh) * g.OW * N;
      for (int64_t ow = 0; ow < g.OW; ow += kLanes) {
        const int64_t count = std::min(kLanes, g.OW - ow);
        float d[N][kLanes] = {};  // dz's rows transposed: a vector of pixels per filter
        for (int64_t l = 0; l < count; ++l)
          for (int o = 0; o < N; ++o) d[o][l] = dzr[(ow + l) * N + o];
        Vec dv[N];
        for (int o = 0; o < N; ++o) bias_sums[o] += dv[o] = load(d[o]);
        const Lanes inside = kLaneIndex < int32_t(count);  // lanes past the row read other pixels: 0 * inf is NaN
        Vec* s = sums;
        for (int64_t t = 0; t < taps.count; ++t) {
          const float* at = top + ow + taps.at[t];
          for (int64_t c = 0; c < g.C; ++c, at += taps.channel, s += N) {
            Vec x = load(at);
            if (count < kLanes) x = inside ? x : Vec{};
            for (int o = 0; o < N; ++o) s[o] += x * dv[o];
          }
        }
      }
    }
  for (int64_t k = 0; k < K; ++k) dw[k] = (acc_w ? dw[k] : 0.f) + lane_sum(sums[k]);
  for (int o = 0; db && o < N; ++o) db[o] = (acc_b ? db[o] : 0.f) + lane_sum(bias_sums[o]);
}

// f(integral_constant N) for N in [1, kMaxFilters]. Callers' lambdas are always_inline too: everything
// is inlined into the entry points, and so compiled for each of their ISA clones.
template <class F>
__attribute__((always_inline)) inline void with_filters(int64_t N, F&& f) {
  static_assert(ConvPlanes::kMaxFilters == 8, "one case per filter count");
  switch (N) {
    case 1: return f(std::integral_constant<int, 1>());
    case 2: return f(std::integral_constant<int, 2>());
    case 3: return f(std::integral_constant<int, 3>());
    case 4: return f(std::integral_constant<int, 4>());
    case 5: return f(std::integral_constant<int, 5>());
    case 6: return f(std::integral_constant<int, 6>());
    case 7: return f(std::integral_constant<int, 7>());
    default: return f(std::integral_constant<int, 8>());
  }
}

}  // namespace

FF_MULTIVERSION void conv_planes(const ConvGeom& g, const float* x, float* planes) {
  const ConvPlanes p(g);
  const int64_t C = g.C, step = g.sw * C;
  float* dst = planes;
  for (int64_t b = 0; b < g.B; ++b)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t hp = 0; hp < p.Hp; ++hp) {
        const int64_t ih = hp - g.pad_h;
        if (ih < 0 || ih >= g.H) {
          std::fill(dst, dst + p.row, 0.f);
          dst += p.row;
          continue;
        }
        for (int64_t s = 0; s < g.sw; ++s, dst += p.Wq) {
          // float q of phase s is input column q*sw + s - pad_w: inside for q in [lo, hi)
          const int64_t lo = std::min(std::max<int64_t>(g.pad_w - s + g.sw - 1, 0) / g.sw, p.Wq);
          const int64_t hi = std::clamp((g.W + g.pad_w - s + g.sw - 1) / g.sw, lo, p.Wq);
          const float* src = x + ((b * g.H + ih) * g.W + lo * g.sw + s - g.pad_w) * C + c;
          std::fill(dst, dst + lo, 0.f);
          if (step == 1) std::copy(src, src + (hi - lo), dst + lo);
          else
            for (int64_t q = lo; q < hi; ++q, src += step) dst[q] = *src;
          std::fill(dst + hi, dst + p.Wq, 0.f);
        }
      }
}

FF_MULTIVERSION void conv_direct_forward(const ConvGeom& g, int64_t N, const float* planes, const float* w,
                                         const float* bias, Act act, float* y) {
  with_filters(N, [&](auto n) __attribute__((always_inline)) {
    forward<decltype(n)::value>(g, planes, w, bias, act == Act::relu, y);
  });
  if (act == Act::sigmoid || act == Act::tanh) act_forward(act, y, g.rows() * N, y);
}

FF_MULTIVERSION void conv_direct_kernel_grad(const ConvGeom& g, int64_t N, const float* planes, const float* dz,
                                             float* dw, bool acc_w, float* db, bool acc_b) {
  with_filters(N, [&](auto n) __attribute__((always_inline)) {
    kernel_grad<decltype(n)::value>(g, planes, dz, dw, acc_w, db, acc_b);
  });
}

}  // namespace fastfit::cpu
