// Convolution kernels, channels last: im2col and its adjoint col2im (the products run on gemm), small
// helpers of the ops (transpose_matrix, fill_rows), and the direct depthwise convolution.
#include <algorithm>

#include "kernels/cpu/kernels.h"
#include "kernels/cpu/window.h"

namespace fastfit::cpu {
namespace {

inline int64_t ceil_div(int64_t a, int64_t b) {
  if (b == 1) return a;  // stride 1, the usual case: the divisions showed in profiles
  return a >= 0 ? (a + b - 1) / b : -(-a / b);
}

// The patches of output rows [r0, r1), one image row (b, oh) and one tap (i, j) at a time, so that the
// bounds are worked out once per tap rather than per pixel (per pixel, the bookkeeping made im2col of a
// 3x3 kernel over one channel 3x slower). f(row, t, at, ow0, lo, hi, end): pixel ow of the image row
// (ow0 <= ow < end) is block row row + ow, and the tap's C floats are its patch's from column t; for
// lo <= ow < hi they are x[at + ow*sw*C, + C), the others lie in the padding.
template <class F>
inline void for_tap_rows(const ConvGeom& g, int64_t r0, int64_t r1, F&& f) {
  for (int64_t r = r0; r < r1;) {
    const int64_t b = r / (g.OH * g.OW), oh = r / g.OW % g.OH, ow0 = r % g.OW;
    const int64_t ow1 = std::min(g.OW, ow0 + r1 - r);
    for (int64_t i = 0; i < g.kh; ++i) {
      const int64_t ih = oh * g.sh + i * g.dh - g.pad_h;
      const bool inside = ih >= 0 && ih < g.H;
      for (int64_t j = 0; j < g.kw; ++j) {
        const int64_t off = j * g.dw - g.pad_w;  // the input column of pixel ow: ow*sw + off
        const int64_t lo = inside ? std::clamp(ceil_div(-off, g.sw), ow0, ow1) : ow1;
        const int64_t hi = inside ? std::clamp(ceil_div(g.W - off, g.sw), lo, ow1) : ow1;
        f(r - r0 - ow0, (i * g.kw + j) * g.C, ((b * g.H + ih) * g.W + off) * g.C, ow0, lo, hi, ow1);
      }
    }
    r += ow1 - ow0;
  }
}

// Depthwise products, y[c*M + m] += x[c] w[c*M + m] and its vjp for x, x[c] += sum_m y[c*M + m] w[c*M + m]:
// one loop per case so that M = 1 vectorises over channels.
inline void depthwise_madd(const float* __restrict x, const float* __restrict w, int64_t C, int64_t M,
                           float* __restrict y) {
  if (M == 1) {
    for (int64_t c = 0; c < C; ++c) y[c] += x[c] * w[c];
    return;
  }
  for (int64_t c = 0; c < C; ++c)
    for (int64_t m = 0; m < M; ++m) y[c * M + m] += x[c] * w[c * M + m];
}
inline void depthwise_madd_t(const float* __restrict y, const float* __restrict w, int64_t C, int64_t M,
                             float* __restrict x) {
  if (M == 1) {
    for (int64_t c = 0; c < C; ++c) x[c] += y[c] * w[c];
    return;
  }
  for (int64_t c = 0; c < C; ++c) {
    float s = 0.f;
    for (int64_t m = 0; m < M; ++m) s += y[c * M + m] * w[c * M + m];
    x[c] += s;
  }
}

}  // namespace

// Plain loops for the channels: GCC would call memmove and memset for each tap's few floats.
FF_MULTIVERSION __attribute__((optimize("no-tree-loop-distribute-patterns"))) void im2col(
    const ConvGeom& g, const float* x, int64_t r0, int64_t r1, float* cols) {
  const int64_t K = g.patch(), C = g.C, step = g.sw * C;
  for_tap_rows(g, r0, r1, [=](int64_t row, int64_t t, int64_t at, int64_t ow0, int64_t lo, int64_t hi, int64_t end) {
    float* __restrict out = cols + (row + ow0) * K + t;
    int64_t ow = ow0;
    for (; ow < lo; ++ow, out += K)
      for (int64_t c = 0; c < C; ++c) out[c] = 0.f;
    if (C == 1)  // a common first layer: one float per tap
      for (; ow < hi; ++ow, out += K) *out = x[at + ow * step];
    for (; ow < hi; ++ow, out += K) {
      const float* __restrict in = x + at + ow * step;
      for (int64_t c = 0; c < C; ++c) out[c] = in[c];
    }
    for (; ow < end; ++ow, out += K)
      for (int64_t c = 0; c < C; ++c) out[c] = 0.f;
  });
}

FF_MULTIVERSION void col2im(const ConvGeom& g, const float* cols, int64_t r0, int64_t r1, float* dx) {
  const int64_t K = g.patch(), C = g.C, step = g.sw * C;
  for_tap_rows(g, r0, r1, [=](int64_t row, int64_t t, int64_t at, int64_t, int64_t lo, int64_t hi, int64_t) {
    for (int64_t ow = lo; ow < hi; ++ow) {
      const float* __restrict in = cols + (row + ow) * K + t;
      float* __restrict out = dx + at + ow * step;
      for (int64_t c = 0; c < C; ++c) out[c] += in[c];
    }
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
    const float* d = dy + r * CM;
    for_taps(g, b, oh, ow, [&](int64_t t, int64_t p) {
      if (dx) depthwise_madd_t(d, w + t * CM, C, M, dx + p * C);
      if (dw) depthwise_madd(x + p * C, d, C, M, dw + t * CM);
    });
  });
}

}  // namespace fastfit::cpu
