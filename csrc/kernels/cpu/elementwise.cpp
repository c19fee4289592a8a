// Activation, bias and softmax kernels, compiled for several ISAs (see FF_MULTIVERSION).
#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/cpu/kernels.h"

namespace fastfit::cpu {

FF_MULTIVERSION void broadcast_rows(const float* row, int64_t M, int64_t N, float* out) {
  for (int64_t i = 0; i < M; ++i) std::memcpy(out + i * N, row, sizeof(float) * N);
}

FF_MULTIVERSION void act_forward(Act act, const float* x, int64_t n, float* y) {
  switch (act) {
    case Act::linear:
      if (x != y) std::memcpy(y, x, sizeof(float) * n);
      break;
    case Act::relu:
      for (int64_t i = 0; i < n; ++i) y[i] = x[i] > 0.f ? x[i] : 0.f;
      break;
    case Act::sigmoid:
      for (int64_t i = 0; i < n; ++i) y[i] = 1.f / (1.f + std::exp(-x[i]));
      break;
    case Act::tanh:
      for (int64_t i = 0; i < n; ++i) y[i] = std::tanh(x[i]);
      break;
  }
}

FF_MULTIVERSION void act_backward(Act act, const float* y, const float* dy, int64_t n, float* dx, bool acc) {
  switch (act) {
    case Act::linear:
      if (acc) for (int64_t i = 0; i < n; ++i) dx[i] += dy[i];
      else if (dx != dy) std::memcpy(dx, dy, sizeof(float) * n);
      break;
    case Act::relu:  // derivative 0 at 0, as TF and Keras use
      if (acc) for (int64_t i = 0; i < n; ++i) dx[i] += y[i] > 0.f ? dy[i] : 0.f;
      else for (int64_t i = 0; i < n; ++i) dx[i] = y[i] > 0.f ? dy[i] : 0.f;
      break;
    case Act::sigmoid:
      if (acc) for (int64_t i = 0; i < n; ++i) dx[i] += dy[i] * y[i] * (1.f - y[i]);
      else for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * y[i] * (1.f - y[i]);
      break;
    case Act::tanh:
      if (acc) for (int64_t i = 0; i < n; ++i) dx[i] += dy[i] * (1.f - y[i] * y[i]);
      else for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * (1.f - y[i] * y[i]);
      break;
  }
}

FF_MULTIVERSION void column_sum(const float* x, int64_t M, int64_t N, float* out, bool acc) {
  if (!acc) std::memset(out, 0, sizeof(float) * N);
  for (int64_t i = 0; i < M; ++i) {
    const float* r = x + i * N;
    for (int64_t j = 0; j < N; ++j) out[j] += r[j];
  }
}

FF_MULTIVERSION float softmax_row(const float* x, int64_t N, float* p) {
  float mx = x[0];
  for (int64_t j = 1; j < N; ++j) mx = std::max(mx, x[j]);
  float s = 0.f;
  for (int64_t j = 0; j < N; ++j) s += (p[j] = std::exp(x[j] - mx));
  const float inv = 1.f / s;
  for (int64_t j = 0; j < N; ++j) p[j] *= inv;
  return mx + std::log(s);
}

void softmax_rows(const float* x, int64_t M, int64_t N, float* y) {
  for (int64_t i = 0; i < M; ++i) softmax_row(x + i * N, N, y + i * N);
}

// dx = y * (dy - sum(y * dy)) per row.
FF_MULTIVERSION void softmax_backward(const float* y, const float* dy, int64_t M, int64_t N, float* dx, bool acc) {
  for (int64_t i = 0; i < M; ++i) {
    const float* yr = y + i * N;
    const float* gr = dy + i * N;
    float* o = dx + i * N;
    float dot = 0.f;
    for (int64_t j = 0; j < N; ++j) dot += yr[j] * gr[j];
    if (acc) for (int64_t j = 0; j < N; ++j) o[j] += yr[j] * (gr[j] - dot);
    else for (int64_t j = 0; j < N; ++j) o[j] = yr[j] * (gr[j] - dot);
  }
}

FF_MULTIVERSION void axpy_store(float a, const float* x, int64_t n, float* y, bool acc) {
  if (acc) for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
  else for (int64_t i = 0; i < n; ++i) y[i] = a * x[i];
}

}  // namespace fastfit::cpu
