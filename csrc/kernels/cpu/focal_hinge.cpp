// Focal crossentropy (binary per element, categorical per row) and the hinge losses' pieces, with
// Keras 3's formulas and operation order (see kernels.def).
#include <algorithm>
#include <cmath>

#include "kernels/cpu/kernels.h"

namespace fastfit::cpu {
namespace {
constexpr float kEps = 1e-7f;  // keras.backend.epsilon()

float alpha_t(float y, float alpha, bool balanced) { return balanced ? y * alpha + (1.f - y) * (1.f - alpha) : 1.f; }
}  // namespace

FF_MULTIVERSION_NOFMA void binary_focal_forward(const float* y, const float* p, const float* x, int64_t n,
                                                bool from_logits, float gamma, float alpha, bool balanced,
                                                float* loss) {
  for (int64_t i = 0; i < n; ++i) {
    const float pt = y[i] * p[i] + (1.f - y[i]) * (1.f - p[i]);
    const float focal = std::pow(1.f - pt, gamma) * binary_crossentropy(y[i], x[i], from_logits);
    loss[i] = balanced ? alpha_t(y[i], alpha, true) * focal : focal;
  }
}

// d/dp: -alpha_t bce gamma (1 - p_t)^(gamma - 1) (2y - 1); d/dx: alpha_t (1 - p_t)^gamma bce'(x).
FF_MULTIVERSION_NOFMA void binary_focal_backward(const float* y, const float* p, const float* x, const float* dloss,
                                                 int64_t n, bool from_logits, float gamma, float alpha, bool balanced,
                                                 float* dp, bool acc_p, float* dx, bool acc_x) {
  for (int64_t i = 0; i < n; ++i) {
    const float pt = y[i] * p[i] + (1.f - y[i]) * (1.f - p[i]);
    const float g = dloss[i] * alpha_t(y[i], alpha, balanced);
    if (dp) {
      const float v = -g * binary_crossentropy(y[i], x[i], from_logits) * gamma * std::pow(1.f - pt, gamma - 1.f) *
                      (2.f * y[i] - 1.f);
      dp[i] = acc_p ? dp[i] + v : v;
    }
    if (dx) {  // after dp: the two may be one buffer (no logits: x is p)
      const float v = g * std::pow(1.f - pt, gamma) * binary_crossentropy_grad(y[i], x[i], from_logits);
      dx[i] = acc_x ? dx[i] + v : v;
    }
  }
}

FF_MULTIVERSION_NOFMA void categorical_focal_forward(const float* __restrict y, const float* __restrict x, int64_t B,
                                                     int64_t C, bool from_logits, float gamma, float alpha,
                                                     float* __restrict p, float* __restrict loss) {
  for (int64_t i = 0; i < B; ++i) {
    const float *xr = x + i * C, *yr = y + i * C;
    float* pr = p + i * C;
    if (from_logits) softmax_row(xr, C, pr);
    else std::copy(xr, xr + C, pr);
    float s = 0.f, l = 0.f;
    for (int64_t j = 0; j < C; ++j) s += pr[j];
    for (int64_t j = 0; j < C; ++j) {
      const float q = std::min(std::max(pr[j] / s, kEps), 1.f - kEps);
      l += std::pow(1.f - q, gamma) * alpha * (-yr[j] * std::log(q));
    }
    loss[i] = l;
  }
}

// Through q_j = clip(p_j / s): dL/dq_j = alpha y_j (gamma (1 - q)^(gamma - 1) log q - (1 - q)^gamma / q)
// inside the clip, dq_j/dp_k = (delta_jk - p_j / s) / s; from logits, then softmax's backward.
FF_MULTIVERSION_NOFMA void categorical_focal_backward(const float* __restrict y, const float* __restrict p,
                                                      const float* __restrict dloss, int64_t B, int64_t C,
                                                      bool from_logits, float gamma, float alpha, float* __restrict dx,
                                                      bool acc) {
  for (int64_t i = 0; i < B; ++i) {
    const float *yr = y + i * C, *pr = p + i * C;
    float* o = dx + i * C;
    float s = 0.f, dot = 0.f, pdot = 0.f;
    for (int64_t j = 0; j < C; ++j) s += pr[j];
    auto dq = [&](int64_t j) {
      const float u = pr[j] / s;
      if (u < kEps || u > 1.f - kEps) return 0.f;
      return alpha * yr[j] * (gamma * std::pow(1.f - u, gamma - 1.f) * std::log(u) - std::pow(1.f - u, gamma) / u);
    };
    for (int64_t j = 0; j < C; ++j) dot += dq(j) * (pr[j] / s);
    auto dprob = [&](int64_t j) { return (dq(j) - dot) / s * dloss[i]; };
    if (from_logits)
      for (int64_t j = 0; j < C; ++j) pdot += pr[j] * dprob(j);
    for (int64_t j = 0; j < C; ++j) {
      const float v = from_logits ? pr[j] * (dprob(j) - pdot) : dprob(j);
      o[j] = acc ? o[j] + v : v;
    }
  }
}

void hinge_labels(const float* y, int64_t n, float* out) {
  bool binary = true;
  for (int64_t i = 0; i < n && binary; ++i) binary = y[i] == 0.f || y[i] == 1.f;
  for (int64_t i = 0; i < n; ++i) out[i] = binary ? 2.f * y[i] - 1.f : y[i];
}

FF_MULTIVERSION_NOFMA void categorical_hinge_forward(const float* __restrict y, const float* __restrict p, int64_t B,
                                                     int64_t C, float* __restrict loss) {
  for (int64_t i = 0; i < B; ++i) {
    const float *yr = y + i * C, *pr = p + i * C;
    float pos = 0.f, neg = -INFINITY;
    for (int64_t j = 0; j < C; ++j) {
      pos += yr[j] * pr[j];
      neg = std::max(neg, (1.f - yr[j]) * pr[j]);
    }
    loss[i] = std::max(neg - pos + 1.f, 0.f);
  }
}

FF_MULTIVERSION_NOFMA void categorical_hinge_backward(const float* __restrict y, const float* __restrict p,
                                                      const float* __restrict dloss, int64_t B, int64_t C,
                                                      float* __restrict dp, bool acc) {
  for (int64_t i = 0; i < B; ++i) {
    const float *yr = y + i * C, *pr = p + i * C;
    float pos = 0.f, neg = -INFINITY;
    int64_t ties = 0;
    for (int64_t j = 0; j < C; ++j) {
      pos += yr[j] * pr[j];
      const float v = (1.f - yr[j]) * pr[j];
      ties = v > neg ? 1 : ties + (v == neg);
      neg = std::max(neg, v);
    }
    // max(z, 0) passes the gradient where z >= 0 (ties go to z, as tf.maximum's)
    const float g = neg - pos + 1.f >= 0.f ? dloss[i] : 0.f;
    for (int64_t j = 0; j < C; ++j) {
      const float at_max = (1.f - yr[j]) * pr[j] == neg ? 1.f / float(ties) : 0.f;
      const float v = g * (at_max * (1.f - yr[j]) - yr[j]);
      dp[i * C + j] = acc ? dp[i * C + j] + v : v;
    }
  }
}

}  // namespace fastfit::cpu
