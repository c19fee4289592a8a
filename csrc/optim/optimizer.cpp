// SGD, RMSprop and Adam with Keras 3's formulas (see keras/src/optimizers/*.py update_step).
#include "optim/optimizer.h"

#include <cmath>

#include "kernels/cpu/kernels.h"

namespace fastfit {
namespace {

// m = mu*m - lr*g; w += m (nesterov: w += mu*m - lr*g). Without momentum: w -= lr*g.
FF_MULTIVERSION void sgd_kernel(float* w, const float* g, float* m, int64_t n, float lr, float mu, bool nesterov) {
  if (!m) {
    for (int64_t i = 0; i < n; ++i) w[i] -= lr * g[i];
    return;
  }
  for (int64_t i = 0; i < n; ++i) {
    m[i] = mu * m[i] - lr * g[i];
    w[i] += nesterov ? mu * m[i] - lr * g[i] : m[i];
  }
}

// v = rho*v + (1-rho)*g^2; [avg = rho*avg + (1-rho)*g]; inc = lr*g/sqrt(v [- avg^2] + eps); momentum optional.
FF_MULTIVERSION void rmsprop_kernel(float* w, const float* g, float* v, float* avg, float* m, int64_t n, float lr,
                                    float rho, float mu, float eps) {
  for (int64_t i = 0; i < n; ++i) {
    v[i] = rho * v[i] + (1.f - rho) * g[i] * g[i];
    float denom = v[i] + eps;
    if (avg) {
      avg[i] = rho * avg[i] + (1.f - rho) * g[i];
      denom -= avg[i] * avg[i];
    }
    const float inc = lr * g[i] / std::sqrt(denom);
    if (m) {
      m[i] = mu * m[i] + inc;
      w[i] -= m[i];
    } else {
      w[i] -= inc;
    }
  }
}

// m += (g-m)(1-b1); v += (g^2-v)(1-b2); [v_hat = max(v_hat, v)]; w -= alpha*m/(sqrt(v)+eps).
FF_MULTIVERSION void adam_kernel(float* w, const float* g, float* m, float* v, float* vhat, int64_t n, float alpha,
                                 float b1, float b2, float eps) {
  for (int64_t i = 0; i < n; ++i) {
    m[i] += (g[i] - m[i]) * (1.f - b1);
    v[i] += (g[i] * g[i] - v[i]) * (1.f - b2);
    float vv = v[i];
    if (vhat) vv = vhat[i] = std::max(vhat[i], v[i]);
    w[i] -= alpha * m[i] / (std::sqrt(vv) + eps);
  }
}

void zeros_like(Tensor& s, const Tensor& w) {
  s.resize(w.shape, DType::f32);
  s.zero();
}

}  // namespace

Optimizer::Slots& Optimizer::slots_for(const Tensor& w) {
  auto& p = slots_[&w];
  if (!p) {
    p = std::make_unique<Slots>();
    const bool a = cfg.kind == OptKind::adam || cfg.kind == OptKind::rmsprop || cfg.momentum != 0.f;
    const bool b = cfg.kind == OptKind::adam || (cfg.kind == OptKind::rmsprop && cfg.momentum != 0.f);
    const bool c = (cfg.kind == OptKind::adam && cfg.amsgrad) || (cfg.kind == OptKind::rmsprop && cfg.centered);
    if (a) zeros_like(p->a, w);
    if (b) zeros_like(p->b, w);
    if (c) zeros_like(p->c, w);
  }
  return *p;
}

void Optimizer::update(Tensor& w, const Tensor& g, Slots& s, int64_t begin, int64_t end) const {
  if (end < 0) end = w.size();
  const int64_t n = end - begin;
  if (n <= 0) return;
  auto at = [begin](Tensor& t) { return t.data ? t.f() + begin : nullptr; };  // a slot that exists
  float* wp = w.f() + begin;
  const float* gp = g.f() + begin;
  const float lr = cfg.learning_rate;
  switch (cfg.kind) {
    case OptKind::sgd:
      sgd_kernel(wp, gp, cfg.momentum != 0.f ? at(s.a) : nullptr, n, lr, cfg.momentum, cfg.nesterov);
      break;
    case OptKind::rmsprop:
      rmsprop_kernel(wp, gp, at(s.a), cfg.centered ? at(s.c) : nullptr, cfg.momentum != 0.f ? at(s.b) : nullptr, n,
                     lr, cfg.rho, cfg.momentum, cfg.epsilon);
      break;
    case OptKind::adam: {
      // float32, as Keras computes it: Adam's trajectory is sensitive to the rounding of alpha
      const float t = float(iterations + 1);
      const float alpha = lr * std::sqrt(1.f - std::pow(cfg.beta_2, t)) / (1.f - std::pow(cfg.beta_1, t));
      adam_kernel(wp, gp, at(s.a), at(s.b), cfg.amsgrad ? at(s.c) : nullptr, n, alpha, cfg.beta_1,
                  cfg.beta_2, cfg.epsilon);
      break;
    }
  }
}

void Optimizer::apply(const std::vector<TensorPtr>& vars, const std::vector<TensorPtr>& grads) {
  FF_CHECK(vars.size() == grads.size(), "apply_gradients: got " + std::to_string(grads.size()) + " gradients for " +
                                            std::to_string(vars.size()) + " variables");
  for (size_t i = 0; i < vars.size(); ++i) {
    FF_CHECK(grads[i]->shape == vars[i]->shape, "apply_gradients: gradient of shape " + grads[i]->shape.str() +
                                                    " for a variable of shape " + vars[i]->shape.str());
    update(*vars[i], *grads[i], slots_for(*vars[i]));
  }
  ++iterations;
}

}  // namespace fastfit
