// SGD, RMSprop and Adam with Keras 3's formulas (keras/src/optimizers/*.py update_step), op for op.
//
// Each rule is a kernel templated on its options, so the loop has no branches and, with restrict
// pointers, vectorises; FF_MULTIVERSION compiles it for AVX-512, AVX2 and baseline x86-64. This file
// is built without FMA contraction: every operation rounds once, as Keras' separate ops do, and all
// clones give the same bits.
#include "optim/optimizer.h"

#include <algorithm>
#include <cmath>

#include "core/denormals.h"
#include "kernels/cpu/kernels.h"

namespace fastfit {
namespace {

// m = m*mu - g*lr; w += m (nesterov: w += m*mu - g*lr). Without momentum: w -= g*lr.
template <bool kMomentum, bool kNesterov>
FF_MULTIVERSION void sgd(float* __restrict w, const float* __restrict g, float* __restrict m, int64_t n, float lr,
                         float mu) {
  for (int64_t i = 0; i < n; ++i) {
    if (kMomentum) {
      m[i] = m[i] * mu - g[i] * lr;
      w[i] += kNesterov ? m[i] * mu - g[i] * lr : m[i];
    } else {
      w[i] -= g[i] * lr;
    }
  }
}

// v = rho*v + (1-rho)*g^2; centered: a = rho*a + (1-rho)*g, denominator v - a^2 + eps (else v + eps);
// inc = lr*g / sqrt(denominator); momentum: m = mu*m + inc, w -= m (else w -= inc).
template <bool kCentered, bool kMomentum>
FF_MULTIVERSION void rmsprop(float* __restrict w, const float* __restrict g, float* __restrict v,
                             float* __restrict m, float* __restrict a, int64_t n, float lr, float rho,
                             float one_minus_rho, float mu, float eps) {
  for (int64_t i = 0; i < n; ++i) {
    v[i] = rho * v[i] + one_minus_rho * (g[i] * g[i]);
    float denominator = v[i] + eps;
    if (kCentered) {
      a[i] = rho * a[i] + one_minus_rho * g[i];
      denominator = v[i] - a[i] * a[i] + eps;
    }
    const float inc = lr * g[i] / std::sqrt(denominator);
    if (kMomentum) {
      m[i] = mu * m[i] + inc;
      w[i] -= m[i];
    } else {
      w[i] -= inc;
    }
  }
}

// m += (g - m)(1-b1); v += (g^2 - v)(1-b2); amsgrad: v_hat = max(v_hat, v) is used for v;
// w -= m*alpha / (sqrt(v) + eps).
template <bool kAmsgrad>
FF_MULTIVERSION void adam(float* __restrict w, const float* __restrict g, float* __restrict m, float* __restrict v,
                          float* __restrict v_hat, int64_t n, float alpha, float one_minus_b1, float one_minus_b2,
                          float eps) {
  for (int64_t i = 0; i < n; ++i) {
    m[i] += (g[i] - m[i]) * one_minus_b1;
    v[i] += (g[i] * g[i] - v[i]) * one_minus_b2;
    float second = v[i];
    if (kAmsgrad) second = v_hat[i] = std::max(v_hat[i], v[i]);
    w[i] -= m[i] * alpha / (std::sqrt(second) + eps);
  }
}

}  // namespace

Optimizer::Optimizer(OptimizerConfig c) : cfg(c) {
  auto add = [this](const char* name) { slots_.push_back({name, ParamArena(), {}}); };
  switch (cfg.kind) {  // Keras' build order
    case OptKind::sgd:
      if (cfg.momentum != 0.f) add("momentum");
      break;
    case OptKind::rmsprop:
      add("velocity");
      if (cfg.momentum > 0.f) add("momentum");
      if (cfg.centered) add("average_gradient");
      break;
    case OptKind::adam:
      add("momentum");
      add("velocity");
      if (cfg.amsgrad) add("velocity_hat");
      interleaved_ = 2;
      break;
  }
}

void Optimizer::build(const std::vector<TensorPtr>& vars) {
  for (size_t i = 0; i < vars.size(); ++i) {
    FF_CHECK(vars[i], "optimizer.build: variables[" + std::to_string(i) + "] is None; expected a float32 variable");
    FF_CHECK(vars[i]->dtype == DType::f32, "optimizer.build: variables[" + std::to_string(i) +
                                               "] must be float32, got " + vars[i]->desc());
  }
  const size_t first = vars_.size();
  for (auto& v : vars) {
    if (!index_.try_emplace(v.get(), vars_.size()).second) continue;  // served already
    vars_.push_back(v);
    layout_.append(v->size());
  }
  if (vars_.size() == first) return;
  for (Slot& s : slots_) {
    std::vector<TensorPtr> fresh;
    for (size_t k = first; k < vars_.size(); ++k) {
      fresh.push_back(std::make_shared<Tensor>());  // no memory yet: the arena gives it zeros
      fresh.back()->shape = vars_[k]->shape;
    }
    s.arena.adopt(fresh);
    s.state.insert(s.state.end(), fresh.begin(), fresh.end());
  }
}

std::vector<Optimizer::SlotVariable> Optimizer::slot_variables() const {
  std::vector<SlotVariable> out;
  const size_t together = std::min(size_t(interleaved_), slots_.size());
  for (size_t k = 0; k < vars_.size(); ++k)
    for (size_t s = 0; s < together; ++s) out.push_back({slots_[s].name, k, slots_[s].state[k]});
  for (size_t s = together; s < slots_.size(); ++s)
    for (size_t k = 0; k < vars_.size(); ++k) out.push_back({slots_[s].name, k, slots_[s].state[k]});
  return out;
}

int64_t Optimizer::offset(const Tensor& var) const {
  auto it = index_.find(&var);
  return it == index_.end() ? -1 : layout_.offsets[it->second];
}

void Optimizer::update(float* w, const float* g, int64_t offset, int64_t n) const {
  if (n <= 0) return;
  FlushDenormals flush;
  float* s[3] = {};
  for (size_t k = 0; k < slots_.size(); ++k) s[k] = slots_[k].arena.buffer().get() + offset;
  const float lr = cfg.learning_rate, eps = cfg.epsilon;
  switch (cfg.kind) {
    case OptKind::sgd: {
      const float mu = cfg.momentum;
      if (slots_.empty()) sgd<false, false>(w, g, nullptr, n, lr, mu);
      else if (cfg.nesterov) sgd<true, true>(w, g, s[0], n, lr, mu);
      else sgd<true, false>(w, g, s[0], n, lr, mu);
      break;
    }
    case OptKind::rmsprop: {
      // Keras computes 1 - rho in Python (double) and rounds it to float32
      const float rho = float(cfg.rho), one_minus_rho = float(1.0 - cfg.rho), mu = cfg.momentum;
      const bool momentum = mu > 0.f;
      float* m = momentum ? s[1] : nullptr;
      float* a = cfg.centered ? s[momentum ? 2 : 1] : nullptr;
      if (cfg.centered && momentum) rmsprop<true, true>(w, g, s[0], m, a, n, lr, rho, one_minus_rho, mu, eps);
      else if (cfg.centered) rmsprop<true, false>(w, g, s[0], m, a, n, lr, rho, one_minus_rho, mu, eps);
      else if (momentum) rmsprop<false, true>(w, g, s[0], m, a, n, lr, rho, one_minus_rho, mu, eps);
      else rmsprop<false, false>(w, g, s[0], m, a, n, lr, rho, one_minus_rho, mu, eps);
      break;
    }
    case OptKind::adam: {
      // float32, as Keras computes it: Adam's trajectory is sensitive to the rounding of alpha
      const float t = float(iterations + 1), b1 = float(cfg.beta_1), b2 = float(cfg.beta_2);
      const float alpha = lr * std::sqrt(1.f - std::pow(b2, t)) / (1.f - std::pow(b1, t));
      const float one_minus_b1 = float(1.0 - cfg.beta_1), one_minus_b2 = float(1.0 - cfg.beta_2);
      if (cfg.amsgrad) adam<true>(w, g, s[0], s[1], s[2], n, alpha, one_minus_b1, one_minus_b2, eps);
      else adam<false>(w, g, s[0], s[1], nullptr, n, alpha, one_minus_b1, one_minus_b2, eps);
      break;
    }
  }
}

void Optimizer::apply(const std::vector<TensorPtr>& vars, const std::vector<TensorPtr>& grads) {
  FF_CHECK(vars.size() == grads.size(), "apply_gradients: got " + std::to_string(grads.size()) + " gradients for " +
                                            std::to_string(vars.size()) + " variables");
  for (size_t i = 0; i < vars.size(); ++i) {
    FF_CHECK(grads[i] && vars[i], "apply_gradients: pair " + std::to_string(i) + " holds None");
    FF_CHECK(grads[i]->shape == vars[i]->shape, "apply_gradients: gradient of shape " + grads[i]->shape.str() +
                                                    " for a variable of shape " + vars[i]->shape.str());
    FF_CHECK(grads[i]->dtype == DType::f32, "apply_gradients: gradients must be float32, got " + grads[i]->desc());
  }
  build(vars);
  for (size_t i = 0; i < vars.size(); ++i) update(vars[i]->f(), grads[i]->f(), offset(*vars[i]), vars[i]->size());
  ++iterations;
}

}  // namespace fastfit
