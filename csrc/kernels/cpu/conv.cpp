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

// The windows of output rows [r0, r1), one kernel row at a time: f(row, i, at, ow0, lo, hi, end) for
// each image row (b, oh) and kernel row i whose input row ih lies inside the input (else at < 0):
// pixel ow of the image row (ow0 <= ow < end) is block row row + ow, its taps (i, j) read input
// columns ow*sw + j*dw - pad_w, which all lie inside for lo <= ow < hi; x[at + (ow*sw - pad_w)*C] is
// tap (i, 0)'s first float there. With dw = 1 those kw taps are kw*C consecutive floats of both x and
// the patch: one copy per pixel and kernel row (per tap, a 3x3 kernel's bookkeeping showed in profiles).
template <class F>
__attribute__((always_inline)) inline void for_kernel_rows(const ConvGeom& g, int64_t r0, int64_t r1, F&& f) {
  const int64_t span = (g.kw - 1) * g.dw;
  for (int64_t r = r0; r < r1;) {
    const int64_t b = r / (g.OH * g.OW), oh = r / g.OW % g.OH, ow0 = r % g.OW;
    const int64_t ow1 = std::min(g.OW, ow0 + r1 - r);
    const int64_t lo = std::clamp(ceil_div(g.pad_w, g.sw), ow0, ow1);
    const int64_t hi = std::clamp(ceil_div(g.W + g.pad_w - span, g.sw), lo, ow1);
    for (int64_t i = 0; i < g.kh; ++i) {
      const int64_t ih = oh * g.sh + i * g.dh - g.pad_h;
      f(r - r0 - ow0, i, ih >= 0 && ih < g.H ? (b * g.H + ih) * g.W * g.C : -1, ow0, lo, hi, ow1);
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
  const int64_t K = g.patch(), C = g.C, KW = g.kw * C;
  for_kernel_rows(g, r0, r1, [=](int64_t row, int64_t i, int64_t at, int64_t ow0, int64_t lo, int64_t hi,
                                    int64_t end) __attribute__((always_inline)) {
    float* const first = cols + row * K + i * KW;  // pixel ow's kernel row i: first + ow * K
    // one tap at a time, zeros where it lies in the padding
    auto taps = [&](int64_t ow) __attribute__((always_inline)) {
      for (int64_t j = 0; j < g.kw; ++j) {
        float* __restrict out = first + ow * K + j * C;
        const int64_t iw = ow * g.sw + j * g.dw - g.pad_w;
        if (at >= 0 && iw >= 0 && iw < g.W)
          for (int64_t c = 0; c < C; ++c) out[c] = x[at + iw * C + c];
        else
          for (int64_t c = 0; c < C; ++c) out[c] = 0.f;
      }
    };
    if (at < 0) lo = hi = end;  // the whole kernel row lies in the padding
    for (int64_t ow = ow0; ow < lo; ++ow) taps(ow);
    if (g.dw != 1 || KW < 16) {  // few floats a kernel row (a first layer's channel): tap by tap, over pixels
      for (int64_t j = 0; j < g.kw; ++j)
        for (int64_t c = 0; c < C; ++c) {
          float* __restrict out = first + j * C + c;
          const float* __restrict in = x + at + (j * g.dw - g.pad_w) * C + c;
          for (int64_t ow = lo; ow < hi; ++ow) out[ow * K] = in[ow * g.sw * C];
        }
    } else {
      for (int64_t ow = lo; ow < hi; ++ow) {
        float* __restrict out = first + ow * K;
        const float* __restrict in = x + at + (ow * g.sw - g.pad_w) * C;
        for (int64_t k = 0; k < KW; ++k) out[k] = in[k];
      }
    }
    for (int64_t ow = hi; ow < end; ++ow) taps(ow);
  });
}

// Each input element's contributions are added in output-row order (as the GPU's col2im sums them).
FF_MULTIVERSION void col2im(const ConvGeom& g, const float* cols, int64_t r0, int64_t r1, float* dx) {
  const int64_t K = g.patch(), C = g.C, KW = g.kw * C;
  const bool runs = g.dw == 1;
  for_kernel_rows(g, r0, r1, [=](int64_t row, int64_t i, int64_t at, int64_t ow0, int64_t lo, int64_t hi,
                                    int64_t end) __attribute__((always_inline)) {
    if (at < 0) return;
    for (int64_t ow = ow0; ow < end; ++ow) {
      const float* __restrict in = cols + (row + ow) * K + i * KW;
      if (runs && ow >= lo && ow < hi) {
        float* __restrict out = dx + at + (ow * g.sw - g.pad_w) * C;
        for (int64_t k = 0; k < KW; ++k) out[k] += in[k];
        continue;
      }
      for (int64_t j = 0; j < g.kw; ++j) {
        const int64_t iw = ow * g.sw + j * g.dw - g.pad_w;
        if (iw >= 0 && iw < g.W)
          for (int64_t c = 0; c < C; ++c) dx[at + iw * C + c] += in[j * C + c];
      }
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
