// The update rules of Keras 3's optimizers, op for op as their update_step computes them.
//
// Each rule is a kernel templated on its options, so the loop has no branches and, with restrict
// pointers, vectorises; FF_MULTIVERSION compiles it for AVX-512, AVX2 and baseline x86-64. This file
// is built without FMA contraction: every operation rounds once, as Keras' separate ops do, and all
// clones give the same bits. Constants Keras writes in Python (1 - beta_1 on a float) round from
// double; those it computes from a float32 tensor (1 - beta_1 after a cast) are float32 operations.
#include "optim/rules.h"

#include <algorithm>
#include <cmath>

#include "kernels/cpu/kernels.h"
#include "optim/tf_pow.h"

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

// acc += g^2; w -= lr*g / sqrt(acc + eps).
FF_MULTIVERSION void adagrad(float* __restrict w, const float* __restrict g, float* __restrict acc, int64_t n,
                             float lr, float eps) {
  for (int64_t i = 0; i < n; ++i) {
    acc[i] += g[i] * g[i];
    w[i] -= lr * g[i] / std::sqrt(acc[i] + eps);
  }
}

// ag = rho*ag + (1-rho)*g^2; delta = -(sqrt(ad + eps)*g / sqrt(ag + eps));
// ad = rho*ad + (1-rho)*delta^2; w += lr*delta.
FF_MULTIVERSION void adadelta(float* __restrict w, const float* __restrict g, float* __restrict ag,
                              float* __restrict ad, int64_t n, float lr, float rho, float one_minus_rho, float eps) {
  for (int64_t i = 0; i < n; ++i) {
    ag[i] = rho * ag[i] + one_minus_rho * (g[i] * g[i]);
    const float delta = -(std::sqrt(ad[i] + eps) * g[i] / std::sqrt(ag[i] + eps));
    ad[i] = rho * ad[i] + one_minus_rho * (delta * delta);
    w[i] += lr * delta;
  }
}

// m += (g - m)(1-b1); u = max(b2*u, |g|); w -= lr*m / ((1 - b1^t)(u + eps)).
FF_MULTIVERSION void adamax(float* __restrict w, const float* __restrict g, float* __restrict m, float* __restrict u,
                            int64_t n, float lr, float one_minus_b1, float b2, float bias, float eps) {
  for (int64_t i = 0; i < n; ++i) {
    m[i] += (g[i] - m[i]) * one_minus_b1;
    u[i] = std::max(b2 * u[i], std::fabs(g[i]));
    w[i] -= lr * m[i] / (bias * (u[i] + eps));
  }
}

// m += (g - m)(1-b1); v += (g^2 - v)(1-b2);
// w -= (u_next*m / (1 - prod_next) + (1 - u)*g / (1 - prod)) * lr / (sqrt(v / (1 - b2^t)) + eps).
FF_MULTIVERSION void nadam(float* __restrict w, const float* __restrict g, float* __restrict m, float* __restrict v,
                           int64_t n, float lr, const float* k, float one_minus_b1, float one_minus_b2, float eps) {
  const float u_next = k[0], one_minus_prod_next = k[1], one_minus_u = k[2], one_minus_prod = k[3],
              one_minus_b2_power = k[4];
  for (int64_t i = 0; i < n; ++i) {
    m[i] += (g[i] - m[i]) * one_minus_b1;
    v[i] += (g[i] * g[i] - v[i]) * one_minus_b2;
    const float m_hat = u_next * m[i] / one_minus_prod_next + one_minus_u * g[i] / one_minus_prod;
    w[i] -= m_hat * lr / (std::sqrt(v[i] / one_minus_b2_power) + eps);
  }
}

