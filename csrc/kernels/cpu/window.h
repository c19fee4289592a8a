// Walks over the windows of a ConvGeom (kernels/kernels.h), shared by the convolution and pooling kernels.
#pragma once
#include <cstdint>

#include "kernels/kernels.h"

namespace fastfit::cpu {

// f(r, b, oh, ow) for output rows r in [r0, r1).
template <class F>
inline void for_rows(const ConvGeom& g, int64_t r0, int64_t r1, F&& f) {
  int64_t ow = r0 % g.OW, oh = r0 / g.OW % g.OH, b = r0 / (g.OW * g.OH);
  for (int64_t r = r0; r < r1; ++r) {
    f(r, b, oh, ow);
    if (++ow == g.OW) {
      ow = 0;
      if (++oh == g.OH) {
        oh = 0;
        ++b;
      }
    }
  }
}

// f(t, p) for the taps t = i*kw + j of output pixel (b, oh, ow) that fall inside the input, in order;
// p = (b*H + ih)*W + iw, the input pixel it reads. Taps in the padding are skipped.
template <class F>
inline void for_taps(const ConvGeom& g, int64_t b, int64_t oh, int64_t ow, F&& f) {
  for (int64_t i = 0; i < g.kh; ++i) {
    const int64_t ih = oh * g.sh + i * g.dh - g.pad_h;
    if (ih < 0 || ih >= g.H) continue;
    for (int64_t j = 0; j < g.kw; ++j) {
      const int64_t iw = ow * g.sw + j * g.dw - g.pad_w;
      if (iw >= 0 && iw < g.W) f(i * g.kw + j, (b * g.H + ih) * g.W + iw);
    }
  }
}

}  // namespace fastfit::cpu
