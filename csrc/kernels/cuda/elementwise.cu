// Elementwise kernels: activations, unary math, bias add, scaled copies, casts (cpu/elementwise.cpp,
// cpu/compare.cpp give the formulas).
#include "kernels/cuda/launch.cuh"

namespace fastfit::cuda {

void fill(float* x, int64_t n, float value) {
  each("fill", n, [=] __device__(int64_t i) { x[i] = value; });
}

void act_forward(Act act, const float* x, int64_t n, float* y) {
  switch (act) {
    case Act::linear:
      if (x != y) each("act_forward", n, [=] __device__(int64_t i) { y[i] = x[i]; });
      break;
    case Act::relu: each("act_forward", n, [=] __device__(int64_t i) { y[i] = x[i] > 0.f ? x[i] : 0.f; }); break;
    case Act::sigmoid:
      each("act_forward", n, [=] __device__(int64_t i) { y[i] = 1.f / (1.f + expf(-x[i])); });
      break;
    case Act::tanh: each("act_forward", n, [=] __device__(int64_t i) { y[i] = tanhf(x[i]); }); break;
  }
}

void act_backward(Act act, const float* y, const float* dy, int64_t n, float* dx, bool acc) {
  switch (act) {
    case Act::linear:
      if (acc || dx != dy) store("act_backward", dx, n, acc, [=] __device__(int64_t i) { return dy[i]; });
      break;
    case Act::relu:  // derivative 0 at 0, as TF and Keras use
      store("act_backward", dx, n, acc, [=] __device__(int64_t i) { return y[i] > 0.f ? dy[i] : 0.f; });
      break;
    case Act::sigmoid:
      store("act_backward", dx, n, acc, [=] __device__(int64_t i) { return dy[i] * y[i] * (1.f - y[i]); });
      break;
    case Act::tanh:
      store("act_backward", dx, n, acc, [=] __device__(int64_t i) { return dy[i] * (1.f - y[i] * y[i]); });
      break;
  }
}

void unary_forward(Unary kind, const float* x, int64_t n, float* y) {
  each("unary_forward", n, [=] __device__(int64_t i) {
    const float v = x[i];
    switch (kind) {
      case Unary::neg: y[i] = -v; break;
      case Unary::square: y[i] = v * v; break;
      case Unary::sqrt: y[i] = sqrtf(v); break;
      case Unary::exp: y[i] = expf(v); break;
      case Unary::log: y[i] = logf(v); break;
      case Unary::abs: y[i] = fabsf(v); break;
      case Unary::log1p: y[i] = log1pf(v); break;
      case Unary::expm1: y[i] = expm1f(v); break;
      case Unary::erf: y[i] = erff(v); break;
      case Unary::softplus: y[i] = fmaxf(v, 0.f) + log1pf(expf(-fabsf(v))); break;  // log(1 + e^x), no overflow
      case Unary::floor: y[i] = floorf(v); break;
      case Unary::ceil: y[i] = ceilf(v); break;
      case Unary::round: y[i] = rintf(v); break;  // half to even
      case Unary::sign: y[i] = v != v ? v : float((v > 0.f) - (v < 0.f)); break;  // nan stays nan
    }
  });
}

void unary_backward(Unary kind, const float* x, const float* y, const float* dy, int64_t n, float* dx, bool acc) {
  if (kind == Unary::floor || kind == Unary::ceil || kind == Unary::round || kind == Unary::sign)
    return;  // not differentiable: dx untouched, as on the CPU
  store("unary_backward", dx, n, acc, [=] __device__(int64_t i) {
    switch (kind) {
      case Unary::neg: return -dy[i];
      case Unary::square: return 2.f * x[i] * dy[i];
      case Unary::sqrt: return dy[i] / (2.f * y[i]);
      case Unary::exp: return dy[i] * y[i];
      case Unary::log: return dy[i] / x[i];
      case Unary::abs: return x[i] > 0.f ? dy[i] : (x[i] < 0.f ? -dy[i] : 0.f);
      case Unary::log1p: return dy[i] / (1.f + x[i]);
      case Unary::expm1: return dy[i] * (y[i] + 1.f);
      case Unary::erf: return dy[i] * 1.1283791670955126f * expf(-x[i] * x[i]);  // 2 / sqrt(pi) e^(-x^2)
      case Unary::softplus: return dy[i] / (1.f + expf(-x[i]));
      default: break;
    }
    return 0.f;
  });
}

void bias_add_forward(const float* x, const float* bias, int64_t M, int64_t N, float* y) {
  each("bias_add_forward", M * N, [=] __device__(int64_t i) { y[i] = x[i] + bias[i % N]; });
}

void axpy_store(float a, const float* x, int64_t n, float* y, bool acc) {
  store("axpy_store", y, n, acc, [=] __device__(int64_t i) { return a * x[i]; });
}

void cast_f32_i32(const float* x, int64_t n, int32_t* y) {
  each("cast_f32_i32", n, [=] __device__(int64_t i) { y[i] = int32_t(x[i]); });
}

void cast_i32_f32(const int32_t* x, int64_t n, float* y) {
  each("cast_i32_f32", n, [=] __device__(int64_t i) { y[i] = float(x[i]); });
}

void cast_to_bool(const float* x, int64_t n, float* y) {
  each("cast_to_bool", n, [=] __device__(int64_t i) { y[i] = x[i] != 0.f ? 1.f : 0.f; });
}

}  // namespace fastfit::cuda
