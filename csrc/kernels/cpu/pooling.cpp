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

void max_pool_backward(const ConvGeom& g, const int32_t* argmax, const float* dy, float* dx, bool acc) {
  if (!acc) std::fill(dx, dx + g.B * g.H * g.W * g.C, 0.f);
  const int64_t n = g.rows() * g.C;
  for (int64_t o = 0; o < n; ++o) dx[argmax[o]] += dy[o];
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
