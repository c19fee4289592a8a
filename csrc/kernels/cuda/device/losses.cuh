// What the loss kernels share on the device: softmax of a row, clipping, Keras 3's binary
// crossentropy of one element and its derivative (cpu/kernels.h has the CPU's). Includes nothing
// outside device/.
#pragma once
#include <cstdint>

namespace fastfit::cuda::dev {

constexpr float kEps = 1e-7f;  // keras.backend.epsilon()

// p = softmax(x) for one row of N; returns logsumexp(x).
__device__ inline float softmax_row(const float* x, int64_t N, float* p) {
  float mx = x[0];
  for (int64_t j = 1; j < N; ++j) mx = mx < x[j] ? x[j] : mx;
  float s = 0.f;
  for (int64_t j = 0; j < N; ++j) s += (p[j] = expf(x[j] - mx));
  const float inv = 1.f / s;
  for (int64_t j = 0; j < N; ++j) p[j] *= inv;
  return mx + logf(s);
}

__device__ inline float clip(float v) { return fminf(fmaxf(v, kEps), 1.f - kEps); }

__device__ inline float bce(float y, float x, bool from_logits) {  // Keras 3's binary crossentropy of one element
  if (from_logits) return fmaxf(x, 0.f) - x * y + log1pf(expf(-fabsf(x)));
  const float p = clip(x);
  return -(y * logf(p) + (1.f - y) * logf(1.f - p));
}

__device__ inline float bce_grad(float y, float x, bool from_logits) {
  if (from_logits) return 1.f / (1.f + expf(-x)) - y;
  if (x < kEps || x > 1.f - kEps) return 0.f;
  return -(y / x - (1.f - y) / (1.f - x));
}

}  // namespace fastfit::cuda::dev
