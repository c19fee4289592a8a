// Windows of a ConvGeom on the device (convolution, pooling): for an input pixel, the output rows
// whose window holds it, visited in increasing row order, so gathered sums add as the CPU's scatter
// does. Includes nothing outside device/ (ConvGeom comes in through the including file).
#pragma once
#include <cstdint>

namespace fastfit::cuda::dev {

// f(r, t) for each output row r = (b, oh, ow) in [r0, r1) whose tap t = i*kw + j reads input pixel
// (b, ih, iw), r increasing (a larger tap index reaches the pixel from an earlier output row).
template <class G, class F>
__device__ void for_windows_of(const G& g, int64_t b, int64_t ih, int64_t iw, int64_t r0, int64_t r1, F f) {
  for (int64_t i = g.kh - 1; i >= 0; --i) {
    const int64_t y = ih + g.pad_h - i * g.dh;  // oh * sh
    if (y < 0 || y % g.sh) continue;
    const int64_t oh = y / g.sh;
    if (oh >= g.OH) continue;
    for (int64_t j = g.kw - 1; j >= 0; --j) {
      const int64_t x = iw + g.pad_w - j * g.dw;  // ow * sw
      if (x < 0 || x % g.sw) continue;
      const int64_t ow = x / g.sw;
      if (ow >= g.OW) continue;
      const int64_t r = (b * g.OH + oh) * g.OW + ow;
      if (r >= r0 && r < r1) f(r, i * g.kw + j);
    }
  }
}

// f(t, p) for the taps t of output pixel (b, oh, ow) inside the input, in order; p = (b*H + ih)*W + iw.
template <class G, class F>
__device__ void for_taps(const G& g, int64_t b, int64_t oh, int64_t ow, F f) {
  for (int64_t i = 0; i < g.kh; ++i) {
    const int64_t ih = oh * g.sh + i * g.dh - g.pad_h;
    if (ih < 0 || ih >= g.H) continue;
    for (int64_t j = 0; j < g.kw; ++j) {
      const int64_t iw = ow * g.sw + j * g.dw - g.pad_w;
      if (iw >= 0 && iw < g.W) f(i * g.kw + j, (b * g.H + ih) * g.W + iw);
    }
  }
}

}  // namespace fastfit::cuda::dev