// FTRL-proximal: acc' = acc + g^2; linear += g + 2*l2_shrinkage*w - (acc'^p - acc^p)/lr * w;
// w = (clip(linear, -l1, l1) - linear) / (acc'^p/lr + 2*l2_reg); acc = acc'. (p = -learning_rate_power;
// ^ as TensorFlow's packet path computes it, or std::pow as its tail does.)
template <bool kPacketPow>
FF_MULTIVERSION void ftrl(float* __restrict w, const float* __restrict g, float* __restrict acc,
                          float* __restrict linear, int64_t n, float lr, float p, float shrinkage2, float l1,
                          float two_l2_reg) {
  for (int64_t i = 0; i < n; ++i) {  // (tf_pow inlines into each ISA clone of this loop)
    const float new_acc = acc[i] + g[i] * g[i];
    const float new_acc_p = kPacketPow ? tf_pow::packet_pow(new_acc, p) : std::pow(new_acc, p);
    const float acc_p = kPacketPow ? tf_pow::packet_pow(acc[i], p) : std::pow(acc[i], p);
    linear[i] += g[i] + shrinkage2 * w[i] - (new_acc_p - acc_p) / lr * w[i];
    const float clipped = std::max(std::min(linear[i], l1), -l1);
    w[i] = (clipped - linear[i]) / (new_acc_p / lr + two_l2_reg);
    acc[i] = new_acc;
  }
}

// w -= lr*sign(m*b1 + g*(1-b1)); m = m*b2 + g*(1-b2).
FF_MULTIVERSION void lion(float* __restrict w, const float* __restrict g, float* __restrict m, int64_t n, float lr,
                          float b1, float one_minus_b1, float b2, float one_minus_b2) {
  for (int64_t i = 0; i < n; ++i) {
    const float c = m[i] * b1 + g[i] * one_minus_b1;
    w[i] -= lr * (float(c > 0.f) - float(c < 0.f));
    m[i] = m[i] * b2 + g[i] * one_minus_b2;
  }
}

}  // namespace

std::vector<SlotSpec> rule_slots(const RuleConfig& c) {
  switch (c.kind) {  // Keras' build order
    case OptKind::sgd:
      if (c.momentum != 0) return {{"momentum", 0, 0.f}};
      return {};
    case OptKind::rmsprop: {
      std::vector<SlotSpec> s = {{"velocity", 0, 0.f}};
      if (c.momentum > 0) s.push_back({"momentum", 1, 0.f});
      if (c.centered) s.push_back({"average_gradient", 2, 0.f});
      return s;
    }
    case OptKind::adam:
      if (c.amsgrad) return {{"momentum", 0, 0.f}, {"velocity", 0, 0.f}, {"velocity_hat", 1, 0.f}};
      return {{"momentum", 0, 0.f}, {"velocity", 0, 0.f}};
    case OptKind::adagrad:
      return {{"accumulator", 0, float(c.initial_accumulator_value)}};
    case OptKind::adadelta:
      return {{"accumulated_grad", 0, 0.f}, {"accumulated_delta_var", 0, 0.f}};
    case OptKind::adamax:
      return {{"momentum", 0, 0.f}, {"norm", 0, 0.f}};
    case OptKind::nadam:
      return {{"momentum", 0, 0.f}, {"velocity", 0, 0.f}};
    case OptKind::ftrl:
      return {{"accumulator", 0, float(c.initial_accumulator_value)}, {"linear", 0, 0.f}};
    case OptKind::lion:
      return {{"momentum", 0, 0.f}};
  }
  return {};
}

RuleStep step_scalars(const RuleConfig& c, float lr, int64_t step, float& u_product) {
  RuleStep st;
  st.lr = lr;
  const float t = float(step + 1), b1 = float(c.beta_1), b2 = float(c.beta_2);
  switch (c.kind) {
    case OptKind::adam:  // alpha = lr*sqrt(1 - b2^t) / (1 - b1^t)
      st.k[0] = lr * std::sqrt(1.f - std::pow(b2, t)) / (1.f - std::pow(b1, t));
      break;
    case OptKind::adamax:  // 1 - b1^t
      st.k[0] = 1.f - std::pow(b1, t);
      break;
    case OptKind::nadam: {  // momentum schedule u_t = b1*(1 - 0.5*0.96^t) and its running product
      u_product = u_product * b1 * (1.f - 0.5f * std::pow(0.96f, t));
      const float u = b1 * (1.f - 0.5f * std::pow(0.96f, t));
      const float u_next = b1 * (1.f - 0.5f * std::pow(0.96f, float(step + 2)));
      st.k[0] = u_next;
      st.k[1] = 1.f - u_product * u_next;
      st.k[2] = 1.f - u;
      st.k[3] = 1.f - u_product;
      st.k[4] = 1.f - std::pow(b2, t);
      break;
    }
    case OptKind::ftrl:  // 2 * (l2 + beta / (2*lr))
      st.k[0] = 2.f * (float(c.l2_regularization_strength) + float(c.beta) / (2.f * lr));
      break;
    default:
      break;
  }
  return st;
}

