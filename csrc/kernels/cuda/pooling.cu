// Pooling, channels last (cpu/pooling.cpp): one thread per output element forward; the backward
// gathers each input element's windows in output-row order.
#include "kernels/cuda/device/window.cuh"
#include "kernels/cuda/launch.cuh"

namespace fastfit::cuda {

void max_pool_forward(const ConvGeom& g, const float* x, float* y, int32_t* argmax) {
  const int64_t rows = g.rows();
  each("max_pool_forward", rows * g.C, [=] __device__(int64_t e) {
    const int64_t r = e / g.C, c = e % g.C;
    const int64_t b = r / (g.OH * g.OW), oh = r / g.OW % g.OH, ow = r % g.OW;
    bool first = true;  // 'valid' and 'same' windows always hold an input element
    float best = 0.f;
    int32_t at = 0;
    dev::for_taps(g, b, oh, ow, [&](int64_t, int64_t p) {
      const float v = x[p * g.C + c];
      if (first || v > best) {  // strictly: ties keep the first maximum, as TensorFlow does
        best = v;
        at = int32_t(p * g.C + c);
      }
      first = false;
    });
    y[e] = best;
    argmax[e] = at;
  });
}

void max_pool_backward(const ConvGeom& g, const int32_t* argmax, const float* dy, float* dx, bool acc) {
  const int64_t rows = g.rows();
  each("max_pool_backward", g.B * g.H * g.W * g.C, [=] __device__(int64_t e) {
    const int64_t c = e % g.C, p = e / g.C, iw = p % g.W, ih = p / g.W % g.H, b = p / (g.W * g.H);
    float s = acc ? dx[e] : 0.f;
    dev::for_windows_of(g, b, ih, iw, 0, rows, [&](int64_t r, int64_t) {
      if (argmax[r * g.C + c] == int32_t(e)) s += dy[r * g.C + c];
    });
    dx[e] = s;
  });
}

void avg_pool_forward(const ConvGeom& g, const float* x, float* y) {
  const int64_t rows = g.rows();
  each("avg_pool_forward", rows * g.C, [=] __device__(int64_t e) {
    const int64_t r = e / g.C, c = e % g.C;
    const int64_t b = r / (g.OH * g.OW), oh = r / g.OW % g.OH, ow = r % g.OW;
    float s = 0.f;
    int64_t count = 0;
    dev::for_taps(g, b, oh, ow, [&](int64_t, int64_t p) {
      s += x[p * g.C + c];
      ++count;
    });
    y[e] = s / float(count);
  });
}

void avg_pool_backward(const ConvGeom& g, const float* dy, float* dx, bool acc) {
  const int64_t rows = g.rows();
  each("avg_pool_backward", g.B * g.H * g.W * g.C, [=] __device__(int64_t e) {
    const int64_t c = e % g.C, p = e / g.C, iw = p % g.W, ih = p / g.W % g.H, b = p / (g.W * g.H);
    float s = acc ? dx[e] : 0.f;
    dev::for_windows_of(g, b, ih, iw, 0, rows, [&](int64_t r, int64_t) {
      const int64_t oh = r / g.OW % g.OH, ow = r % g.OW;
      int64_t count = 0;
      dev::for_taps(g, b, oh, ow, [&](int64_t, int64_t) { ++count; });
      s += dy[r * g.C + c] / float(count);
    });
    dx[e] = s;
  });
}

}  // namespace fastfit::cuda
