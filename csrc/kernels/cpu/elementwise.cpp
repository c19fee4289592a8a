// Elementwise kernels: activations, unary math, bias add, scaled copies.
#include <cmath>
#include <cstring>

#include "kernels/cpu/kernels.h"

namespace fastfit::cpu {
namespace {

// dx[i] (+)= v(i): one loop per case so each vectorises.
template <class F>
inline void store(float* __restrict dx, int64_t n, bool acc, F v) {
  if (acc) for (int64_t i = 0; i < n; ++i) dx[i] += v(i);
  else for (int64_t i = 0; i < n; ++i) dx[i] = v(i);
}

}  // namespace

FF_MULTIVERSION_NOFMA void fill(float* __restrict x, int64_t n, float value) {
  for (int64_t i = 0; i < n; ++i) x[i] = value;
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

FF_MULTIVERSION_NOFMA void unary_forward(Unary kind, const float* __restrict x, int64_t n, float* __restrict y) {
  switch (kind) {
    case Unary::neg: for (int64_t i = 0; i < n; ++i) y[i] = -x[i]; break;
    case Unary::square: for (int64_t i = 0; i < n; ++i) y[i] = x[i] * x[i]; break;
    case Unary::sqrt: for (int64_t i = 0; i < n; ++i) y[i] = std::sqrt(x[i]); break;
    case Unary::exp: for (int64_t i = 0; i < n; ++i) y[i] = std::exp(x[i]); break;
    case Unary::log: for (int64_t i = 0; i < n; ++i) y[i] = std::log(x[i]); break;
    case Unary::abs: for (int64_t i = 0; i < n; ++i) y[i] = std::fabs(x[i]); break;
    case Unary::log1p: for (int64_t i = 0; i < n; ++i) y[i] = std::log1p(x[i]); break;
    case Unary::expm1: for (int64_t i = 0; i < n; ++i) y[i] = std::expm1(x[i]); break;
    case Unary::erf: for (int64_t i = 0; i < n; ++i) y[i] = std::erf(x[i]); break;
    case Unary::softplus:  // log(1 + e^x) without overflow
      for (int64_t i = 0; i < n; ++i) y[i] = std::max(x[i], 0.f) + std::log1p(std::exp(-std::fabs(x[i])));
      break;
    case Unary::floor: for (int64_t i = 0; i < n; ++i) y[i] = std::floor(x[i]); break;
    case Unary::ceil: for (int64_t i = 0; i < n; ++i) y[i] = std::ceil(x[i]); break;
    case Unary::round: for (int64_t i = 0; i < n; ++i) y[i] = std::nearbyint(x[i]); break;  // half to even
    case Unary::sign:  // nan stays nan, as numpy and TensorFlow give it
      for (int64_t i = 0; i < n; ++i) y[i] = x[i] != x[i] ? x[i] : float((x[i] > 0.f) - (x[i] < 0.f));
      break;
  }
}

// Gradients in terms of x or of the output y, whichever is cheaper.
FF_MULTIVERSION_NOFMA void unary_backward(Unary kind, const float* __restrict x, const float* __restrict y,
                                          const float* __restrict dy, int64_t n, float* __restrict dx, bool acc) {
  switch (kind) {
    case Unary::neg: store(dx, n, acc, [&](int64_t i) { return -dy[i]; }); break;
    case Unary::square: store(dx, n, acc, [&](int64_t i) { return 2.f * x[i] * dy[i]; }); break;
    case Unary::sqrt: store(dx, n, acc, [&](int64_t i) { return dy[i] / (2.f * y[i]); }); break;
    case Unary::exp: store(dx, n, acc, [&](int64_t i) { return dy[i] * y[i]; }); break;
    case Unary::log: store(dx, n, acc, [&](int64_t i) { return dy[i] / x[i]; }); break;
    case Unary::abs:
      store(dx, n, acc, [&](int64_t i) { return x[i] > 0.f ? dy[i] : (x[i] < 0.f ? -dy[i] : 0.f); });
      break;
    case Unary::log1p: store(dx, n, acc, [&](int64_t i) { return dy[i] / (1.f + x[i]); }); break;
    case Unary::expm1: store(dx, n, acc, [&](int64_t i) { return dy[i] * (y[i] + 1.f); }); break;
    case Unary::erf:  // 2 / sqrt(pi) e^(-x^2)
      store(dx, n, acc, [&](int64_t i) { return dy[i] * 1.1283791670955126f * std::exp(-x[i] * x[i]); });
      break;
    case Unary::softplus: store(dx, n, acc, [&](int64_t i) { return dy[i] / (1.f + std::exp(-x[i])); }); break;
    case Unary::floor: case Unary::ceil: case Unary::round: case Unary::sign: break;  // not differentiable
  }
}

FF_MULTIVERSION_NOFMA void bias_add_forward(const float* __restrict x, const float* __restrict bias, int64_t M,
                                            int64_t N, float* __restrict y) {
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) y[i * N + j] = x[i * N + j] + bias[j];
}

FF_MULTIVERSION void axpy_store(float a, const float* __restrict x, int64_t n, float* __restrict y, bool acc) {
  store(y, n, acc, [&](int64_t i) { return a * x[i]; });
}

}  // namespace fastfit::cpu
