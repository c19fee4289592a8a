// Convolution kernels, channels last: im2col and its adjoint col2im (the products run on gemm), small
// helpers of the ops (transpose_matrix, fill_rows), and the direct depthwise convolution.
#include <algorithm>
#include <cstring>

#include "kernels/cpu/kernels.h"
#include "kernels/cpu/window.h"

namespace fastfit::cpu {
namespace {

// f(k, p, n) for the runs of output pixel (b, oh, ow)'s patch: entries [k, k + n) of the patch are
// x[p, p + n), or lie in the padding when p < 0. Taps next to each other in memory (dilation 1 along
// the width) form one run, so a 3x3 kernel copies 3 runs rather than 9.
template <class F>
inline void patch_runs(const ConvGeom& g, int64_t b, int64_t oh, int64_t ow, F&& f) {
  const int64_t C = g.C;
  for (int64_t i = 0; i < g.kh; ++i) {
    const int64_t k0 = i * g.kw * C, ih = oh * g.sh + i * g.dh - g.pad_h;
    if (ih < 0 || ih >= g.H) {
      f(k0, -1, g.kw * C);
      continue;
    }
    const int64_t row = (b * g.H + ih) * g.W, w0 = ow * g.sw - g.pad_w;
    for (int64_t j = 0; j < g.kw;) {
      const int64_t iw = w0 + j * g.dw;
      if (iw < 0 || iw >= g.W) {
        f(k0 + j * C, -1, C);
        ++j;
        continue;
      }
      const int64_t n = g.dw == 1 ? std::min(g.kw - j, g.W - iw) : 1;
      f(k0 + j * C, (row + iw) * C, n * C);
      j += n;
    }
  }
}

// y[c*M + m] += x[c] w[c*M + m]: one loop per case so that M = 1 vectorises over channels.
inline void depthwise_madd(const float* __restrict x, const float* __restrict w, int64_t C, int64_t M,
                           float* __restrict y) {
  if (M == 1) {
    for (int64_t c = 0; c < C; ++c) y[c] += x[c] * w[c];
    return;
  }
  for (int64_t c = 0; c < C; ++c)
    for (int64_t m = 0; m < M; ++m) y[c * M + m] += x[c] * w[c * M + m];
}

}  // namespace

FF_MULTIVERSION void im2col(const ConvGeom& g, const float* x, int64_t r0, int64_t r1, float* cols) {
  const int64_t K = g.patch();
  for_rows(g, r0, r1, [&](int64_t r, int64_t b, int64_t oh, int64_t ow) {
    float* __restrict out = cols + (r - r0) * K;
    patch_runs(g, b, oh, ow, [&](int64_t k, int64_t p, int64_t n) {
      if (p < 0) std::fill(out + k, out + k + n, 0.f);
      else std::copy(x + p, x + p + n, out + k);
    });
  });
}

FF_MULTIVERSION void col2im(const ConvGeom& g, const float* cols, int64_t r0, int64_t r1, float* dx) {
  const int64_t K = g.patch();
  for_rows(g, r0, r1, [&](int64_t r, int64_t b, int64_t oh, int64_t ow) {
    const float* __restrict in = cols + (r - r0) * K;
    patch_runs(g, b, oh, ow, [&](int64_t k, int64_t p, int64_t n) {
      if (p < 0) return;
      float* __restrict d = dx + p;
      for (int64_t e = 0; e < n; ++e) d[e] += in[k + e];
    });
  });
}

void transpose_matrix(const float* a, int64_t M, int64_t N, float* at) {
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) at[j * M + i] = a[i * N + j];
}

void fill_rows(const float* row, int64_t M, int64_t N, float* y) {
  for (int64_t i = 0; i < M; ++i) std::copy(row, row + N, y + i * N);
}

FF_MULTIVERSION void depthwise_conv_forward(const ConvGeom& g, int64_t M, const float* x, const float* w,
                                            const float* bias, float* y) {
  const int64_t CM = g.C * M;
  for_rows(g, 0, g.rows(), [&](int64_t r, int64_t b, int64_t oh, int64_t ow) {
    float* yr = y + r * CM;
    if (bias) std::copy(bias, bias + CM, yr);
    else std::fill(yr, yr + CM, 0.f);
    for_taps(g, b, oh, ow, [&](int64_t t, int64_t p) { depthwise_madd(x + p * g.C, w + t * CM, g.C, M, yr); });
  });
}

FF_MULTIVERSION void depthwise_conv_backward(const ConvGeom& g, int64_t M, const float* x, const float* w,
                                             const float* dy, float* dx, bool acc_x, float* dw, bool acc_w) {
  const int64_t C = g.C, CM = C * M;
  if (dx && !acc_x) std::fill(dx, dx + g.B * g.H * g.W * C, 0.f);
  if (dw && !acc_w) std::fill(dw, dw + g.kh * g.kw * CM, 0.f);
  for_rows(g, 0, g.rows(), [&](int64_t r, int64_t b, int64_t oh, int64_t ow) {
    const float* __restrict d = dy + r * CM;
    for_taps(g, b, oh, ow, [&](int64_t t, int64_t p) {
      const float* __restrict xp = x + p * C;
      const float* __restrict wt = w + t * CM;
      if (dx) {
        float* __restrict dxp = dx + p * C;
        for (int64_t c = 0; c < C; ++c) {
          float s = 0.f;
          for (int64_t m = 0; m < M; ++m) s += d[c * M + m] * wt[c * M + m];
          dxp[c] += s;
        }
      }
      if (dw) depthwise_madd(xp, d, C, M, dw + t * CM);
    });
  });
}

}  // namespace fastfit::cpu
