// Focal crossentropy and the hinge losses' pieces (cpu/focal_hinge.cpp gives the formulas and order).
#include "kernels/cuda/device/losses.cuh"
#include "kernels/cuda/launch.cuh"

namespace fastfit::cuda {
namespace {

using dev::bce;
using dev::bce_grad;
using dev::kEps;

__device__ float alpha_t(float y, float alpha, bool balanced) {
  return balanced ? y * alpha + (1.f - y) * (1.f - alpha) : 1.f;
}

constexpr int kLabelThreads = 1024;

// Keras' hinge labels in one block: 2y - 1 when every label is 0 or 1, else y.
__global__ void hinge_labels_kernel(const float* y, int64_t n, float* out) {
  int other = 0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) other |= !(y[i] == 0.f || y[i] == 1.f);
  const bool binary = !__syncthreads_or(other);
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) out[i] = binary ? 2.f * y[i] - 1.f : y[i];
}

}  // namespace

void binary_focal_forward(const float* y, const float* p, const float* x, int64_t n, bool from_logits, float gamma,
                          float alpha, bool balanced, float* loss) {
  each("binary_focal_forward", n, [=] __device__(int64_t i) {
    const float pt = y[i] * p[i] + (1.f - y[i]) * (1.f - p[i]);
    const float focal = powf(1.f - pt, gamma) * bce(y[i], x[i], from_logits);
    loss[i] = balanced ? alpha_t(y[i], alpha, true) * focal : focal;
  });
}

void binary_focal_backward(const float* y, const float* p, const float* x, const float* dloss, int64_t n,
                           bool from_logits, float gamma, float alpha, bool balanced, float* dp, bool acc_p, float* dx,
                           bool acc_x) {
  each("binary_focal_backward", n, [=] __device__(int64_t i) {
    const float pt = y[i] * p[i] + (1.f - y[i]) * (1.f - p[i]);
    const float g = dloss[i] * alpha_t(y[i], alpha, balanced);
    if (dp) {
      const float v = -g * bce(y[i], x[i], from_logits) * gamma * powf(1.f - pt, gamma - 1.f) * (2.f * y[i] - 1.f);
      dp[i] = acc_p ? dp[i] + v : v;
    }
    if (dx) {  // after dp: the two may be one buffer (no logits: x is p)
      const float v = g * powf(1.f - pt, gamma) * bce_grad(y[i], x[i], from_logits);
      dx[i] = acc_x ? dx[i] + v : v;
    }
  });
}

void categorical_focal_forward(const float* y, const float* x, int64_t B, int64_t C, bool from_logits, float gamma,
                               float alpha, float* p, float* loss) {
  each("categorical_focal_forward", B, [=] __device__(int64_t i) {
    const float *xr = x + i * C, *yr = y + i * C;
    float* pr = p + i * C;
    if (from_logits) dev::softmax_row(xr, C, pr);
    else
      for (int64_t j = 0; j < C; ++j) pr[j] = xr[j];
    float s = 0.f, l = 0.f;
    for (int64_t j = 0; j < C; ++j) s += pr[j];
    for (int64_t j = 0; j < C; ++j) {
      const float q = fminf(fmaxf(pr[j] / s, kEps), 1.f - kEps);
      l += powf(1.f - q, gamma) * alpha * (-yr[j] * logf(q));
    }
    loss[i] = l;
  });
}

void categorical_focal_backward(const float* y, const float* p, const float* dloss, int64_t B, int64_t C,
                                bool from_logits, float gamma, float alpha, float* dx, bool acc) {
  each("categorical_focal_backward", B, [=] __device__(int64_t i) {
    const float *yr = y + i * C, *pr = p + i * C;
    float* o = dx + i * C;
    float s = 0.f, dot = 0.f, pdot = 0.f;
    for (int64_t j = 0; j < C; ++j) s += pr[j];
    auto dq = [&](int64_t j) {
      const float u = pr[j] / s;
      if (u < kEps || u > 1.f - kEps) return 0.f;
      return alpha * yr[j] * (gamma * powf(1.f - u, gamma - 1.f) * logf(u) - powf(1.f - u, gamma) / u);
    };
    for (int64_t j = 0; j < C; ++j) dot += dq(j) * (pr[j] / s);
    auto dprob = [&](int64_t j) { return (dq(j) - dot) / s * dloss[i]; };
    if (from_logits)
      for (int64_t j = 0; j < C; ++j) pdot += pr[j] * dprob(j);
    for (int64_t j = 0; j < C; ++j) {
      const float v = from_logits ? pr[j] * (dprob(j) - pdot) : dprob(j);
      o[j] = acc ? o[j] + v : v;
    }
  });
}

void hinge_labels(const float* y, int64_t n, float* out) {
  hinge_labels_kernel<<<1, kLabelThreads, 0, stream()>>>(y, n, out);
  check_launch("hinge_labels");
}

void categorical_hinge_forward(const float* y, const float* p, int64_t B, int64_t C, float* loss) {
  each("categorical_hinge_forward", B, [=] __device__(int64_t i) {
    const float *yr = y + i * C, *pr = p + i * C;
    float pos = 0.f, neg = -INFINITY;
    for (int64_t j = 0; j < C; ++j) {
      pos += yr[j] * pr[j];
      const float v = (1.f - yr[j]) * pr[j];
      neg = neg < v ? v : neg;
    }
    const float z = neg - pos + 1.f;
    loss[i] = z < 0.f ? 0.f : z;
  });
}

void categorical_hinge_backward(const float* y, const float* p, const float* dloss, int64_t B, int64_t C, float* dp,
                                bool acc) {
  each("categorical_hinge_backward", B, [=] __device__(int64_t i) {
    const float *yr = y + i * C, *pr = p + i * C;
    float pos = 0.f, neg = -INFINITY;
    int64_t ties = 0;
    for (int64_t j = 0; j < C; ++j) {
      pos += yr[j] * pr[j];
      const float v = (1.f - yr[j]) * pr[j];
      ties = v > neg ? 1 : ties + (v == neg);
      neg = neg < v ? v : neg;
    }
    // max(z, 0) passes the gradient where z >= 0 (ties go to z, as tf.maximum's)
    const float g = neg - pos + 1.f >= 0.f ? dloss[i] : 0.f;
    for (int64_t j = 0; j < C; ++j) {
      const float at_max = (1.f - yr[j]) * pr[j] == neg ? 1.f / float(ties) : 0.f;
      const float v = g * (at_max * (1.f - yr[j]) - yr[j]);
      dp[i * C + j] = acc ? dp[i * C + j] + v : v;
    }
  });
}

}  // namespace fastfit::cuda
