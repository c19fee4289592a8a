// Convolution kernels, channels last (cpu/conv.cpp): im2col and its adjoint col2im (the products run
// on gemm), the ops' small helpers, and the direct depthwise convolution. Adjoints gather: each input
// element sums its windows' contributions in output-row order, as col2im on the CPU adds them.
#include <stdexcept>

#include "kernels/cuda/device/window.cuh"
#include "kernels/cuda/launch.cuh"

namespace fastfit::cuda {

void im2col(const ConvGeom& g, const float* x, int64_t r0, int64_t r1, float* cols) {
  const int64_t K = g.patch();
  each("im2col", (r1 - r0) * K, [=] __device__(int64_t e) {
    const int64_t r = r0 + e / K, t = e % K;
    const int64_t c = t % g.C, ij = t / g.C, i = ij / g.kw, j = ij % g.kw;
    const int64_t b = r / (g.OH * g.OW), oh = r / g.OW % g.OH, ow = r % g.OW;
    const int64_t ih = oh * g.sh + i * g.dh - g.pad_h, iw = ow * g.sw + j * g.dw - g.pad_w;
    const bool inside = ih >= 0 && ih < g.H && iw >= 0 && iw < g.W;
    cols[e] = inside ? x[((b * g.H + ih) * g.W + iw) * g.C + c] : 0.f;
  });
}

void col2im(const ConvGeom& g, const float* cols, int64_t r0, int64_t r1, float* dx) {
  const int64_t K = g.patch();
  each("col2im", g.B * g.H * g.W * g.C, [=] __device__(int64_t e) {
    const int64_t c = e % g.C, p = e / g.C, iw = p % g.W, ih = p / g.W % g.H, b = p / (g.W * g.H);
    float s = dx[e];
    dev::for_windows_of(g, b, ih, iw, r0, r1, [&](int64_t r, int64_t t) { s += cols[(r - r0) * K + t * g.C + c]; });
    dx[e] = s;
  });
}

void transpose_matrix(const float* a, int64_t M, int64_t N, float* at) {
  each("transpose_matrix", M * N, [=] __device__(int64_t e) {
    const int64_t j = e / M, i = e % M;
    at[e] = a[i * N + j];
  });
}

void fill_rows(const float* row, int64_t M, int64_t N, float* y) {
  each("fill_rows", M * N, [=] __device__(int64_t e) { y[e] = row[e % N]; });
}

void depthwise_conv_forward(const ConvGeom& g, int64_t M, const float* x, const float* w, const float* bias, float* y) {
  const int64_t rows = g.rows();
  const int64_t CM = g.C * M;
  each("depthwise_conv_forward", rows * CM, [=] __device__(int64_t e) {
    const int64_t r = e / CM, cm = e % CM, c = cm / M;
    const int64_t b = r / (g.OH * g.OW), oh = r / g.OW % g.OH, ow = r % g.OW;
    float s = bias ? bias[cm] : 0.f;
    dev::for_taps(g, b, oh, ow, [&](int64_t t, int64_t p) { s += x[p * g.C + c] * w[t * CM + cm]; });
    y[e] = s;
  });
}

void depthwise_conv_backward(const ConvGeom& g, int64_t M, const float* x, const float* w, const float* dy, float* dx,
                             bool acc_x, float* dw, bool acc_w) {
  const int64_t rows = g.rows();
  const int64_t C = g.C, CM = C * M;
  if (dx)  // dx[p, c] += sum_m dy[r, c*M + m] w[t, c*M + m] over the windows holding p, rows in order
    each("depthwise_conv_backward", g.B * g.H * g.W * C, [=] __device__(int64_t e) {
      const int64_t c = e % C, p = e / C, iw = p % g.W, ih = p / g.W % g.H, b = p / (g.W * g.H);
      float s = acc_x ? dx[e] : 0.f;
      dev::for_windows_of(g, b, ih, iw, 0, rows, [&](int64_t r, int64_t t) {
        if (M == 1) {
          s += dy[r * CM + c] * w[t * CM + c];
          return;
        }
        float part = 0.f;
        for (int64_t m = 0; m < M; ++m) part += dy[r * CM + c * M + m] * w[t * CM + c * M + m];
        s += part;
      });
      dx[e] = s;
    });
  if (dw)  // dw[t, c*M + m] += x[p, c] dy[r, c*M + m] over every output row, in order
    each("depthwise_conv_backward", g.kh * g.kw * CM, [=] __device__(int64_t e) {
      const int64_t t = e / CM, cm = e % CM, c = cm / M, i = t / g.kw, j = t % g.kw;
      float s = acc_w ? dw[e] : 0.f;
      for (int64_t r = 0; r < rows; ++r) {
        const int64_t b = r / (g.OH * g.OW), oh = r / g.OW % g.OH, ow = r % g.OW;
        const int64_t ih = oh * g.sh + i * g.dh - g.pad_h, iw = ow * g.sw + j * g.dw - g.pad_w;
        if (ih >= 0 && ih < g.H && iw >= 0 && iw < g.W) s += x[((b * g.H + ih) * g.W + iw) * C + c] * dy[r * CM + cm];
      }
      dw[e] = s;
    });
}

// The direct kernels run on the CPU only: the conv op picks im2col + GEMM for GPU tensors.
bool conv_direct_takes(const ConvGeom&, int64_t) { return false; }
void conv_planes(const ConvGeom&, const float*, float*) {
  throw std::logic_error("conv_planes: a CPU kernel, reached on the GPU");
}
void conv_direct_forward(const ConvGeom&, int64_t, const float*, const float*, const float*, Act, float*) {
  throw std::logic_error("conv_direct_forward: a CPU kernel, reached on the GPU");
}
void conv_direct_kernel_grad(const ConvGeom&, int64_t, const float*, const float*, float*, bool, float*, bool) {
  throw std::logic_error("conv_direct_kernel_grad: a CPU kernel, reached on the GPU");
}

// Winograd runs on the CPU only: a GPU conv runs im2col + GEMM.
bool winograd_takes(const ConvGeom&, int64_t) { return false; }
void winograd_filter(const float*, int64_t, int64_t, float*) {
  throw std::logic_error("winograd_filter: a CPU kernel, reached on the GPU");
}
void winograd_input(const ConvGeom&, const float*, int64_t, float*) {
  throw std::logic_error("winograd_input: a CPU kernel, reached on the GPU");
}
void winograd_output(const ConvGeom&, int64_t, const float*, int64_t, const float*, bool, float*) {
  throw std::logic_error("winograd_output: a CPU kernel, reached on the GPU");
}
void winograd_output_grad(const ConvGeom&, int64_t, const float*, int64_t, float*) {
  throw std::logic_error("winograd_output_grad: a CPU kernel, reached on the GPU");
}
void winograd_input_grad(const ConvGeom&, const float*, int64_t, float*) {
  throw std::logic_error("winograd_input_grad: a CPU kernel, reached on the GPU");
}
void winograd_filter_grad(const float*, int64_t, int64_t, float*, bool) {
  throw std::logic_error("winograd_filter_grad: a CPU kernel, reached on the GPU");
}

}  // namespace fastfit::cuda
