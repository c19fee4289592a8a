// Pooling kernels, channels last: max (keeping each maximum's index for the backward) and average,
// over the window's elements inside the input. Loops run over channels, contiguous in memory.
#include <algorithm>

#include "kernels/cpu/kernels.h"
#include "kernels/cpu/window.h"

namespace fastfit::cpu {

FF_MULTIVERSION void max_pool_forward(const ConvGeom& g, const float* x, float* y, int32_t* argmax) {
  const int64_t C = g.C;
  for_rows(g, 0, g.rows(), [&](int64_t r, int64_t b, int64_t oh, int64_t ow) {
    float* __restrict yr = y + r * C;
    int32_t* __restrict ar = argmax + r * C;
    bool first = true;  // 'valid' and 'same' windows always hold at least one input element
    for_taps(g, b, oh, ow, [&](int64_t, int64_t p) {
      const float* __restrict xp = x + p * C;
      const int32_t base = int32_t(p * C);
      if (first) {
        for (int64_t c = 0; c < C; ++c) {
          yr[c] = xp[c];
          ar[c] = base + int32_t(c);
        }
        first = false;
        return;
      }
      for (int64_t c = 0; c < C; ++c)
        if (xp[c] > yr[c]) {  // strictly: ties keep the first maximum, as TensorFlow does
          yr[c] = xp[c];
          ar[c] = base + int32_t(c);
        }
    });
  });
}

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