void cpu::apply_rule(const RuleConfig& c, const RuleStep* step, float* w, const float* g, RuleSlots slots, int64_t n,
                     int64_t first, int64_t size) {
  const RuleStep& st = *step;
  float* const* s = slots.s;
  const float lr = st.lr, eps = float(c.epsilon);
  switch (c.kind) {
    case OptKind::sgd: {
      const float mu = float(c.momentum);
      if (c.momentum == 0) sgd<false, false>(w, g, nullptr, n, lr, mu);
      else if (c.nesterov) sgd<true, true>(w, g, s[0], n, lr, mu);
      else sgd<true, false>(w, g, s[0], n, lr, mu);
      break;
    }
    case OptKind::rmsprop: {
      const float rho = float(c.rho), one_minus_rho = float(1.0 - c.rho), mu = float(c.momentum);
      const bool momentum = c.momentum > 0;
      float* m = momentum ? s[1] : nullptr;
      float* a = c.centered ? s[momentum ? 2 : 1] : nullptr;
      if (c.centered && momentum) rmsprop<true, true>(w, g, s[0], m, a, n, lr, rho, one_minus_rho, mu, eps);
      else if (c.centered) rmsprop<true, false>(w, g, s[0], m, a, n, lr, rho, one_minus_rho, mu, eps);
      else if (momentum) rmsprop<false, true>(w, g, s[0], m, a, n, lr, rho, one_minus_rho, mu, eps);
      else rmsprop<false, false>(w, g, s[0], m, a, n, lr, rho, one_minus_rho, mu, eps);
      break;
    }
    case OptKind::adam: {
      const float one_minus_b1 = float(1.0 - c.beta_1), one_minus_b2 = float(1.0 - c.beta_2);
      if (c.amsgrad) adam<true>(w, g, s[0], s[1], s[2], n, st.k[0], one_minus_b1, one_minus_b2, eps);
      else adam<false>(w, g, s[0], s[1], nullptr, n, st.k[0], one_minus_b1, one_minus_b2, eps);
      break;
    }
    case OptKind::adagrad:
      adagrad(w, g, s[0], n, lr, eps);
      break;
    case OptKind::adadelta:
      adadelta(w, g, s[0], s[1], n, lr, float(c.rho), float(1.0 - c.rho), eps);
      break;
    case OptKind::adamax:
      adamax(w, g, s[0], s[1], n, lr, float(1.0 - c.beta_1), float(c.beta_2), st.k[0], eps);
      break;
    case OptKind::nadam: {  // Keras casts beta_1 and beta_2 first: 1 - beta is a float32 operation here
      const float b1 = float(c.beta_1), b2 = float(c.beta_2);
      nadam(w, g, s[0], s[1], n, lr, st.k, 1.f - b1, 1.f - b2, eps);
      break;
    }
    case OptKind::ftrl: {
      const float p = float(-c.learning_rate_power), shrinkage2 = float(2 * c.l2_shrinkage_regularization_strength),
                  l1 = float(c.l1_regularization_strength);
      const int64_t packets = std::clamp(size - size % 8 - first, int64_t(0), n);  // TensorFlow's 8-float packets
      ftrl<true>(w, g, s[0], s[1], packets, lr, p, shrinkage2, l1, st.k[0]);
      ftrl<false>(w + packets, g + packets, s[0] + packets, s[1] + packets, n - packets, lr, p, shrinkage2, l1,
                  st.k[0]);
      break;
    }
    case OptKind::lion: {
      const float b1 = float(c.beta_1), b2 = float(c.beta_2);
      lion(w, g, s[0], n, lr, b1, 1.f - b1, b2, 1.f - b2);
      break;
    }
  }
}

FF_MULTIVERSION void cpu::decay_weights(float* __restrict w, int64_t n, float weight_decay, const RuleStep* st) {
  const float lr = st->lr;
  for (int64_t i = 0; i < n; ++i) w[i] -= w[i] * weight_decay * lr;
}

}  // namespace fastfit
