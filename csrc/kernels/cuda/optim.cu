// The optimizer step as one fused kernel over a flat range (optim/rules.cpp has the CPU's, with the
// formulas): weights, gradient and state slots at the same elements, the step's scalars read from
// device memory (a captured step replays with each step's). Compiled without contraction (-fmad=false),
// each operation rounds once, as the CPU's and Keras' do.
#include <stdexcept>

#include "kernels/cuda/launch.cuh"

namespace fastfit::cuda {

void apply_rule(const RuleConfig& c, const RuleStep* st, float* w, const float* g, RuleSlots slots, int64_t n,
                int64_t /*first*/, int64_t /*size*/) {
  const float eps = float(c.epsilon);
  float *s0 = slots.s[0], *s1 = slots.s[1], *s2 = slots.s[2];
  switch (c.kind) {
    case OptKind::sgd: {
      const float mu = float(c.momentum);
      if (c.momentum == 0) {
        each("apply_rule", n, [=] __device__(int64_t i) { w[i] -= g[i] * st->lr; });
      } else {
        const bool nesterov = c.nesterov;
        each("apply_rule", n, [=] __device__(int64_t i) {
          const float lr = st->lr;
          s0[i] = s0[i] * mu - g[i] * lr;
          w[i] += nesterov ? s0[i] * mu - g[i] * lr : s0[i];
        });
      }
      break;
    }
    case OptKind::rmsprop: {
      const float rho = float(c.rho), one_minus_rho = float(1.0 - c.rho), mu = float(c.momentum);
      const bool momentum = c.momentum > 0, centered = c.centered;
      float* m = momentum ? s1 : nullptr;
      float* a = centered ? (momentum ? s2 : s1) : nullptr;
      each("apply_rule", n, [=] __device__(int64_t i) {
        s0[i] = rho * s0[i] + one_minus_rho * (g[i] * g[i]);
        float denominator = s0[i] + eps;
        if (centered) {
          a[i] = rho * a[i] + one_minus_rho * g[i];
          denominator = s0[i] - a[i] * a[i] + eps;
        }
        const float inc = st->lr * g[i] / sqrtf(denominator);
        if (momentum) {
          m[i] = mu * m[i] + inc;
          w[i] -= m[i];
        } else {
          w[i] -= inc;
        }
      });
      break;
    }
    case OptKind::adam: {
      const float one_minus_b1 = float(1.0 - c.beta_1), one_minus_b2 = float(1.0 - c.beta_2);
      const bool amsgrad = c.amsgrad;
      each("apply_rule", n, [=] __device__(int64_t i) {
        s0[i] += (g[i] - s0[i]) * one_minus_b1;
        s1[i] += (g[i] * g[i] - s1[i]) * one_minus_b2;
        float second = s1[i];
        if (amsgrad) second = s2[i] = fmaxf(s2[i], s1[i]);
        w[i] -= s0[i] * st->k[0] / (sqrtf(second) + eps);
      });
      break;
    }
    case OptKind::adagrad:
      each("apply_rule", n, [=] __device__(int64_t i) {
        s0[i] += g[i] * g[i];
        w[i] -= st->lr * g[i] / sqrtf(s0[i] + eps);
      });
      break;
    case OptKind::adadelta: {
      const float rho = float(c.rho), one_minus_rho = float(1.0 - c.rho);
      each("apply_rule", n, [=] __device__(int64_t i) {
        s0[i] = rho * s0[i] + one_minus_rho * (g[i] * g[i]);
        const float delta = -(sqrtf(s1[i] + eps) * g[i] / sqrtf(s0[i] + eps));
        s1[i] = rho * s1[i] + one_minus_rho * (delta * delta);
        w[i] += st->lr * delta;
      });
      break;
    }
    case OptKind::adamax: {
      const float one_minus_b1 = float(1.0 - c.beta_1), b2 = float(c.beta_2);
      each("apply_rule", n, [=] __device__(int64_t i) {
        s0[i] += (g[i] - s0[i]) * one_minus_b1;
        s1[i] = fmaxf(b2 * s1[i], fabsf(g[i]));
        w[i] -= st->lr * s0[i] / (st->k[0] * (s1[i] + eps));
      });
      break;
    }
    case OptKind::nadam: {  // Keras casts beta_1 and beta_2 first: 1 - beta is a float32 operation here
      const float one_minus_b1 = 1.f - float(c.beta_1), one_minus_b2 = 1.f - float(c.beta_2);
      each("apply_rule", n, [=] __device__(int64_t i) {
        const float u_next = st->k[0], one_minus_prod_next = st->k[1], one_minus_u = st->k[2],
                    one_minus_prod = st->k[3], one_minus_b2_power = st->k[4];
        s0[i] += (g[i] - s0[i]) * one_minus_b1;
        s1[i] += (g[i] * g[i] - s1[i]) * one_minus_b2;
        const float m_hat = u_next * s0[i] / one_minus_prod_next + one_minus_u * g[i] / one_minus_prod;
        w[i] -= m_hat * st->lr / (sqrtf(s1[i] / one_minus_b2_power) + eps);
      });
      break;
    }
    case OptKind::ftrl:  // TensorFlow's pow is not reproduced here: Optimizer::gpu_unsupported names it
      throw std::runtime_error("apply_rule: Ftrl has no GPU kernel");
    case OptKind::lion: {
      const float b1 = float(c.beta_1), b2 = float(c.beta_2), one_minus_b1 = 1.f - b1, one_minus_b2 = 1.f - b2;
      each("apply_rule", n, [=] __device__(int64_t i) {
        const float v = s0[i] * b1 + g[i] * one_minus_b1;
        w[i] -= st->lr * (float(v > 0.f) - float(v < 0.f));
        s0[i] = s0[i] * b2 + g[i] * one_minus_b2;
      });
      break;
    }
  }
}

void decay_weights(float* w, int64_t n, float weight_decay, const RuleStep* st) {
  each("decay_weights", n, [=] __device__(int64_t i) { w[i] -= w[i] * weight_decay * st->lr; });
}

}  // namespace fastfit::cuda
