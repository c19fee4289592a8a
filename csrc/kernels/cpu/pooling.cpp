// Pooling kernels, channels last: max (keeping each maximum's index for the backward) and average,
// over the window's elements inside the input. Loops run over channels, contiguous in memory.
#include <algorithm>
#include <numeric>

#include "kernels/cpu/kernels.h"
#include "kernels/cpu/lanes.h"
#include "kernels/cpu/vec.h"
#include "kernels/cpu/window.h"

namespace fastfit::cpu {
namespace {

// One window over the whole input, no padding: global max pooling.
bool whole_input(const ConvGeom& g) {
  return g.OH == 1 && g.OW == 1 && g.kh == g.H && g.kw == g.W && g.pad_h == 0 && g.pad_w == 0;
}

// The max of each channel of an image x (P pixels, C <= kLanes channels), and its index (from `base`):
// the first maximum, as the scan in window order. Each lane scans the floats of a position in periods
// of lcm(C, kLanes) floats (every channel vectorised, however few) for its first maximum; a channel's
// lanes are then merged in the order of their first floats, ties to the lower index, and the floats
// after the last whole period scanned. (A NaN is kept where it comes first in its lane.)
__attribute__((always_inline)) inline void image_max(const float* x, int64_t P, int64_t C, int32_t base, float* y,
                                                     int32_t* argmax) {
  const int64_t V = C / std::gcd(C, kLanes), period = V * kLanes, n = P * C;
  int64_t next = C;  // the first float left to scan
  for (int64_t c = 0; c < C; ++c) y[c] = x[c], argmax[c] = base + int32_t(c);
  if (n >= 2 * period) {  // else the scan below takes it all
    Vec m[kLanes];
    Lanes at[kLanes];
    for (int64_t v = 0; v < V; ++v) m[v] = load(x + v * kLanes), at[v] = kLaneIndex + int32_t(v * kLanes);
    for (next = period; next + period <= n; next += period)
      for (int64_t v = 0; v < V; ++v) {
        const Vec f = load(x + next + v * kLanes);
        const Lanes greater = f > m[v];
        m[v] = greater ? f : m[v];
        at[v] = greater ? kLaneIndex + int32_t(next + v * kLanes) : at[v];
      }
    for (int64_t l = 0; l < period; ++l) {
      const int64_t c = l % C;
      const float f = m[l / kLanes][l % kLanes];
      const int32_t i = at[l / kLanes][l % kLanes] + base;
      if (l < C || f > y[c] || (f == y[c] && i < argmax[c])) y[c] = f, argmax[c] = i;
    }
  }
  for (int64_t i = next, c = 0; i < n; ++i, c = c + 1 == C ? 0 : c + 1)
    if (x[i] > y[c]) y[c] = x[i], argmax[c] = base + int32_t(i);
}

// Global max pooling, image by image. AVX-512 only: GCC 12 lowers the 16-float vectors through memory
// on AVX2 (7x slower than the loops over channels below).
__attribute__((target("avx512f"))) void global_max(const ConvGeom& g, const float* x, float* y, int32_t* argmax) {
  const int64_t n = g.H * g.W * g.C;
  for (int64_t b = 0; b < g.B; ++b)
    image_max(x + b * n, g.H * g.W, g.C, int32_t(b * n), y + b * g.C, argmax + b * g.C);
}


// Each window's maxima, channels in vectors of the CPU's width, kept in registers across its taps
// (their offsets gathered first; windows of more taps than kTaps loop over channels per tap).
constexpr int kTaps = 64;
template <class W>
__attribute__((always_inline)) inline void max_pool(const ConvGeom& g, const float* x, float* y, int32_t* argmax) {
  using namespace lanes;
  const int64_t C = g.C;
  if (whole_input(g) && C <= kLanes && avx512_kernels()) return global_max(g, x, y, argmax);
  for_rows(g, 0, g.rows(), [&](int64_t r, int64_t b, int64_t oh, int64_t ow) __attribute__((always_inline)) {
    int32_t tap[kTaps];
    int n = 0;
    for_taps(g, b, oh, ow, [&](int64_t, int64_t p) { tap[n < kTaps ? n : 0] = int32_t(p * C), ++n; });
    float* __restrict yr = y + r * C;
    int32_t* __restrict ar = argmax + r * C;
    if (n > kTaps) {  // 'valid' and 'same' windows always hold at least one input element
      bool first = true;
      for_taps(g, b, oh, ow, [&](int64_t, int64_t p) {
        const float* __restrict xp = x + p * C;
        for (int64_t c = 0; c < C; ++c)
          if (first || xp[c] > yr[c]) yr[c] = xp[c], ar[c] = int32_t(p * C + c);
        first = false;
      });
      return;
    }
    in_vectors<W>(C, [&](int64_t c, auto lane) __attribute__((always_inline)) {
      using V = decltype(lane);
      using I = Int<V>;
      V m = ld<V>(x + tap[0] + c);
      I at = iota<I>(tap[0] + int32_t(c));
      for (int t = 1; t < n; ++t) {
        const V v = ld<V>(x + tap[t] + c);
        const auto greater = v > m;  // strictly: ties keep the first maximum, as TensorFlow does
        m = greater ? v : m;
        at = greater ? iota<I>(tap[t] + int32_t(c)) : at;
      }
      st(yr + c, m);
      st(ar + c, at);
    });
  });
}

}  // namespace

FF_PER_ISA(max_pool_forward, max_pool, (const ConvGeom& g, const float* x, float* y, int32_t* argmax),
           (g, x, y, argmax))

// Windows that overlap (or a gradient to add to) take a scatter of dy to the maxima. Windows that
// do not (strides >= pool_size, the usual case) let each input element be written once, with its
// window's gradient or 0: one pass instead of zeroing dx then scattering (1.3-1.45x faster on 2x2 pools).
FF_MULTIVERSION void max_pool_backward(const ConvGeom& g, const int32_t* argmax, const float* dy, float* dx,
                                       bool acc) {
  const int64_t C = g.C;
  if (acc || g.sh < g.kh || g.sw < g.kw) {
    if (!acc) std::fill(dx, dx + g.B * g.H * g.W * C, 0.f);
    for (int64_t o = 0; o < g.rows() * C; ++o) dx[argmax[o]] += dy[o];
    return;
  }
  // (oh, i): the window of input row ih and its row in it, (ow, j) likewise, counted along
  for (int64_t b = 0; b < g.B; ++b) {
    int64_t oh = g.pad_h / g.sh, i = g.pad_h % g.sh;
    for (int64_t ih = 0; ih < g.H; ++ih) {
      int64_t ow = g.pad_w / g.sw, j = g.pad_w % g.sw;
      for (int64_t iw = 0; iw < g.W; ++iw) {
        const int32_t p = int32_t(((b * g.H + ih) * g.W + iw) * C);
        float* __restrict d = dx + p;
        if (i < g.kh && j < g.kw && oh < g.OH && ow < g.OW) {
          const int64_t o = ((b * g.OH + oh) * g.OW + ow) * C;
          const int32_t* __restrict a = argmax + o;
          const float* __restrict dyo = dy + o;
          for (int64_t c = 0; c < C; ++c) d[c] = a[c] == p + int32_t(c) ? dyo[c] : 0.f;
        } else {  // in no window
          for (int64_t c = 0; c < C; ++c) d[c] = 0.f;
        }
        if (++j == g.sw) j = 0, ++ow;
      }
      if (++i == g.sh) i = 0, ++oh;
    }
  }
}

FF_MULTIVERSION void avg_pool_forward(const ConvGeom& g, const float* x, float* y) {
  const int64_t C = g.C;
  for_rows(g, 0, g.rows(), [&](int64_t r, int64_t b, int64_t oh, int64_t ow) {
    float* __restrict yr = y + r * C;
    std::fill(yr, yr + C, 0.f);
    int64_t count = 0;
    for_taps(g, b, oh, ow, [&](int64_t, int64_t p) {
      const float* __restrict xp = x + p * C;
      for (int64_t c = 0; c < C; ++c) yr[c] += xp[c];
      ++count;
    });
    const float n = float(count);
    for (int64_t c = 0; c < C; ++c) yr[c] /= n;
  });
}

FF_MULTIVERSION void avg_pool_backward(const ConvGeom& g, const float* dy, float* dx, bool acc) {
  const int64_t C = g.C;
  if (!acc) std::fill(dx, dx + g.B * g.H * g.W * C, 0.f);
  for_rows(g, 0, g.rows(), [&](int64_t r, int64_t b, int64_t oh, int64_t ow) {
    int64_t count = 0;
    for_taps(g, b, oh, ow, [&](int64_t, int64_t) { ++count; });
    const float n = float(count);
    const float* __restrict d = dy + r * C;
    for_taps(g, b, oh, ow, [&](int64_t, int64_t p) {
      float* __restrict dxp = dx + p * C;
      for (int64_t c = 0; c < C; ++c) dxp[c] += d[c] / n;
    });
  });
}

}  // namespace fastfit::cpu
